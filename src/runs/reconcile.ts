/**
 * The reconcile step's executor: for one run, read its record (records.ts), observe its instance
 * (observe.ts), ask the pure decision (reconcile-decision.ts) for one action, and take it:
 *
 *   wait          nothing (the caller looks again after `requeue_ms`)
 *   mark_running  the status tag moves to running
 *   end           endRun: the instance stopped (gracefully: SIGTERM, then kill after
 *                 stop_duration), the resources destroyed, the stack, record and history kept
 *   retry         endRun with `retry`: the attempt's resources destroyed, the run `submitted`
 *   provision     the next attempt (attempt.ts): offers in price order, capacity checked
 *   cleanup       an ended run's leftovers removed (a teardown interrupted midway)
 *
 * Callers: `dstack up` (its retry loop, holding the run's lock: `holding`), `dstack agent` and
 * `dstack reap` (`reconcileManaged`), and `dstack ps` (`reconcileDue`: only runs whose deadline
 * has passed or whose instance is gone). Every action that writes takes the run's lock without
 * waiting; a run another live command holds is left to it (it is looked at again later).
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { RetryEvent } from "../config/runspec";
import { DstackError } from "../diagnostics";
import { acquireRunLock } from "../stacks/run-lock";
import { describeTried, provisionAttempt, recordNoCapacity } from "./attempt";
import { removeLeftovers } from "./cleanup";
import { observeInstance } from "./observe";
import { bootingGrace, uploadCode } from "./cloud-reconcile";
import { isCloudBackend } from "../compiler/backends/cloud/prerequisites";
import { decide, onFailure, POLL_MS, type Action, type AttemptView, type ReconcileView } from "./reconcile-decision";
import { endAttempt, isActive, type Attempt, type RunRecord, type RunView, type TerminationReason } from "./record";
import { appendRunLog, saveInstanceOutput } from "./run-log";
import { endRun, listRecords, markStatus, readRecord, readRunSpec, type StoredRun } from "./records";
import { heldByAnother, isManaged } from "./managed";

/** Reasons of an attempt that reached its instance running. */
const RAN: TerminationReason["kind"][] = ["exited", "interrupted", "max_duration_exceeded", "inactivity", "stopped_by_user", "aborted_by_user"];

/** The retry event an attempt's reason counts as, or null. */
export function eventOf(reason: TerminationReason | null): RetryEvent | null {
  if (!reason) return null;
  switch (reason.kind) {
    case "no_capacity":
      return "no-capacity";
    case "interrupted":
      return "interruption";
    case "exited":
      return reason.exit_code === 0 ? null : "error";
    case "setup_failed":
    case "provisioning_failed":
    case "error":
      return "error";
    default:
      return null;
  }
}

function attemptView(a: Attempt): AttemptView {
  return { started_at: Date.parse(a.started_at), ended_at: a.ended_at ? Date.parse(a.ended_at) : null, ran: a.reason ? RAN.includes(a.reason.kind) : false, event: eventOf(a.reason) };
}

/** What the decision reads of a record (pure). */
export function decisionView(r: RunRecord): ReconcileView {
  return {
    status: r.status,
    run_type: r.run_type,
    submitted_at: Date.parse(r.submitted_at),
    deadline: r.expires_at ? Date.parse(r.expires_at) : null,
    retry: r.retry,
    inactivity_duration: r.run_type === "dev-environment" ? r.inactivity_duration : null,
    attempts: r.attempts.map(attemptView),
    terminating_since: r.status === "terminating" ? Date.parse(r.updated_at) : null,
    stop_duration: r.stop_duration,
  };
}

export { followerLockName, heldByAnother, isManaged } from "./managed";

export interface StepResult {
  name: string;
  action: Action;
  /** When to look at the run again (ms), or null. */
  requeue_ms: number | null;
  /** What was done, for logs and `dstack reap`. */
  note: string;
  /** A new attempt was provisioned by this step. */
  provisioned?: boolean;
}

export interface ReconcileOptions {
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  /** The caller holds the run's lock (`dstack up`): act without taking it. */
  holding?: boolean;
  onEvent?: (e: EngineEvent) => void;
  signal?: AbortSignal;
}

function reasonOf(a: Extract<Action, { kind: "end" | "retry" }>): TerminationReason {
  // the message only when it says more than the reason's own words ("max duration exceeded")
  const plain = a.message === a.reason.replace(/_/g, " ") || /^(exited with code|max duration exceeded$|stopped$)/.test(a.message);
  return { kind: a.reason, ...(a.exit_code !== undefined ? { exit_code: a.exit_code } : {}), ...(plain ? {} : { message: a.message }) };
}

