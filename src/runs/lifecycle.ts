/**
 * The run lifecycle on top of src/stacks: plan a run (keeping its first creation time),
 * tell a no-op from a change, preview, apply, connect (ssh config + waiting for sshd),
 * destroy, and list. CLI commands compose these steps and do the printing.
 *
 * Heavy (Automation API, ssh2, dockerode): load lazily from CLI actions.
 */
import * as os from "os";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { RunSpec } from "../config/runspec";
import type { Offer } from "../offers/offer";
import { plan as makePlan, type Plan } from "../compiler/plan";
import { loadBackend } from "../compiler/backends";
import { DstackError, ExitCode, type Diagnostic } from "../diagnostics";
import { collectChanges, type ResourceChange } from "../stacks/events";
import { containerStatus, dockerClient, listContainersByLabel, removeVolumes } from "../stacks/docker";
import * as ws from "../stacks/workspace";
import { ensureRunHostKey, ensureRunKey, readRunKey, removeRunKey, type RunKey } from "../ssh/keys";
import { isCloudBackend } from "../compiler/backends/cloud/prerequisites";
import { observeCloudInstance } from "./observe";
import { provisioningTimeoutMs } from "./cloud-preflight";
import { uploadRepo, type UploadResult } from "./upload";
import { removeRunSshConfig, writeRunSshConfig } from "../ssh/config";
import { waitForSsh, type SshReady } from "../ssh/wait";
import { findLeftovers, isLocalResourceType, removeLeftovers, resolvePendingCreates, type Leftovers, type PendingResolution } from "./cleanup";
import { readPendingOperations } from "../stacks/pending";
import { mark } from "../trace";
import {
  isActive,
  planHash,
  recordForUp,
  recordFromOutputs,
  RUN_RECORD_OUTPUT,
  RUN_SECRETS_OUTPUT,
  RUN_SPEC_OUTPUT,
  runView,
  storedSpec,
  type InstanceState,
  type RunRecord,
  type RunView,
} from "./record";
import { listRecords, markStatus, readRecord, type StoredRun } from "./records";
import { appendRunLog, engineEventLine } from "./run-log";
import { connectKubeRun } from "./kube-connect";
import { kubeInstanceState } from "./kube-observe";
import { observeKubeInstance } from "./observe";

export interface PlannedRun {
  plan: Plan;
  key: RunKey;
  hash: string;
  configurationPath: string | null;
  /** The stack's outputs before this `up`, or null for a new run. */
  previous: Record<string, unknown> | null;
  /** The run's record before this `up` (outputs and tags merged), or null for a new run. */
  previousMeta: RunRecord | null;
  /** The record this `up` writes (a new attempt for a new or ended run). */
  record: RunRecord;
  /** The spec the run is planned from (stored with the record, secrets as a Pulumi secret). */
  spec: RunSpec;
  /** Settings passed to the backend program (e.g. `delete_volumes`). */
  settings: Record<string, unknown>;
  /** What this command created so far (so that a failed `up` of a new run removes exactly that: `discardNewRun`). */
  created: { key: boolean; stack: boolean };
  /** The run's stack once `openRunStack` started opening it (applyRun and previewRun use it). */
  stack?: Promise<ws.Stack>;
}

/**
 * Starts opening the run's stack (creating a new run's) so that it overlaps with what the
 * caller does meanwhile (`up`: the Docker preflight); `applyRun` and `previewRun` then use it.
 */
export function openRunStack(r: PlannedRun, env?: NodeJS.ProcessEnv): Promise<ws.Stack> {
  if (!r.stack) {
    if (r.previous === null) r.created.stack = true;
    r.stack = ws.openStack(r.plan.run_name, runProgram(r), { env, exists: r.previous !== null });
    r.stack.catch(() => undefined); // surfaces where it is awaited
  }
  return r.stack;
}

export interface PlanRunOptions {
  baseImage: string;
  env?: NodeJS.ProcessEnv;
  now?: number;
  settings?: Record<string, unknown>;
  /** The record to plan from instead of the stored one (the reconciler's retry: its attempt ended in memory). */
  previous?: RunRecord;
  /** The repo files' hash, for a prebuilt image's (PlanContext.buildContextHash). */
  buildContextHash?: string;
}

/**
 * The run's plan. An active run keeps its creation time (read from its record), so that
 * re-planning an unchanged configuration gives the same plan (and the same hash); an ended run
 * brought up again starts a new attempt, planned from now (its deadline too).
 */
