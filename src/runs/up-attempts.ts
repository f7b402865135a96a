/**
 * `dstack up`'s side of the retry rules: the first attempt of a run over its offers
 * (attempt.ts), and, while no offer has capacity, the wait for the next attempt — in this
 * process when attached (backoff 15 s, 30 s, 1 m, … until `retry.duration` ends), or left to
 * the agent with `--detach` (the run is then `submitted`, waiting). Once the run is up,
 * `ensureAgentFor` starts the agent when the run manages itself. The decisions are the
 * reconciler's own (reconcile-decision.ts): `up` only calls them while it holds the run's lock.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { sleep } from "../stacks/locks";
import { acquireRunLock, type RunLock } from "../stacks/run-lock";
import { ensureAgent } from "./agent";
import { describeTried, noCapacityError, provisionAttempt, recordNoCapacity } from "./attempt";
import type { ApplyResult, PlannedRun } from "./lifecycle";
import type { PreparedUp } from "./prepare";
import { decide, onFailure, POLL_MS } from "./reconcile-decision";
import { decisionView, followerLockName, isManaged, reconcileRun } from "./reconcile";
import type { RunRecord } from "./record";
import { endRun, readRecord } from "./records";

export type UpProvisioning =
  | { kind: "provisioned"; planned: PlannedRun; result: ApplyResult }
  /** `--detach` and no capacity: the run waits for its next attempt (the agent makes it). */
  | { kind: "waiting"; record: RunRecord; next_ms: number; why: string };

export interface UpProvisionOptions {
  env?: NodeJS.ProcessEnv;
  detach?: boolean;
  onEvent?: (e: EngineEvent) => void;
  signal?: AbortSignal;
  interrupted?: AbortSignal;
  refresh?: boolean;
  /** "no capacity on …; next attempt in 15s" while attached. */
  onNotice?: (text: string) => void;
  now?: () => number;
}

/**
 * Provisions the run: its offers in price order (the first attempt uses `up`'s own plan for the
 * offer it chose), then, while none has capacity, waits and tries again as the retry policy says.
 * A run that never finds capacity fails with E6250 (no retry on no-capacity) or E6251 (retry
 * limit exceeded), exit 3, its record and attempts kept for `ps -a`.
 */
export async function provisionForUp(prepared: PreparedUp, o: UpProvisionOptions = {}): Promise<UpProvisioning> {
  const env = o.env ?? process.env;
  const now = o.now ?? Date.now;
  const { spec } = prepared;
  let first = true;
  for (;;) {
    const outcome = await provisionAttempt(spec, {
      env,
      planned: first ? prepared.planned : undefined,
      preflighted: true,
      onEvent: o.onEvent,
      signal: o.signal,
      interrupted: o.interrupted,
      refresh: first ? o.refresh : false,
    });
    if (outcome.kind === "provisioned") return { kind: "provisioned", planned: outcome.planned, result: outcome.result };

    const stored = await readRecord(spec.name, { env });
    const view = decisionView(stored?.record ?? prepared.planned.record);
    const next = onFailure(view, "no-capacity", now());
    const why = describeTried(outcome.tried);
    if (next.kind !== "retry") {
      const reason = next.kind === "end" ? { kind: next.reason, message: why } : { kind: "no_capacity" as const, message: why };
      const record = await recordNoCapacity(spec, outcome.tried, { retry: false, final: reason, env, planned: first ? prepared.planned : undefined });
      throw noCapacityError(spec.name, record, reason);
    }
    const record = await recordNoCapacity(spec, outcome.tried, { retry: true, env, planned: first ? prepared.planned : undefined });
    first = false;
    if (o.detach) return { kind: "waiting", record, next_ms: next.delay_ms, why };
    o.onNotice?.(`${spec.name}: no capacity (${why}); attempt ${record.attempts.length + 1} in ${Math.round(next.delay_ms / 1000)}s`);

    // wait for the next attempt: the same decision the agent would make, in this process
    for (;;) {
      const cur = (await readRecord(spec.name, { env }))?.record ?? record;
      const action = decide(decisionView(cur), { kind: "none" }, now());
      if (action.kind === "provision") break;
      if (action.kind === "end") {
        const reason = { kind: action.reason, message: `${action.message}; the last attempt: ${why}` };
        const ended = await endRun(spec.name, reason, { env });
        throw noCapacityError(spec.name, ended.record, reason);
      }
      const delay = action.kind === "wait" ? (action.requeue_ms ?? POLL_MS) : POLL_MS;
      await sleep(Math.max(100, delay), o.signal);
    }
  }
}

/** Starts the agent when the run manages itself (a deadline, a retry policy, an inactivity rule); its pid, or null. */
export async function ensureAgentFor(name: string, env: NodeJS.ProcessEnv = process.env): Promise<number | null> {
  const stored = await readRecord(name, { env });
  if (!stored?.record || !isManaged(stored.record)) return null;
  return ensureAgent(env);
}

/**
 * Marks the run as followed by this attached command (`dstack up` of a task): the agent then
 * leaves its end and its retries to this process, which decides them with the same step
 * (`settleAttempt`). A follower killed with `kill -9` leaves a stale mark: the agent takes over.
 */
export async function acquireFollowLock(name: string, env: NodeJS.ProcessEnv = process.env): Promise<RunLock> {
  return acquireRunLock(followerLockName(name), { command: "dstack up (following)", env, forceUnlock: false });
}

const ACTIVE = ["submitted", "provisioning", "running", "terminating"];

export type Settled =
  /** The run ended (done, failed, terminated): its record. */
  | { kind: "ended"; record: RunRecord }
  /** The attempt ended and the next one is up (a retry): follow its instance. */
  | { kind: "retrying"; outputs: Record<string, unknown>; attempt: number; why: string };

/**
 * Once the followed instance has stopped: the reconcile steps of the run, under its lock, until
 * it has ended or its next attempt is up — the same decisions the agent makes (done / failed,
 * or a retry after the backoff while the retry window is open).
 */
export async function settleAttempt(name: string, o: { env?: NodeJS.ProcessEnv; signal?: AbortSignal; onNotice?: (text: string) => void; onEvent?: (e: EngineEvent) => void } = {}): Promise<Settled> {
  const env = o.env ?? process.env;
  let why = "";
  for (;;) {
    const lock = await acquireRunLock(name, { command: "dstack up (task ended)", wait: true, env, signal: o.signal });
    let step: Awaited<ReturnType<typeof reconcileRun>>;
    try {
      step = await reconcileRun(name, { env, holding: true, onEvent: o.onEvent, signal: o.signal });
    } finally {
      lock.release();
    }
    const stored = await readRecord(name, { env });
    const record = stored?.record;
    if (!record) throw new Error(`${name}: the run's record is gone`);
    if (!ACTIVE.includes(record.status)) return { kind: "ended", record };
    const outputs = stored.outputs ?? {};
    if (step.action.kind === "retry") why = step.action.message;
    if (step.action.kind !== "wait") o.onNotice?.(`${name}: ${step.note}`);
    // the next attempt is up, or the instance runs after all: follow it
    if (step.provisioned || (step.action.kind === "wait" && record.status === "running" && typeof outputs.instance_id === "string")) {
      return { kind: "retrying", outputs, attempt: record.attempts.length, why };
    }
    await sleep(Math.max(100, step.requeue_ms ?? POLL_MS), o.signal);
  }
}
