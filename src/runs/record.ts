/**
 * The run record: a run's status, why it ended, its attempts, and what a reconciler needs to
 * act on it with no configuration file at hand. Everything here is pure; src/runs/records.ts
 * keeps records in the state backend (stack outputs, stack tags, update history).
 *
 * Where a record lives (a run is a stack):
 * - stack output `dstack_run` (RUN_RECORD_OUTPUT): the RunRecord below, plain JSON, no secret;
 * - stack output `dstack_spec` (RUN_SPEC_OUTPUT): the RunSpec with its secret values left out
 *   (`storedSpec`), enough to plan the run again on another offer;
 * - stack output `dstack_secrets` (RUN_SECRETS_OUTPUT): those secret values, as a Pulumi secret
 *   (encrypted in the state with the passphrase; `withSecrets` puts them back);
 * - stack tags `dstack:status`, `dstack:reason`, … (`recordTags`): the status as it moves between
 *   engine updates, readable by `pulumi stack ls --tag dstack:status=running`.
 *
 * Statuses: submitted → provisioning → running → terminating → terminated | failed | done.
 * An ended run (terminated, failed, done) has a `reason` (`renderReason`: "exited with code 3",
 * "max duration exceeded", …) and no resources; its stack and history stay until purged.
 */
import { createHash } from "crypto";
import { offerResources } from "../offers/format";
import type { Plan } from "../compiler/plan";
import type { PortSpec, RetrySpec, RunSpec } from "../config/runspec";
import type { Offer } from "../offers/offer";
import { projectedCost, roundCost } from "./cost";

/** Stack output key of the RunRecord. */
export const RUN_RECORD_OUTPUT = "dstack_run";
/** Older name of RUN_RECORD_OUTPUT. */
export const RUN_META_OUTPUT = RUN_RECORD_OUTPUT;
/** Stack output key of the run's spec without its secret values. */
export const RUN_SPEC_OUTPUT = "dstack_spec";
/** Stack output key of the run's secret values (a Pulumi secret). */
export const RUN_SECRETS_OUTPUT = "dstack_secrets";

export type RunStatus = "submitted" | "provisioning" | "running" | "terminating" | "terminated" | "failed" | "done";
export const RUN_STATUSES: readonly RunStatus[] = ["submitted", "provisioning", "running", "terminating", "terminated", "failed", "done"];
/** Statuses of a run that holds (or is getting, or is giving up) resources. */
export const ACTIVE_STATUSES: readonly RunStatus[] = ["submitted", "provisioning", "running", "terminating"];

export function isActive(s: RunStatus): boolean {
  return ACTIVE_STATUSES.includes(s);
}

export function isEnded(s: RunStatus): boolean {
  return !isActive(s);
}

export function isRunStatus(v: unknown): v is RunStatus {
  return typeof v === "string" && (RUN_STATUSES as readonly string[]).includes(v);
}

/** Why a run (or an attempt) ended. */
export type ReasonKind =
  /** `dstack stop` / `dstack down`: a graceful stop. */
  | "stopped_by_user"
  /** `dstack stop --abort`: killed at once. */
  | "aborted_by_user"
  | "max_duration_exceeded"
  /** A dev environment with no SSH session for `inactivity_duration`. */
  | "inactivity"
  /** No offer could be provisioned (every one tried had no capacity). */
  | "no_capacity"
  /** The instance went away (a spot reclaim, a container killed or removed from outside). */
  | "interrupted"
  /** A task's commands ended (exit_code says how). */
  | "exited"
  /** Retrying went on for `retry.duration` without success. */
  | "retry_limit_exceeded"
  /** The start script failed (setup, init, sshd) before the commands ran. */
  | "setup_failed"
  /** Provisioning failed (the engine, a provider). */
  | "provisioning_failed"
  | "error";
export const REASON_KINDS: readonly ReasonKind[] = [
  "stopped_by_user",
  "aborted_by_user",
  "max_duration_exceeded",
  "inactivity",
  "no_capacity",
  "interrupted",
  "exited",
  "retry_limit_exceeded",
  "setup_failed",
  "provisioning_failed",
  "error",
];

