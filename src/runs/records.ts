/**
 * Run records in the state backend: every client of the same backend sees the same runs.
 * The record model (pure) is src/runs/record.ts; this is where records are read and written.
 *
 * API (src/runs/reconcile*, `dstack agent`, `dstack reap` and the CLI code against it):
 *
 *   readRecord(name, {env})               → StoredRun | null   the record (outputs + tags merged)
 *   listRecords({all, env})               → StoredRun[]        active runs; `all`: ended ones too.
 *                                                              File backend: checkpoints and tag
 *                                                              files read directly (no CLI)
 *   markStatus(name, status, reason?, {env}) → RunRecord       tags only (cheap: no engine run);
 *                                                              no resource is touched
 *   endRun(name, reason, {graceful, volumes, env, onEvent, signal}) → EndRunResult
 *                                                              ends the current attempt and the run:
 *                                                              stops the instance (graceful or not),
 *                                                              saves its output to the run's log,
 *                                                              then one engine update whose program
 *                                                              holds only the record: the resources
 *                                                              are destroyed, the stack, its history
 *                                                              ("dstack: run X failed (exited with
 *                                                              code 3)") and the record stay
 *   deleteRecord(name, {env})             → void               `pulumi stack rm` of an ended run
 *                                                              (refused, E6201, while active) + key,
 *                                                              ssh entry and log
 *   readRunSpec(name, {env})              → RunSpec | null     the spec with its secrets (decrypted
 *                                                              through the CLI), to plan again
 *   Pure steps (record.ts): startAttempt, endAttempt, endRecord, recordForUp, renderReason, …
 *
 * A run's own writers are serialized by dstack's run lock (src/stacks/run-lock.ts): callers take
 * it (`acquireRunLock(name, …)`) around markStatus / endRun / deleteRecord.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { RunSpec } from "../config/runspec";
import { DstackError, ExitCode } from "../diagnostics";
import { dockerClient } from "../stacks/docker";
import { readCheckpointFile } from "../stacks/checkpoint";
import * as ws from "../stacks/workspace";
import { removeRunSshConfig } from "../ssh/config";
import { removeRunKey } from "../ssh/keys";
import { removeLeftovers, resolvePendingCreates } from "./cleanup";
import {
  endRecord,
  isActive,
  isEnded,
  recordFromOutputs,
  recordTags,
  renderReasonShort,
  RUN_RECORD_OUTPUT,
  RUN_SECRETS_OUTPUT,
  RUN_SPEC_OUTPUT,
  withSecrets,
  type RunRecord,
  type RunStatus,
  type SpecSecrets,
  type TerminationReason,
} from "./record";
import { appendRunLog, localContainerOf, removeRunLog, saveInstanceOutput } from "./run-log";

/** A run as the state backend holds it. */
export interface StoredRun {
  name: string;
  /** Null for a stack without a record (an interrupted first `up`). */
  record: RunRecord | null;
  /** The stack's outputs (secrets masked). */
  outputs: Record<string, unknown> | null;
  tags: Record<string, string>;
}

type Env = { env?: NodeJS.ProcessEnv };

function stored(name: string, outputs: Record<string, unknown> | null, tags: Record<string, string> | null): StoredRun {
  return { name, record: recordFromOutputs(outputs, tags), outputs, tags: tags ?? {} };
}

/** The run's record, or null when there is no such stack. */
export async function readRecord(name: string, o: Env = {}): Promise<StoredRun | null> {
  const env = o.env ?? process.env;
  const [outputs, tags] = await Promise.all([ws.readOutputs(name, env), ws.readStackTags(name, env)]);
  if (outputs === null) return null;
  return stored(name, outputs, tags);
}

/** Whether a stored run is active (a stack without a record counts as active: it may hold resources). */
export function storedActive(s: StoredRun): boolean {
  return s.record ? isActive(s.record.status) : true;
}

/**
 * The runs (sorted by name): active ones, and with `all` the ended ones too. With the file
 * backend, each checkpoint and tags file is read directly (no CLI, no engine).
 */