export async function planRun(spec: RunSpec, offer: Offer, o: PlanRunOptions): Promise<PlannedRun> {
  const env = o.env ?? process.env;
  const keyExisted = readRunKey(spec.name, env) !== null;
  const key = ensureRunKey(spec.name, env);
  const stored = await readRecord(spec.name, { env });
  const previous = stored?.outputs ?? null;
  const previousMeta = o.previous ?? stored?.record ?? null;
  const now = previousMeta && isActive(previousMeta.status) ? Date.parse(previousMeta.created_at) : (o.now ?? Date.now());
  // a cloud instance's sshd gets a host key dstack made, pinned from the start (no TOFU)
  const sshHostKey = isCloudBackend(offer.backend) || offer.backend === "kubernetes" ? ensureRunHostKey(spec.name, env) : null;
  const p = makePlan(spec, offer, { sshPublicKey: key.publicKey, owner: ownerName(), now, baseImage: o.baseImage, sshHostKey, buildContextHash: o.buildContextHash });
  const record = recordForUp(p, spec.configuration_path, spec, previousMeta, new Date(o.now ?? Date.now()).toISOString());
  return { plan: p, key, hash: planHash(p), configurationPath: spec.configuration_path, previous, previousMeta, record, spec, settings: o.settings ?? {}, created: { key: !keyExisted, stack: false } };
}

/** Who starts the run (the `dstack:owner` tag, `owner` in ps and audit): DSTACK_OWNER (a CI job's actor), else the OS user. */
export function ownerName(): string {
  if (process.env.DSTACK_OWNER) return process.env.DSTACK_OWNER;
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? "unknown";
  }
}

/**
 * The inline program: the backend's resources, plus the run's record, its spec (without secret
 * values) and those values as a Pulumi secret (src/runs/record.ts).
 */
export function runProgram(r: Pick<PlannedRun, "plan" | "settings" | "record" | "spec">): ws.PulumiFn {
  return async () => {
    const program = await loadBackend(r.plan.backend);
    const outputs = await program(r.plan, { settings: r.settings });
    const { spec, secrets } = storedSpec(r.spec);
    const hasSecrets = Object.keys(secrets.env).length > 0 || secrets.registry_password !== null;
    const pulumi = hasSecrets ? await import("@pulumi/pulumi") : null;
    return {
      ...outputs,
      [RUN_RECORD_OUTPUT]: r.record,
      [RUN_SPEC_OUTPUT]: spec,
      ...(pulumi ? { [RUN_SECRETS_OUTPUT]: pulumi.secret(secrets) } : {}),
    };
  };
}

/** Whether a record is of an active run (an ended one is brought up as a new attempt, without a preview of changes). */
export function isActiveRecord(r: RunRecord): boolean {
  return isActive(r.status);
}

/** After the engine made the run's instance: its status is `running` (a stack tag). */
export async function markRunning(name: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await markStatus(name, "running", null, { env });
}

/** Whether the run's instance is alive (local: the container's state through the Docker API). */
export async function probeInstance(outputs: Record<string, unknown> | null): Promise<InstanceState> {
  if (!outputs || typeof outputs.instance_id !== "string") return "missing";
  const backend = recordFromOutputs(outputs)?.backend ?? outputs.backend;
  if (backend === "kubernetes") return kubeInstanceState(await observeKubeInstance(outputs));
  if (typeof backend === "string" && isCloudBackend(backend)) return cloudInstanceState(outputs, recordFromOutputs(outputs)?.status ?? null);
  if (backend !== "local") return "unknown";
  try {
    const docker = await dockerClient();
    const info = await docker.getContainer(outputs.instance_id).inspect();
    return info.State?.Running ? "running" : "stopped";
  } catch (e) {
    const status = (e as { statusCode?: number }).statusCode;
    return status === 404 ? "missing" : "unknown";
  }
}

/**
 * A no-op: the run exists, was brought up with exactly this plan, and its instance is running.
 * Then `up` needs no engine run at all.
 */
export async function isUnchanged(r: PlannedRun): Promise<boolean> {
  if (!r.previousMeta || !isActive(r.previousMeta.status) || r.previousMeta.plan_hash !== r.hash) return false;
  return (await probeInstance(r.previous)) === "running";
}