export interface TerminationReason {
  kind: ReasonKind;
  /** For `exited`: the commands' exit code. */
  exit_code?: number | null;
  /** Detail for people (the start script's error line, the engine's message). */
  message?: string | null;
}

/** The offer an attempt ran on. */
export interface AttemptOffer {
  backend: string;
  region: string;
  instance_type: string;
  /** USD per hour. */
  price: number;
  spot: boolean;
}

/** One try at running the run: an offer, from start to end. */
export interface Attempt {
  /** 1, 2, … */
  n: number;
  offer: AttemptOffer;
  started_at: string;
  ended_at: string | null;
  reason: TerminationReason | null;
  exit_code: number | null;
  message: string | null;
}

/** The run's record (stack output `dstack_run`): plain JSON, no secrets. */
export interface RunRecord {
  /** Record layout version: 2 (records of version 1 — RunMeta before statuses — are upgraded by `recordFromOutputs`). */
  version: 2;
  name: string;
  backend: string;
  region: string;
  run_type: Plan["run_type"];
  configuration_path: string | null;
  /** When the current attempt's plan was made (the previous `up` of the same attempt keeps it). */
  created_at: string;
  /** When the run was first submitted (kept across attempts). */
  submitted_at: string;
  /** When this record (or its status tags) last changed. */
  updated_at: string;
  /** When the run ended (terminated, failed, done), else null. */
  ended_at: string | null;
  /** The deadline (created_at + max_duration), or null. */
  expires_at: string | null;
  price: number;
  spot: boolean;
  resources: string;
  instance_type: string;
  ide: Plan["ide"];
  owner: string;
  /** Hash of the plan the stack was last brought up with (`planHash`). */
  plan_hash: string;
  volumes: string[];
  status: RunStatus;
  reason: TerminationReason | null;
  attempts: Attempt[];
  /** Seconds, or null. */
  max_duration: number | null;
  retry: RetrySpec;
  /** Seconds, or null (dev environments). */
  inactivity_duration: number | null;
  /** Seconds, or null: how long a graceful stop waits before killing. */
  stop_duration: number | null;
  /** The run's ports (`local_port` is where `dstack attach` forwards `container_port`). */
  ports: PortSpec[];
}

/** Older name of RunRecord. */
export type RunMeta = RunRecord;

/** What a liveness probe found about the run's instance (container, VM). */
export type InstanceState = "running" | "stopped" | "missing" | "unknown";

/**
 * What of a plan makes the run: the plan without the machine facts that drift on their own
 * (the local machine's free disk moves with every image build; only the offer's identity and
 * price matter, and the local backend has no disk size).
 */
export function planIdentity(p: Plan): unknown {
  const o = p.offer;
  return {
    ...p,
    offer: { backend: o.backend, region: o.region, zone: o.zone, instance_type: o.instance_type, price: o.price, spot: o.spot, gpu_count: o.gpu_count, gpu_name: o.gpu_name },
    disk_size: p.backend === "local" ? null : p.disk_size,
  };
}

/** Stable hash of a plan's identity (key order independent), to tell "no change" without the engine. */
export function planHash(p: Plan): string {
  const canon = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canon);
    if (v && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v as object).sort()) out[k] = canon((v as Record<string, unknown>)[k]);
      return out;
    }
    return v;
  };
  return createHash("sha256").update(JSON.stringify(canon(planIdentity(p)))).digest("hex").slice(0, 32);
}

export function attemptOffer(o: Pick<Offer, "backend" | "region" | "instance_type" | "price" | "spot">): AttemptOffer {
  return { backend: o.backend, region: o.region, instance_type: o.instance_type, price: o.price, spot: o.spot };
}

const NO_RETRY: RetrySpec = { enabled: false, on_events: [], duration: null };