/** One reconcile step for one run. */
export async function reconcileRun(name: string, o: ReconcileOptions = {}): Promise<StepResult> {
  const env = o.env ?? process.env;
  const now = o.now ?? Date.now;
  const stored = await readRecord(name, { env });
  if (!stored?.record) return { name, action: { kind: "wait", requeue_ms: null }, requeue_ms: null, note: "no record" };
  return reconcileStored(stored as StoredRun & { record: RunRecord }, { ...o, env, now });
}

async function reconcileStored(stored: StoredRun & { record: RunRecord }, o: ReconcileOptions & { env: NodeJS.ProcessEnv; now: () => number }): Promise<StepResult> {
  const { name, record } = stored;
  const busy = !o.holding && (await heldByAnother(name, o.env));
  const sessions = record.run_type === "dev-environment" && record.inactivity_duration !== null && record.status === "running";
  const obs = bootingGrace(record, await observeInstance(stored.outputs, { sessions, env: o.env }), o.now(), o.env);
  const action = decide(decisionView(record), obs, o.now(), busy);
  const done = (note: string, requeue: number | null = null): StepResult => ({ name, action, requeue_ms: requeue, note });
  if (action.kind === "wait") return done(obs.kind === "unknown" ? `waiting: ${obs.why}` : busy ? "held by another command" : "nothing to do", action.requeue_ms);

  let lock: { release(): void } | null = null;
  if (!o.holding) {
    try {
      lock = await acquireRunLock(name, { command: "dstack agent (reconcile)", env: o.env });
    } catch (e) {
      if (e instanceof DstackError && e.diagnostics[0]?.code === "E4504") return done("held by another command", POLL_MS);
      throw e;
    }
  }
  try {
    switch (action.kind) {
      case "mark_running":
        await markStatus(name, "running", null, { env: o.env });
        return done("running", 0);
      case "upload": {
        const u = await uploadCode(name, stored.outputs, o.env);
        return done(u.note, u.ok ? 0 : POLL_MS);
      }
      case "end": {
        const r = await endRun(name, reasonOf(action), { env: o.env, onEvent: o.onEvent, signal: o.signal });
        return done(`${r.record.status} (${action.message})`);
      }
      case "retry":
        // one engine update only where Docker removes the dead instance first (local); a cloud's
        // attempt is destroyed by its own update before the next one is provisioned
        if (action.delay_ms === 0 && record.backend === "local" && (obs.kind === "exited" || obs.kind === "missing")) return await retryAtOnce(stored, action, o);
        await endRun(name, reasonOf(action), { env: o.env, retry: true, onEvent: o.onEvent, signal: o.signal });
        return done(`attempt ended (${action.message}); next attempt in ${Math.round(action.delay_ms / 1000)}s`, action.delay_ms);
      case "provision":
        return await provisionNext(name, record, o, action);
      case "cleanup": {
        const r = await removeLeftovers(name, { volumes: false, env: o.env });
        return done(`removed what was left: ${[...r.removed.containers].join(", ") || "nothing"}`);
      }
    }
    return done("nothing to do", null);
  } finally {
    lock?.release();
  }
}

/**
 * A retry due at once (an instance that ran, interrupted): one engine update instead of two —
 * the dead instance's output is saved and its container removed through Docker, the attempt is
 * ended in memory, and the next attempt's plan (with that record) replaces the resources.
 * Should no offer have capacity, the attempt's end is recorded the usual way first.
 */
async function retryAtOnce(stored: StoredRun & { record: RunRecord }, action: Extract<Action, { kind: "retry" }>, o: ReconcileOptions & { env: NodeJS.ProcessEnv; now: () => number }): Promise<StepResult> {
  const { name, record } = stored;
  const attempt = record.attempts[record.attempts.length - 1]?.n ?? 1;
  await saveInstanceOutput(name, stored.outputs, attempt, o.env).catch(() => false);
  await removeLeftovers(name, { volumes: false, env: o.env });
  const at = new Date(o.now()).toISOString();
  const ended: RunRecord = { ...endAttempt(record, reasonOf(action), at), status: "submitted" };
  appendRunLog(name, `dstack: run ${name} attempt ${attempt} ended (${action.message}); retrying at once`, o.env);
  return provisionNext(name, ended, o, action, true);
}