/** What `up` would change, without changing anything (a Pulumi preview). */
export async function previewRun(
  r: PlannedRun,
  o: { onEvent?: (e: EngineEvent) => void; signal?: AbortSignal; refresh?: boolean; env?: NodeJS.ProcessEnv; /** a new run's key stays (`up` goes on with it) */ keepKey?: boolean } = {},
): Promise<ResourceChange[]> {
  const events: EngineEvent[] = [];
  const stack = await (r.stack ?? ws.openStack(r.plan.run_name, runProgram(r), { env: o.env, exists: r.previous !== null }));
  try {
    await stack.preview({
      signal: o.signal,
      refresh: o.refresh,
      onEvent: (e) => {
        events.push(e);
        o.onEvent?.(e);
      },
    });
  } catch (e) {
    throw ws.engineError(e, `previewing ${r.plan.run_name}`);
  } finally {
    // A preview of a new run leaves nothing behind: no empty stack, no key.
    if (r.previous === null) {
      await stack.workspace.removeStack(r.plan.run_name).catch(() => undefined);
      if (!o.keepKey) removeRunKey(r.plan.run_name, o.env ?? process.env);
    }
  }
  return collectChanges(events);
}

export interface ApplyResult {
  outputs: Record<string, unknown>;
  changes: Record<string, number>;
  /** What an interrupted earlier command had left pending, resolved before this update (null: nothing). */
  resolved: PendingResolution | null;
}

/**
 * `pulumi up` of the run's stack. With `refresh`, the engine first reads every resource
 * (a container removed by hand is then created again).
 */
export async function applyRun(
  r: PlannedRun,
  o: {
    onEvent?: (e: EngineEvent) => void;
    /** Aborting it sends SIGINT to the engine (it finishes what is in flight and saves the state). */
    signal?: AbortSignal;
    /** Set when the user interrupted (even if the engine got the signal from the terminal). */
    interrupted?: AbortSignal;
    refresh?: boolean;
    env?: NodeJS.ProcessEnv;
  } = {},
): Promise<ApplyResult> {
  const env = o.env ?? process.env;
  let resolved: PendingResolution | null = null;
  if (r.previous !== null) {
    const res = await resolvePendingCreates(r.plan.run_name, env);
    if (res.pending.length > 0) resolved = res;
  }
  const stack = await openRunStack(r, o.env);
  const attempt = r.record.attempts[r.record.attempts.length - 1];
  const log = (text: string) => appendRunLog(r.plan.run_name, text, env);
  log(`${r.previous && r.previousMeta && isActive(r.previousMeta.status) ? "updating" : "submitted"}: attempt ${attempt?.n ?? 1} on ${r.plan.backend}/${r.plan.offer.region} ${r.plan.offer.instance_type} (${r.record.resources})`);
  const onEvent = (e: EngineEvent) => {
    const line = engineEventLine(e);
    if (line) log(line);
    o.onEvent?.(e);
  };
  try {
    const res = await ws.upStack(stack, { onEvent, signal: o.signal, refresh: o.refresh, env: o.env, message: `dstack: run ${r.plan.run_name} attempt ${attempt?.n ?? 1} on ${r.plan.backend}/${r.plan.offer.region}` });
    log("provisioned");
    return { ...res, resolved };
  } catch (e) {
    const message = (e as Error).message?.split("\n")[0] ?? String(e);
    log(`provisioning failed: ${message}`);
    // A new attempt of an ended run that failed: the record says so (what the engine made stays for `dstack down`).
    if (r.previousMeta && !isActive(r.previousMeta.status) && !o.signal?.aborted && !o.interrupted?.aborted) {
      await markStatus(r.plan.run_name, "failed", { kind: "provisioning_failed", message }, { env }).catch(() => undefined);
    }
    if (o.signal?.aborted || o.interrupted?.aborted) {
      throw new DstackError(
        {
          code: "E6102",
          severity: "error",
          message: `interrupted: the engine finished its pending operations and saved the state of ${r.plan.run_name}`,
          hint: `run \`dstack up\` again to finish, or \`dstack down ${r.plan.run_name}\` to remove what was created`,
        },
        ExitCode.Interrupted,
      );
    }
    throw ws.engineError(e, `bringing up ${r.plan.run_name}`);
  }
}

export interface Connection {
  sshConfig: string;
  /** The run's outputs the connection was made from. */
  outputs: Record<string, unknown>;
  host: string;
  port: number;
  user: string;
  ready: SshReady | null;
  /** The repo's upload to a cloud run's /workflow (null: none was made). */
  upload: UploadResult | null;
}