/** The run's lifecycle settings from its spec (what a reconciler needs besides the record). */
function lifecycleOf(spec: Pick<RunSpec, "type" | "retry" | "max_duration" | "stop_duration" | "ports"> & { inactivity_duration?: number | null } | null) {
  return {
    retry: spec?.retry ?? NO_RETRY,
    inactivity_duration: spec && spec.type === "dev-environment" ? (spec.inactivity_duration ?? null) : null,
    stop_duration: spec?.stop_duration ?? null,
    ports: spec?.ports ?? [],
  };
}

/**
 * The record an `up` writes with its plan. A new run, or an ended one brought up again, starts
 * a new attempt (`submitted_at` stays the first one's); an active run updated in place keeps its
 * attempts. The status is `provisioning` (the engine is about to act); `markStatus` moves it on.
 */
export function recordForUp(p: Plan, configurationPath: string | null, spec: Parameters<typeof lifecycleOf>[0], previous: RunRecord | null, now: string): RunRecord {
  const fresh = previous === null || isEnded(previous.status);
  const attempts = previous ? previous.attempts.map((a) => ({ ...a })) : [];
  const last = attempts[attempts.length - 1];
  // a new attempt for a new or ended run, and for an active run whose last attempt ended (a retry)
  if (fresh || !last || last.ended_at !== null) {
    attempts.push({ n: attempts.length + 1, offer: attemptOffer(p.offer), started_at: now, ended_at: null, reason: null, exit_code: null, message: null });
  } else {
    last.offer = attemptOffer(p.offer);
  }
  return {
    version: 2,
    name: p.run_name,
    backend: p.backend,
    region: p.offer.region,
    run_type: p.run_type,
    configuration_path: configurationPath,
    created_at: p.created_at,
    submitted_at: previous?.submitted_at ?? p.created_at,
    updated_at: now,
    ended_at: null,
    expires_at: p.expires_at,
    price: p.offer.price,
    spot: p.spot,
    resources: offerResources(p.offer),
    instance_type: p.offer.instance_type,
    ide: p.ide,
    owner: p.tags["dstack:owner"] ?? "",
    plan_hash: planHash(p),
    volumes: p.volumes.map((v) => v.name),
    status: "provisioning",
    reason: null,
    attempts,
    max_duration: p.max_duration,
    ...lifecycleOf(spec),
  };
}

/** The record of a plan alone (no spec, no previous record): tests and `compile`. */
export function runMeta(p: Plan, configurationPath: string | null): RunRecord {
  return recordForUp(p, configurationPath, null, null, p.created_at);
}

/** Starts a new attempt on `offer` (pure): the reconciler's retry, before its `up`. */
export function startAttempt(r: RunRecord, offer: AttemptOffer, now: string): RunRecord {
  const attempts = [...r.attempts, { n: r.attempts.length + 1, offer, started_at: now, ended_at: null, reason: null, exit_code: null, message: null }];
  return { ...r, attempts, status: "provisioning", reason: null, ended_at: null, updated_at: now, backend: offer.backend, region: offer.region, instance_type: offer.instance_type, price: offer.price, spot: offer.spot };
}

/** Ends the current attempt (pure); the run's own status is left as it is. */
export function endAttempt(r: RunRecord, reason: TerminationReason, now: string): RunRecord {
  const attempts = r.attempts.map((a) => ({ ...a }));
  const last = attempts[attempts.length - 1];
  if (last && last.ended_at === null) {
    last.ended_at = now;
    last.reason = reason;
    last.exit_code = reason.exit_code ?? null;
    last.message = reason.message ?? null;
  }
  return { ...r, attempts, updated_at: now };
}

/** The status a run ends in for a reason: `done` for exit code 0, `terminated` when stopped or timed out, else `failed`. */
export function endStatus(reason: TerminationReason): "done" | "failed" | "terminated" {
  switch (reason.kind) {
    case "exited":
      return reason.exit_code === 0 ? "done" : "failed";
    case "stopped_by_user":
    case "aborted_by_user":
    case "max_duration_exceeded":
    case "inactivity":
      return "terminated";
    default:
      return "failed";
  }
}