/** The next attempt of a run waiting between attempts (the run's lock is held). */
async function provisionNext(name: string, record: RunRecord, o: ReconcileOptions & { env: NodeJS.ProcessEnv; now: () => number }, action: Action, inMemory = false): Promise<StepResult> {
  const spec = await readRunSpec(name, { env: o.env });
  if (!spec) {
    const r = await endRun(name, { kind: "error", message: "the record holds no spec to plan the next attempt from" }, { env: o.env });
    return { name, action, requeue_ms: null, note: `${r.record.status}: no spec` };
  }
  try {
    const outcome = await provisionAttempt(spec, { env: o.env, onEvent: o.onEvent, signal: o.signal, refresh: true, previous: inMemory ? record : undefined });
    if (outcome.kind === "provisioned") {
      // a cloud VM is `running` once it answers (the next step's observation), not before
      if (!isCloudBackend(outcome.planned.plan.backend)) await markStatus(name, "running", null, { env: o.env });
      return { name, action, requeue_ms: 0, provisioned: true, note: `attempt ${record.attempts.length + 1} provisioned on ${outcome.planned.plan.offer.instance_type}` };
    }
    if (inMemory) {
      // the interrupted attempt's end, recorded before the attempt that found no capacity
      const last = record.attempts[record.attempts.length - 1];
      await endRun(name, last?.reason ?? { kind: "interrupted" }, { env: o.env, retry: true });
    }
    const next = onFailure(decisionView(record), "no-capacity", o.now());
    const retry = next.kind === "retry";
    await recordNoCapacity(spec, outcome.tried, { retry, final: next.kind === "end" ? { kind: next.reason, message: `${next.message}: ${describeTried(outcome.tried)}` } : undefined, env: o.env });
    return { name, action, requeue_ms: retry ? next.delay_ms : null, note: retry ? `no capacity (${describeTried(outcome.tried)}); next attempt in ${Math.round(next.delay_ms / 1000)}s` : `failed: ${next.kind === "end" ? next.reason : ""}` };
  } catch (e) {
    // the engine failed on the offer: its partial resources go, then the policy decides (event error)
    const message = e instanceof Error ? e.message.split("\n")[0]! : String(e);
    const next = onFailure(decisionView(record), "error", o.now(), undefined, { reason: "provisioning_failed", message });
    await endRun(name, { kind: "provisioning_failed", message }, { env: o.env, retry: next.kind === "retry", graceful: false });
    return { name, action, requeue_ms: next.kind === "retry" ? next.delay_ms : null, note: `provisioning failed: ${message}` };
  }
}

export interface ManagedResult {
  managed: number;
  requeue_ms: number | null;
  steps: StepResult[];
}

/** One step for every active run that manages itself (the agent's look, and `dstack reap`). */
export async function reconcileManaged(o: ReconcileOptions & { log?: (line: string) => void; all?: boolean } = {}): Promise<ManagedResult> {
  const env = o.env ?? process.env;
  const now = o.now ?? Date.now;
  const runs = (await listRecords({ env })).filter((s): s is StoredRun & { record: RunRecord } => s.record !== null && (o.all || isManaged(s.record)));
  const steps: StepResult[] = [];
  for (const s of runs) {
    try {
      const step = await reconcileStored(s, { ...o, env, now, holding: false });
      if (step.action.kind !== "wait") o.log?.(`${s.name}: ${step.action.kind}: ${step.note}`);
      steps.push(step);
    } catch (e) {
      o.log?.(`${s.name}: error: ${(e as Error).message}`);
      steps.push({ name: s.name, action: { kind: "wait", requeue_ms: POLL_MS }, requeue_ms: POLL_MS, note: `error: ${(e as Error).message}` });
    }
  }
  const requeues = steps.map((s) => s.requeue_ms).filter((x): x is number => x !== null);
  return { managed: runs.length, requeue_ms: requeues.length ? Math.min(...requeues) : null, steps };
}

/**
 * `dstack ps`'s lazy step (cheap): only the active runs whose deadline has passed or whose local
 * instance is not running are reconciled; the others are not touched.
 */
export async function reconcileDue(runs: Pick<RunView, "name" | "status" | "expires_at" | "instance">[], o: ReconcileOptions = {}): Promise<StepResult[]> {
  const now = (o.now ?? Date.now)();
  // a run waiting between attempts is the agent's (ps never provisions)
  const due = runs.filter((r) => isActive(r.status) && r.status !== "submitted" && ((r.expires_at !== null && Date.parse(r.expires_at) <= now) || r.instance === "stopped" || r.instance === "missing"));
  const out: StepResult[] = [];
  for (const r of due) {
    try {
      out.push(await reconcileRun(r.name, o));
    } catch {
      // ps lists what it can; the agent or `dstack reap` reports the error
    }
  }
  return out;
}