/** Connection facts from a run's outputs (throws E5006 when the backend did not report them). */
export function connectionFacts(outputs: Record<string, unknown>): { host: string; port: number; user: string; hostKey: string | null } {
  const host = outputs.ssh_host;
  const port = outputs.ssh_port;
  const user = outputs.ssh_user;
  if (typeof host !== "string" || typeof port !== "number" || typeof user !== "string") {
    throw new DstackError({ code: "E5006", severity: "error", message: "the run's outputs lack ssh_host / ssh_port / ssh_user", hint: "this is a backend bug" }, ExitCode.Provisioning);
  }
  return { host, port, user, hostKey: typeof outputs.host_key === "string" ? outputs.host_key : null };
}

/** Writes the run's ssh config (and the Include unless `include: false`), then waits for sshd unless `wait: false`. */
export async function connectRun(
  name: string,
  outputs: Record<string, unknown>,
  key: RunKey,
  o: {
    include?: boolean;
    wait?: boolean;
    timeoutMs?: number;
    signal?: AbortSignal;
    env?: NodeJS.ProcessEnv;
    /** A cloud run: upload this folder's files to /workflow once sshd answers. */
    repoDir?: string;
    onUpload?: (files: number, bytes: number) => void;
  } = {},
): Promise<Connection> {
  const f = connectionFacts(outputs);
  const backend = recordFromOutputs(outputs)?.backend ?? String(outputs.backend ?? "");
  if (backend === "kubernetes") return { ...(await connectKubeRun(name, outputs, key, { ...o, timeoutMs: o.timeoutMs ?? provisioningTimeoutMs(backend, o.env) })), outputs };
  const cloud = isCloudBackend(backend);
  const sshConfig = writeRunSshConfig({ run: name, hostName: f.host, port: f.port, user: f.user, identityFile: key.privateKeyPath }, f.hostKey, { include: o.include, env: o.env });
  let ready: SshReady | null = null;
  if (o.wait !== false) {
    ready = await waitForSsh({
      host: f.host,
      port: f.port,
      username: f.user,
      privateKey: key.privateKey,
      hostKey: f.hostKey,
      timeoutMs: o.timeoutMs ?? provisioningTimeoutMs(backend, o.env),
      intervalMs: cloud ? 2000 : undefined,
      signal: o.signal,
      check: instanceCheck(name, outputs),
    });
    mark("ssh ready");
  }
  let upload: UploadResult | null = null;
  if (cloud && ready && !ready.done && o.repoDir) upload = await uploadRepo(o.repoDir, outputs, key, { env: o.env, onStart: o.onUpload });
  return { sshConfig, outputs, host: f.host, port: f.port, user: f.user, ready, upload };
}

/**
 * For the local backend: while sshd does not answer, whether the container is still running.
 * A container that exited stops the wait: an error with the start script's reason and the log's
 * tail, or, for a task that finished with exit code 0, the end of the wait.
 */
function instanceCheck(name: string, outputs: Record<string, unknown>): (() => Promise<{ error: DstackError } | { done: string } | null>) | undefined {
  const meta = recordFromOutputs(outputs);
  if ((meta?.backend ?? outputs.backend) !== "local" || typeof outputs.instance_id !== "string") return undefined;
  const id = outputs.instance_id;
  return async () => {
    const st = await containerStatus(id);
    if (st.running) return null;
    if (st.exists && st.exit_code === 0 && meta?.run_type === "task") return { done: `the task finished (exit code 0)` };
    const tail = st.logs.trim().split("\n").slice(-10).join("\n");
    return {
      error: new DstackError(
        {
          code: "E5007",
          severity: "error",
          message: st.exists
            ? `the run's container exited (code ${st.exit_code ?? "?"}) before sshd answered${st.error ? `: ${st.error}` : ""}${tail ? `\n${tail}` : ""}`
            : "the run's container disappeared before sshd answered",
          hint: `fix the cause above, then \`dstack up\` again (or \`dstack down ${name}\`)`,
        },
        ExitCode.Provisioning,
      ),
    };
  };
}

/** The IDE link of a dev environment (record.ts: the run's JSON carries it too). */
export { ideUrl } from "./record";