/** The run ended (pure): its current attempt too, status from the reason (`endStatus`). */
export function endRecord(r: RunRecord, reason: TerminationReason, now: string): RunRecord {
  return { ...endAttempt(r, reason, now), status: endStatus(reason), reason, ended_at: now, updated_at: now };
}

/** "exited with code 3", "max duration exceeded", "stopped by user", … (pure). */
export function renderReason(r: TerminationReason | null): string {
  if (!r) return "-";
  const text = r.kind === "exited" ? `exited with code ${r.exit_code ?? "?"}` : r.kind.replace(/_/g, " ");
  return r.message && r.kind !== "exited" ? `${text}: ${r.message}` : text;
}

/** The short form (no message): for tables and tags. */
export function renderReasonShort(r: TerminationReason | null): string {
  return r ? renderReason({ kind: r.kind, exit_code: r.exit_code }) : "-";
}

/** Seconds the run lasted: from its submission to its end (or `now` while active). */
export function runDurationSeconds(r: Pick<RunRecord, "submitted_at" | "ended_at">, now: number): number {
  const end = r.ended_at ? Date.parse(r.ended_at) : now;
  return Math.max(0, Math.floor((end - Date.parse(r.submitted_at)) / 1000));
}

/** The attempts as lines: `#1 local/local local $0.0/h 06:40:01–06:40:09 exited with code 3`. */
export function renderAttempts(r: RunRecord): string[] {
  return r.attempts.map((a) => {
    const end = a.ended_at ? a.ended_at.slice(11, 19) : "…";
    return `#${a.n} ${a.offer.backend}/${a.offer.region} ${a.offer.instance_type}${a.offer.spot ? " (spot)" : ""} ${a.started_at.slice(11, 19)}–${end} ${a.reason ? renderReason(a.reason) : "running"}`;
  });
}

// --- tags ----------------------------------------------------------------------------------

/** Stack tag names dstack sets on a run's stack. */
export const TAG = {
  status: "dstack:status",
  reason: "dstack:reason",
  exitCode: "dstack:exit-code",
  message: "dstack:message",
  owner: "dstack:owner",
  backend: "dstack:backend",
  expiresAt: "dstack:expires-at",
  runType: "dstack:run-type",
  updatedAt: "dstack:updated-at",
} as const;

/** The stack tags of a record (pure). Values are plain strings; `never` for no deadline. */
export function recordTags(r: Pick<RunRecord, "status" | "reason" | "owner" | "backend" | "expires_at" | "run_type" | "updated_at">): Record<string, string> {
  return {
    [TAG.status]: r.status,
    [TAG.reason]: r.reason?.kind ?? "",
    [TAG.exitCode]: r.reason?.exit_code != null ? String(r.reason.exit_code) : "",
    [TAG.message]: (r.reason?.message ?? "").slice(0, 200),
    [TAG.owner]: r.owner,
    [TAG.backend]: r.backend,
    [TAG.expiresAt]: r.expires_at ?? "never",
    [TAG.runType]: r.run_type,
    [TAG.updatedAt]: r.updated_at,
  };
}

/** The status and reason the tags say, when they are newer than (or as new as) the record's `updated_at` (pure). */
export function statusFromTags(tags: Record<string, string> | null, updatedAt: string): { status: RunStatus; reason: TerminationReason | null; updated_at: string } | null {
  if (!tags || !isRunStatus(tags[TAG.status])) return null;
  const at = tags[TAG.updatedAt] ?? "";
  if (!at || at < updatedAt) return null;
  const kind = tags[TAG.reason];
  const code = tags[TAG.exitCode];
  const reason: TerminationReason | null = kind && (REASON_KINDS as readonly string[]).includes(kind)
    ? { kind: kind as ReasonKind, ...(code ? { exit_code: Number(code) } : {}), ...(tags[TAG.message] ? { message: tags[TAG.message] } : {}) }
    : null;
  return { status: tags[TAG.status] as RunStatus, reason, updated_at: at };
}