export async function listRecords(o: { all?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<StoredRun[]> {
  const env = o.env ?? process.env;
  const names = await ws.listRunNames(env);
  const runs = await Promise.all(
    names.map(async (name) => {
      const [outputs, tags] = await Promise.all([ws.readOutputs(name, env), ws.readStackTags(name, env)]);
      return stored(name, outputs ?? {}, tags);
    }),
  );
  return o.all ? runs : runs.filter(storedActive);
}

/** Sets the run's status (and reason) in its stack tags; the record output is left as it is. */
export async function markStatus(name: string, status: RunStatus, reason: TerminationReason | null = null, o: Env & { now?: Date } = {}): Promise<RunRecord> {
  const env = o.env ?? process.env;
  const cur = await readRecord(name, { env });
  if (!cur?.record) throw ws.runNotFound(name);
  const now = (o.now ?? new Date()).toISOString();
  const next: RunRecord = { ...cur.record, status, reason: isEnded(status) ? reason : null, updated_at: laterIso(now, cur.record.updated_at) };
  await ws.setStackTags(name, recordTags(next), env);
  return next;
}

/** `now`, or just after `floor` when the clock says otherwise (tags must not look older than the record). */
function laterIso(now: string, floor: string): string {
  return now >= floor ? now : new Date(Date.parse(floor) + 1).toISOString();
}

export interface EndRunOptions {
  /** Stop the instance gracefully first (SIGTERM, then kill after the record's stop_duration); false kills it. Default true. */
  graceful?: boolean;
  /** Also remove the run's named volumes (local). */
  volumes?: boolean;
  onEvent?: (e: EngineEvent) => void;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
}

export interface EndRunResult {
  record: RunRecord;
  /** The run had already ended: nothing was done. */
  alreadyEnded: boolean;
  removedVolumes: string[];
  /** Docker objects of the run found by label after the update and removed. */
  leftovers: { containers: string[]; volumes: string[] };
  /** With `volumes`: volumes still mounted by another run's container, kept. */
  volumesInUse: string[];
}

/** Seconds a graceful stop waits when the run names no `stop_duration`. */
export const DEFAULT_STOP_SECONDS = 10;

/** Stops a local run's container: `docker stop -t` (graceful) or `docker kill`. Nothing for other backends. */
export async function stopInstance(outputs: Record<string, unknown> | null, o: { graceful: boolean; seconds: number; env?: NodeJS.ProcessEnv }): Promise<void> {
  const id = localContainerOf(outputs);
  if (!id) return;
  const c = (await dockerClient(o.env ?? process.env)).getContainer(id);
  try {
    if (o.graceful) await c.stop({ t: o.seconds });
    else await c.kill();
  } catch (e) {
    const code = (e as { statusCode?: number }).statusCode;
    if (code !== 304 && code !== 404 && code !== 409) throw e; // already stopped, gone, not running
  }
}

/** The record-only program: the stack keeps these outputs and no resource. */
function recordProgram(record: RunRecord, spec: unknown, secrets: SpecSecrets | null): ws.PulumiFn {
  return async () => {
    const pulumi = await import("@pulumi/pulumi");
    return {
      [RUN_RECORD_OUTPUT]: record,
      ...(spec && typeof spec === "object" ? { [RUN_SPEC_OUTPUT]: spec } : {}),
      ...(secrets ? { [RUN_SECRETS_OUTPUT]: pulumi.secret(secrets) } : {}),
    };
  };
}

/** The update message of a run's end: `dstack: run X failed (exited with code 3)`. */
export function endMessage(r: RunRecord): string {
  return `dstack: run ${r.name} ${r.status} (${renderReasonShort(r.reason)})`;
}

/**
 * Ends the run (see the file comment). An ended run is left as it is (`alreadyEnded`). A stack
 * without a record gets one that says `reason`. Local runs need Docker (E4101, exit 5, before
 * anything changes); something of the run left in Docker afterwards is E4507.
 */
export async function endRun(name: string, reason: TerminationReason, o: EndRunOptions = {}): Promise<EndRunResult> {
  const env = o.env ?? process.env;
  const now = () => (o.now?.() ?? new Date()).toISOString();
  const cur = await readRecord(name, { env });
  if (!cur) throw ws.runNotFound(name);
  if (cur.record && isEnded(cur.record.status) && !hasResources(name, cur, env)) {
    return { record: cur.record, alreadyEnded: true, removedVolumes: [], leftovers: { containers: [], volumes: [] }, volumesInUse: [] };
  }
  const local = (cur.record?.backend ?? cur.outputs?.backend) === "local";
  if (local) await dockerClient(env); // E4101 before anything changes
  const base: RunRecord = cur.record ?? placeholderRecord(name, cur.outputs, now());
  // the secrets are carried over decrypted (the record-only program writes them again)
  const secretsP = cur.outputs && RUN_SECRETS_OUTPUT in cur.outputs ? ws.readSecretOutput(name, RUN_SECRETS_OUTPUT, env) : Promise.resolve(null);
  secretsP.catch(() => undefined);

  if (isActive(base.status)) await ws.setStackTags(name, recordTags({ ...base, status: "terminating", reason: null, updated_at: laterIso(now(), base.updated_at) }), env);
  await stopInstance(cur.outputs, { graceful: o.graceful !== false, seconds: base.stop_duration ?? DEFAULT_STOP_SECONDS, env });
  const attempt = base.attempts[base.attempts.length - 1]?.n ?? 1;
  await saveInstanceOutput(name, cur.outputs, attempt, env).catch(() => false);

  const ended = endRecord(base, reason, laterIso(now(), base.updated_at));
  if (local) await resolvePendingCreates(name, env);
  const secrets = (await secretsP) as SpecSecrets | null;
  const stack = await ws.openStack(name, recordProgram(ended, cur.outputs?.[RUN_SPEC_OUTPUT], secrets), { env, exists: true });
  await ws.upStack(stack, { env, onEvent: o.onEvent, signal: o.signal, message: endMessage(ended) });
  await ws.setStackTags(name, recordTags(ended), env);
  appendRunLog(name, `${endMessage(ended)}`, env);

  const leftovers = { containers: [] as string[], volumes: [] as string[] };
  let removedVolumes: string[] = [];
  let volumesInUse: string[] = [];
  if (local) {
    const after = await removeLeftovers(name, { volumes: Boolean(o.volumes), env });
    leftovers.containers.push(...after.removed.containers);
    removedVolumes = after.removed.volumes;
    volumesInUse = after.inUse;
  }
  removeRunSshConfig(name, env);
  return { record: ended, alreadyEnded: false, removedVolumes, leftovers, volumesInUse };
}

/** Whether the run's stack still holds resources (an active run, or an ended one whose end did not finish). */
export function holdsResources(cur: StoredRun, env: NodeJS.ProcessEnv = process.env): boolean {
  return storedActive(cur) || hasResources(cur.name, cur, env);
}

/** Saves the output of the run's current attempt into its log (before its instance is removed). */
export async function saveOutputBeforeEnd(name: string, cur: StoredRun, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const attempt = cur.record?.attempts[cur.record.attempts.length - 1]?.n ?? 1;
  await saveInstanceOutput(name, cur.outputs, attempt, env).catch(() => false);
}

/** Whether the stack still holds resources (the file backend's checkpoint; else: the outputs name an instance). */
function hasResources(name: string, cur: StoredRun, env: NodeJS.ProcessEnv): boolean {
  const doc = readCheckpointFile(name, env) as { checkpoint?: { latest?: { resources?: { type?: string }[]; pending_operations?: unknown[] } } } | null | undefined;
  if (doc === undefined) return Boolean(localContainerOf(cur.outputs) ?? cur.outputs?.instance_id);
  const latest = doc?.checkpoint?.latest;
  const own = (latest?.resources ?? []).filter((r) => r.type !== "pulumi:pulumi:Stack" && !String(r.type).startsWith("pulumi:providers:"));
  return own.length > 0 || (latest?.pending_operations ?? []).length > 0;
}

/** A record for a stack that has none (an interrupted first `up`), so that it can be ended. */
function placeholderRecord(name: string, outputs: Record<string, unknown> | null, now: string): RunRecord {
  const backend = typeof outputs?.backend === "string" ? outputs.backend : "unknown";
  return {
    version: 2, name, backend, region: "", run_type: "dev-environment", configuration_path: null, created_at: now, submitted_at: now, updated_at: now,
    ended_at: null, expires_at: null, price: 0, spot: false, resources: "", instance_type: "", ide: null, owner: "", plan_hash: "", volumes: [],
    status: "provisioning", reason: null, attempts: [], max_duration: null, retry: { enabled: false, on_events: [], duration: null },
    inactivity_duration: null, stop_duration: null, ports: [],
  };
}

/**
 * Removes the record of an ended run: its stack (history and tags included), key, ssh entry and
 * log. An active run is refused (E6201): stop it first, or `dstack down --purge`.
 */
export async function deleteRecord(name: string, o: Env = {}): Promise<void> {
  const env = o.env ?? process.env;
  const cur = await readRecord(name, { env });
  if (!cur) throw ws.runNotFound(name);
  if (storedActive(cur) || hasResources(name, cur, env)) {
    throw new DstackError(
      {
        code: "E6201",
        severity: "error",
        message: `${name} is ${cur.record?.status ?? "not ended"}: only the record of an ended run can be deleted`,
        hint: `stop it first (\`dstack stop ${name}\`), or \`dstack down --purge ${name}\` to stop it and delete its record`,
      },
      ExitCode.Usage,
    );
  }
  await ws.removeStack(name, env);
  forgetLocally(name, env);
}

/** Removes what this machine keeps of a run: its ssh entry, key and log. */
export function forgetLocally(name: string, env: NodeJS.ProcessEnv = process.env): void {
  removeRunSshConfig(name, env);
  removeRunKey(name, env);
  removeRunLog(name, env);
}

/** The run's spec with its secret values (decrypted through the CLI when it has any), or null without a stored spec. */
export async function readRunSpec(name: string, o: Env = {}): Promise<RunSpec | null> {
  const env = o.env ?? process.env;
  const cur = await readRecord(name, { env });
  if (!cur) throw ws.runNotFound(name);
  const spec = cur.outputs?.[RUN_SPEC_OUTPUT];
  if (!spec || typeof spec !== "object") return null;
  const secrets = RUN_SECRETS_OUTPUT in (cur.outputs ?? {}) ? ((await ws.readSecretOutput(name, RUN_SECRETS_OUTPUT, env)) as SpecSecrets | null) : null;
  return withSecrets(spec as RunSpec, secrets);
}