export interface DestroyOptions {
  /** Also remove the run's named volumes. */
  volumes?: boolean;
  onEvent?: (e: EngineEvent) => void;
  /** Progress of a destroy run through the CLI directly (file backend). */
  onStep?: (s: { type: string; name: string; state: "start" | "done" | "failed" }) => void;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

export interface DestroyRunResult {
  removedVolumes: string[];
  /** Objects of the run found in Docker by label and removed: left by an interrupted command (pending creates included). */
  leftovers: Leftovers;
  /** Pending operations an interrupted command had left in the state, cleared. */
  pendingCleared: number;
  /** Volumes (with `volumes`) still mounted by another run's container, kept. */
  volumesInUse: string[];
}

/**
 * Destroys the run's resources, removes its stack, its ssh entry and its key. Named volumes
 * are kept unless `volumes` (then removed after the destroy, local backend only).
 *
 * Crash safety (src/runs/cleanup.ts): first, what an interrupted command left pending is
 * resolved (containers of pending creates removed, the pending operations cleared); after the
 * destroy, Docker is searched by the `dstack.run` label and what is left is removed and
 * reported. Something of the run still there is E4507, never a success. A local run needs
 * Docker: without it, E4101 (exit 5) before anything changes.
 */
export async function destroyRun(name: string, o: DestroyOptions = {}): Promise<DestroyRunResult> {
  const env = o.env ?? process.env;
  const outputs = await ws.readOutputs(name, env);
  const hasKey = readRunKey(name, env) !== null;
  const backend = recordFromOutputs(outputs)?.backend ?? (typeof outputs?.backend === "string" ? outputs.backend : undefined);
  const pending = outputs !== null ? await readPendingOperations(name, env) : [];
  const local = backend === "local" || pending.some((p) => isLocalResourceType(p.resourceType));
  if (local) {
    await dockerClient(env); // E4101 / E4102 (exit 5) before anything changes
  }
  if (outputs === null && !hasKey) {
    // No stack and no key: only Docker objects of a run whose stack is gone would make it a run.
    const found = await findLeftovers(name, { volumes: false, env }).catch(() => null);
    if (!found || found.containers.length === 0) throw ws.runNotFound(name);
  }
  let removedVolumes: string[] = [];
  let pendingCleared = 0;
  const leftovers: Leftovers = { containers: [], volumes: [] };
  if (pending.length > 0) {
    const res = await resolvePendingCreates(name, env);
    pendingCleared = res.locked ? 0 : res.pending.length;
    leftovers.containers.push(...res.removedContainers);
  }
  if (outputs !== null) {
    if (ws.diyStacksDir(env) !== null) {
      // file backend: the CLI directly (no program needed to destroy), a second or more faster
      await ws.destroyWithCli(name, { env, signal: o.signal, onStep: o.onStep });
    } else {
      const stack = await ws.openStack(name, async () => ({}), { env, create: false });
      await ws.destroyAndRemove(stack, { onEvent: o.onEvent, signal: o.signal });
    }
    if (o.volumes) removedVolumes = await removeRunVolumes(outputs);
  }
  // Local runs, and runs whose backend the state does not tell (an interrupted first `up`).
  let volumesInUse: string[] = [];
  if (local || backend === undefined) {
    try {
      const after = await removeLeftovers(name, { volumes: Boolean(o.volumes), env });
      leftovers.containers.push(...after.removed.containers);
      leftovers.volumes.push(...after.removed.volumes);
      volumesInUse = after.inUse;
    } catch (e) {
      // Docker unreachable for a run the state does not show as local: nothing to check there.
      if (local || !(e instanceof DstackError) || !/^E410[12]$/.test(e.diagnostics[0]?.code ?? "")) throw e;
    }
  }
  removeRunSshConfig(name, env);
  removeRunKey(name, env);
  return { removedVolumes, leftovers, pendingCleared, volumesInUse };
}

/**
 * After a failed `up` of a new run (preflight, a declined confirmation, an engine error): removes
 * what this command made, so that nothing of the run is left: its resources and stack (only
 * when this command created the stack: a concurrent `up` of the same name keeps its own), its
 * ssh entry and its key (only when this command generated it). Best effort: the caller
 * rethrows the original error.
 */
export async function discardNewRun(r: PlannedRun, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (r.previous !== null) return;
  const name = r.plan.run_name;
  await r.stack?.catch(() => undefined); // a stack still being created is removed once it exists
  if (r.created.stack) {
    await destroyRun(name, { env }).catch(() => undefined);
  }
  if (r.created.key || r.created.stack) {
    removeRunSshConfig(name, env);
    removeRunKey(name, env);
  }
}

/** Removes named Docker volumes (`down --volumes` of a run that had already ended); missing ones are skipped. */
export async function removeVolumesOf(names: string[]): Promise<string[]> {
  return names.length ? (await removeVolumes(names)).removed : [];
}

async function removeRunVolumes(outputs: Record<string, unknown>): Promise<string[]> {
  const names = Array.isArray(outputs.volumes) ? outputs.volumes.filter((v): v is string => typeof v === "string") : [];
  if (names.length === 0) return [];
  return (await removeVolumes(names)).removed;
}

export interface RunList {
  runs: RunView[];
  /** The records the views were made from (the reconciler reads them without listing twice). */
  stored?: StoredRun[];
  /** E4104 when the Docker engine does not answer: local runs are listed with instance `unknown`. */
  warnings: Diagnostic[];
}

/**
 * The runs (active ones; `all`: ended ones too) with what a probe of their instances found:
 * local containers are listed with one Docker API call. When local runs are active and Docker
 * does not answer, one warning (E4104) instead of silently `unknown` instances.
 */
export async function listRunsChecked(o: { all?: boolean; env?: NodeJS.ProcessEnv; now?: number } = {}): Promise<RunList> {
  const env = o.env ?? process.env;
  const stored = await listRecords({ all: o.all, env });
  const now = o.now ?? Date.now();
  const isLocal = (s: (typeof stored)[number]) => (s.record?.backend ?? s.outputs?.backend) === "local";
  const probed = stored.filter((s) => isLocal(s) && (!s.record || isActive(s.record.status)));
  const warnings: Diagnostic[] = [];
  let states = new Map<string, InstanceState>();
  if (probed.length > 0) {
    try {
      states = await localContainerStates(env);
    } catch (e) {
      if (!(e instanceof DstackError) || !/^E410[12]$/.test(e.diagnostics[0]?.code ?? "")) throw e;
      const d = e.diagnostics[0];
      warnings.push({ code: "E4104", severity: "warning", message: `the state of local runs' containers is unknown: ${d.message}`, hint: d.hint });
      states = new Map(probed.map((s) => [s.name, "unknown" as InstanceState]));
    }
  }
  // cloud VMs: over SSH, in parallel (src/runs/observe.ts)
  const clouds = stored.filter((s) => !isLocal(s) && s.record && isActive(s.record.status) && s.outputs && isCloudBackend(String(s.record.backend)));
  const cloudStates = new Map(await Promise.all(clouds.map(async (s) => [s.name, await cloudInstanceState(s.outputs, s.record?.status ?? null, env)] as const)));
  const runs = stored.map((s) => {
    const id = typeof s.outputs?.instance_id === "string" ? s.outputs.instance_id : null;
    const probe: InstanceState = cloudStates.get(s.name) ?? (!probed.includes(s) ? (id ? "unknown" : "missing") : (states.get(s.name) ?? "missing"));
    return runView(s.name, s.record, s.outputs, probe, now);
  });
  return { runs, warnings, stored };
}

/**
 * A cloud run's VM as `ps` shows it: the run container running or stopped, the VM gone
 * (`missing`), or `unknown` (it does not answer while the run is still provisioning: booting).
 */
async function cloudInstanceState(outputs: Record<string, unknown> | null, status: string | null, env: NodeJS.ProcessEnv = process.env): Promise<InstanceState> {
  if (!outputs || typeof outputs.instance_id !== "string") return "missing";
  const obs = await observeCloudInstance(outputs, { env, timeoutMs: 10_000 });
  if (obs.kind === "running") return "running";
  if (obs.kind === "exited") return "stopped";
  if (obs.kind === "missing") return status === "provisioning" ? "unknown" : "missing";
  return "unknown";
}

/** The state of every dstack container by run name (one Docker API call). */
async function localContainerStates(env: NodeJS.ProcessEnv): Promise<Map<string, InstanceState>> {
  const out = new Map<string, InstanceState>();
  for (const c of await listContainersByLabel("dstack.run", env)) {
    const run = c.Labels?.["dstack.run"];
    if (run) out.set(run, c.State === "running" ? "running" : "stopped");
  }
  return out;
}

/** One run as listed (throws E4503 when there is no such run). */
export async function getRun(name: string, env: NodeJS.ProcessEnv = process.env): Promise<RunView> {
  const stored = await readRecord(name, { env });
  if (stored === null) throw ws.runNotFound(name);
  const probe = stored.record && isActive(stored.record.status) ? await probeInstance(stored.outputs) : "missing";
  return runView(name, stored.record, stored.outputs, probe, Date.now());
}