// --- reading records from outputs ------------------------------------------------------------

/**
 * The record in a stack's outputs, merged with its tags (the later status wins), or null when
 * there is none. A version-1 record (before statuses) is upgraded: its status is `running`
 * while the outputs name an instance, else `failed`.
 */
export function recordFromOutputs(outputs: Record<string, unknown> | null, tags: Record<string, string> | null = null): RunRecord | null {
  const m = outputs?.[RUN_RECORD_OUTPUT];
  if (!m || typeof m !== "object") return null;
  const r = m as Partial<RunRecord>;
  if (typeof r.name !== "string" || typeof r.backend !== "string" || typeof r.created_at !== "string") return null;
  const hasInstance = typeof outputs?.instance_id === "string" && outputs.instance_id !== "";
  const defaults: Omit<RunRecord, "name" | "backend" | "created_at"> = {
    version: 2,
    region: "",
    run_type: "dev-environment",
    configuration_path: null,
    submitted_at: r.created_at,
    updated_at: r.created_at,
    ended_at: null,
    expires_at: null,
    price: 0,
    spot: false,
    resources: "",
    instance_type: "",
    ide: null,
    owner: "",
    plan_hash: "",
    volumes: [],
    status: hasInstance ? "running" : "failed",
    reason: hasInstance ? null : { kind: "error", message: "the run has no instance" },
    attempts: [],
    max_duration: null,
    retry: NO_RETRY,
    inactivity_duration: null,
    stop_duration: null,
    ports: [],
  };
  const base: RunRecord = { ...defaults, ...(r as RunRecord), version: 2 };
  if (!isRunStatus(base.status)) base.status = "failed";
  const fromTags = statusFromTags(tags, base.updated_at);
  if (fromTags) return { ...base, ...fromTags, ended_at: isEnded(fromTags.status) ? (base.ended_at ?? fromTags.updated_at) : null };
  return base;
}

/** Older name of recordFromOutputs (without tags). */
export function metaFromOutputs(outputs: Record<string, unknown> | null): RunRecord | null {
  return recordFromOutputs(outputs);
}

// --- the spec a reconciler plans from ----------------------------------------------------------

/** The secret values of a spec: the secret env values and the registry password. */
export interface SpecSecrets {
  env: Record<string, string>;
  registry_password: string | null;
}

/** The spec without its secret values (for `dstack_spec`), and those values (for `dstack_secrets`, a Pulumi secret) (pure). */
export function storedSpec(spec: RunSpec): { spec: RunSpec; secrets: SpecSecrets } {
  const secretKeys = new Set(spec.secret_env);
  const env: Record<string, string> = {};
  const secretEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.env)) (secretKeys.has(k) ? secretEnv : env)[k] = v;
  const registry = spec.registry_auth ? { ...spec.registry_auth, password: "" } : null;
  return { spec: { ...spec, env, registry_auth: registry }, secrets: { env: secretEnv, registry_password: spec.registry_auth?.password ?? null } };
}

/** The spec with its secret values back (pure). */
export function withSecrets(spec: RunSpec, secrets: SpecSecrets | null): RunSpec {
  if (!secrets) return spec;
  const registry = spec.registry_auth ? { ...spec.registry_auth, password: secrets.registry_password ?? "" } : null;
  return { ...spec, env: { ...spec.env, ...secrets.env }, registry_auth: registry };
}

// --- formatting --------------------------------------------------------------------------------

/** `5s`, `3m`, `2h`, `4d` since `iso`. */
export function formatAge(iso: string | null, now: number): string {
  if (!iso) return "-";
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** `2h`, `30m`, `1h30m`, `off`. */
export function formatDuration(seconds: number | null): string {
  if (seconds == null) return "off";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [h ? `${h}h` : "", m ? `${m}m` : "", s || (!h && !m) ? `${s}s` : ""].join("");
}

// --- the listing view ------------------------------------------------------------------------

/** The IDE link of a dev environment. */
export function ideUrl(name: string, ide: Plan["ide"], workingDir = "/workflow"): string | null {
  if (ide === "cursor") return `cursor://vscode-remote/ssh-remote+${name}${workingDir}`;
  if (ide === "windsurf") return `windsurf://vscode-remote/ssh-remote+${name}${workingDir}`;
  if (ide === "vscode" || ide === null) return `vscode://vscode-remote/ssh-remote+${name}${workingDir}`;
  return null;
}

/** What a CI script needs to connect, from an active run's outputs (null once it has ended); docs/ci.md. */
function connectionFields(name: string, r: RunRecord | null, outputs: Record<string, unknown> | null): Pick<RunView, "ssh_port" | "ssh_user" | "ide_url" | "projected_cost"> {
  const active = !!r && isActive(r.status);
  const spec = outputs?.[RUN_SPEC_OUTPUT] as { working_dir?: unknown } | undefined;
  const workingDir = typeof spec?.working_dir === "string" ? spec.working_dir : undefined;
  return {
    ssh_port: active && typeof outputs?.ssh_port === "number" ? outputs.ssh_port : null,
    ssh_user: active && typeof outputs?.ssh_user === "string" ? outputs.ssh_user : null,
    ide_url: active && r?.run_type === "dev-environment" ? ideUrl(name, r.ide, workingDir) : null,
    projected_cost: r ? nullableCost(projectedCost(r.price, r.max_duration)) : null,
  };
}

const nullableCost = (c: number | null) => (c === null ? null : roundCost(c));

/** One run as `dstack ps --json` and `dstack up --json` print it. */
export interface RunView {
  name: string;
  backend: string;
  status: RunStatus;
  /** `exited`, `max_duration_exceeded`, … or null while active. */
  termination_reason: ReasonKind | null;
  /** "exited with code 3", … or null. */
  reason: string | null;
  /** A task's exit code (when it exited), else null. */
  exit_code: number | null;
  price: number | null;
  resources: string | null;
  owner: string | null;
  created_at: string | null;
  submitted_at: string | null;
  ended_at: string | null;
  expires_at: string | null;
  /** From submission to end, seconds (null while active: `submitted_at` says since when). */
  duration_s: number | null;
  attempts: number;
  ssh_host: string | null;
  /** The active run's sshd port and user (null once it has ended). */
  ssh_port: number | null;
  ssh_user: string | null;
  /** A dev environment's IDE link (`vscode://vscode-remote/ssh-remote+NAME/workflow`), null for a task or an ended run. */
  ide_url: string | null;
  /** `price` (dollars per hour) × max_duration, in dollars; null without max_duration (unbounded) unless the run is free. */
  projected_cost: number | null;
  /** What a probe of the instance found (local: the container), when it was probed. */
  instance: InstanceState;
}

/** A record as listed (pure). */
export function runView(name: string, r: RunRecord | null, outputs: Record<string, unknown> | null, instance: InstanceState, now: number): RunView {
  return {
    name,
    backend: r?.backend ?? (typeof outputs?.backend === "string" ? outputs.backend : "unknown"),
    status: r?.status ?? "failed",
    termination_reason: r?.reason?.kind ?? null,
    reason: r?.reason ? renderReason(r.reason) : r ? null : "the run has no record (an interrupted first `dstack up`)",
    exit_code: r?.reason?.kind === "exited" ? (r.reason.exit_code ?? null) : null,
    price: r ? r.price : null,
    resources: r ? r.resources : null,
    owner: r ? r.owner : null,
    created_at: r ? r.created_at : null,
    submitted_at: r ? r.submitted_at : null,
    ended_at: r ? r.ended_at : null,
    expires_at: r ? r.expires_at : null,
    duration_s: r && r.ended_at ? runDurationSeconds(r, now) : null,
    attempts: r ? r.attempts.length : 0,
    ssh_host: r && isActive(r.status) && typeof outputs?.ssh_host === "string" ? outputs.ssh_host : null,
    ...connectionFields(name, r, outputs),
    instance,
  };
}
