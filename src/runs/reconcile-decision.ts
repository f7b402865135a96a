/**
 * The reconcile step's decision, pure: (the run as its record says, what was observed of its
 * instance, the clock) → one action. Level-triggered (STYLE.md §6): nothing here depends on
 * having seen an earlier event; everything it needs is in the record (status, attempts,
 * deadline, retry policy) or in the observation, so an agent killed at any point picks up
 * where the world is. The executor (reconcile.ts) observes, calls `decide`, and acts.
 *
 * Retry rules (dstack's): events `no-capacity`, `interruption`, `error`; the whole retrying is
 * bounded by `retry.duration`, counted from the end of the last attempt that ran (or from the
 * submission when none ran). Between attempts: a run that ran and was interrupted comes back at
 * once; otherwise the delay follows BACKOFF_MS by the number of failed attempts in a row.
 */
import type { RetryEvent, RetrySpec } from "../config/runspec";
import type { ReasonKind, RunStatus } from "./record";

/** dstack's backoff between attempts that found no capacity: 15 s, 30 s, 1 m, 2 m, 5 m, 10 m (then 10 m). */
export const BACKOFF_MS = [15_000, 30_000, 60_000, 120_000, 300_000, 600_000];

/** Offers tried in one attempt before backing off. */
export const MAX_OFFERS_PER_ATTEMPT = 25;

/** How often a running run with a time rule is looked at when nothing else is due (ms). */
export const POLL_MS = 5_000;

/** The delay before the n-th retry (n = 1 for the first retry). */
export function backoffDelay(n: number): number {
  if (n <= 0) return 0;
  return BACKOFF_MS[Math.min(n, BACKOFF_MS.length) - 1]!;
}

/** Why a run or an attempt ended (record.ts's reasons). */
export type EndReason = ReasonKind;

/** One attempt as the decision needs it (times in ms since the epoch). */
export interface AttemptView {
  started_at: number;
  ended_at: number | null;
  /** Whether the attempt's instance ever ran (sshd answered / the container ran). */
  ran: boolean;
  /** The retry event that ended it (null: ended for another reason, or not ended). */
  event: RetryEvent | null;
}

/** What of the record the decision reads. */
export interface ReconcileView {
  status: RunStatus;
  run_type: "dev-environment" | "task" | "service";
  /** When the run was submitted (ms). */
  submitted_at: number;
  /** The current attempt's deadline (ms), from max_duration; null: none. */
  deadline: number | null;
  retry: RetrySpec;
  /** Seconds without an SSH session after which a dev environment ends; null: off. */
  inactivity_duration: number | null;
  attempts: AttemptView[];
  /** When a stop (terminating) began (ms), and how long it may take (s) before the instance is killed. */
  terminating_since: number | null;
  stop_duration: number | null;
}

/** What ended an instance, as its start script recorded it. */
export type InstanceEnd = { by: "commands"; code: number } | { by: "max_duration" | "inactivity" } | { by: "setup_failed"; message: string };

/** What the executor saw of the run's instance. */
export type Observation =
  /**
   * The instance runs. `sessions`: open SSH sessions (null: not counted); `last_activity`: when
   * one was last seen open (ms); `code` (a cloud run's container): whether the repo's code is in
   * /workflow yet (`missing`: nobody uploaded it, e.g. `up --detach` or a later attempt).
   */
  | { kind: "running"; sessions: number | null; last_activity: number | null; code?: "uploaded" | "missing" }
  /**
   * The instance stopped. `ended`: what the instance's own start script recorded — the task's
   * commands ended with `code`, or the in-instance watchdog ended it (max duration, inactivity);
   * null: it was stopped or killed from outside (an interruption).
   */
  | { kind: "exited"; ended: InstanceEnd | null; exit_code: number | null }
  /** The record says an instance exists but there is none (removed from outside). */
  | { kind: "missing" }
  /** No instance, and none is expected (between attempts, or ended). */
  | { kind: "none" }
  /** The instance cannot be placed (a pod the cluster cannot schedule): no capacity. */
  | { kind: "no_capacity"; why: string }
  /** Could not tell (the Docker engine did not answer): do nothing. */
  | { kind: "unknown"; why: string };

export type Action =
  /** Nothing to do now; call again after `requeue_ms` (null: only when something changes). */
  | { kind: "wait"; requeue_ms: number | null }
  /** The instance is up: record the attempt as running (status provisioning → running). */
  | { kind: "mark_running" }
  /** A cloud run's container waits for the repo's code: upload it to /workflow. */
  | { kind: "upload" }
  /** End the run: destroy its resources, keep the stack, the record and the history. */
  | { kind: "end"; status: "terminated" | "failed" | "done"; reason: EndReason; exit_code?: number; message: string }
  /** End the current attempt (its resources destroyed) and retry after `delay_ms`. */
  | { kind: "retry"; event: RetryEvent; reason: EndReason; exit_code?: number; delay_ms: number; message: string }
  /** Start the next attempt now (a retry was due). */
  | { kind: "provision" }
  /** An ended run whose instance is still there (an interrupted teardown): destroy it, keep the status. */
  | { kind: "cleanup" };

/** The attempts that failed in a row at the end of the list (the current retry streak). */
export function failureStreak(attempts: AttemptView[]): AttemptView[] {
  const out: AttemptView[] = [];
  for (let i = attempts.length - 1; i >= 0; i--) {
    const a = attempts[i]!;
    if (a.ended_at === null || a.event === null) break;
    out.unshift(a);
    if (a.ran) break; // an attempt that ran closes the streak before it (but counts itself)
  }
  return out;
}

/** When the retry window opened: the end of the last attempt that ran, else the submission. */
export function retryWindowStart(v: Pick<ReconcileView, "submitted_at" | "attempts">): number {
  for (let i = v.attempts.length - 1; i >= 0; i--) {
    const a = v.attempts[i]!;
    if (a.ran && a.ended_at !== null) return a.ended_at;
  }
  return v.submitted_at;
}

/** When the retry window closes (ms), or null when retrying has no limit. */
export function retryWindowEnd(v: Pick<ReconcileView, "submitted_at" | "attempts" | "retry">): number | null {
  return v.retry.duration === null ? null : retryWindowStart(v) + v.retry.duration * 1000;
}

/** Whether an event is retried by the policy at all. */
export function retries(retry: RetrySpec, event: RetryEvent): boolean {
  return retry.enabled && retry.on_events.includes(event);
}

/**
 * The delay before the next attempt once `streak` attempts failed in a row: an interruption of
 * a run that ran retries at once; otherwise the backoff schedule by the streak's length.
 */
export function retryDelay(streak: AttemptView[]): number {
  const first = streak[0];
  if (!first) return 0;
  // a run that ran and was interrupted comes back at once; failures after that back off
  if (first.event === "interruption" && first.ran) return backoffDelay(streak.length - 1);
  return backoffDelay(streak.length);
}

const reasonOf: Record<RetryEvent, EndReason> = { "no-capacity": "no_capacity", interruption: "interrupted", error: "exited" };

function eventText(event: RetryEvent, code?: number): string {
  if (event === "error") return `exited with code ${code ?? "?"}`;
  return event === "no-capacity" ? "no capacity" : "interrupted";
}

const ACTIVE: RunStatus[] = ["submitted", "provisioning", "running", "terminating"];

/**
 * A failure of the current attempt: retry when the policy covers the event and the window is
 * open, else end the run failed — with the event's own reason when retry does not cover it, or
 * retry_limit_exceeded when the window has closed.
 */
export function onFailure(v: ReconcileView, event: RetryEvent, now: number, code?: number, as?: { reason: EndReason; message: string }): Action {
  const what = as?.message ?? eventText(event, code);
  const reason = as?.reason ?? reasonOf[event];
  const exit = code !== undefined ? { exit_code: code } : {};
  if (!retries(v.retry, event)) return { kind: "end", status: "failed", reason, ...exit, message: what };
  const end = retryWindowEnd(v);
  if (end !== null && now >= end) {
    return { kind: "end", status: "failed", reason: "retry_limit_exceeded", ...exit, message: `${what}; retried for ${v.retry.duration}s without success` };
  }
  // the attempt that just failed joins the streak
  const current: AttemptView = { started_at: now, ended_at: now, ran: v.status === "running", event };
  const streak = [...failureStreak(v.attempts.filter((a) => a.ended_at !== null)), current];
  return { kind: "retry", event, reason, ...exit, delay_ms: retryDelay(streak), message: what };
}

/** When the next attempt of a run waiting between attempts is due (ms). */
export function nextAttemptAt(v: ReconcileView): number {
  const ended = v.attempts.filter((a) => a.ended_at !== null);
  const last = ended[ended.length - 1];
  if (!last) return v.submitted_at;
  return last.ended_at! + retryDelay(failureStreak(ended));
}

/** The smallest positive of the candidates (ms), or null. */
function soonest(...ms: (number | null)[]): number | null {
  const xs = ms.filter((x): x is number => x !== null).map((x) => Math.max(0, x));
  return xs.length ? Math.min(...xs) : null;
}

/**
 * The one step for a run. `busy`: another live process (an attached `dstack up`, a `stop`)
 * holds the run's lock; then only an expired deadline is acted on by the caller that holds it,
 * and this returns `wait`.
 */
export function decide(v: ReconcileView, obs: Observation, now: number, busy = false): Action {
  if (obs.kind === "unknown") return { kind: "wait", requeue_ms: POLL_MS };

  if (!ACTIVE.includes(v.status)) {
    const present = obs.kind === "running" || obs.kind === "exited" || obs.kind === "no_capacity";
    return present ? { kind: "cleanup" } : { kind: "wait", requeue_ms: null };
  }
  if (busy) return { kind: "wait", requeue_ms: POLL_MS };

  // max_duration: whatever the instance is doing, the run ends at its deadline.
  const expired = v.deadline !== null && now >= v.deadline;
  if (v.status === "terminating") {
    if (obs.kind === "running" && !expired) {
      // a stop in progress whose process went away: finish it once the grace period is over
      const grace = (v.stop_duration ?? 0) * 1000;
      const since = v.terminating_since ?? now;
      if (now < since + grace) return { kind: "wait", requeue_ms: since + grace - now };
    }
    return { kind: "end", status: "terminated", reason: expired ? "max_duration_exceeded" : "stopped_by_user", message: expired ? "max duration exceeded" : "stopped" };
  }
  if (expired || (obs.kind === "exited" && obs.ended?.by === "max_duration")) {
    return { kind: "end", status: "terminated", reason: "max_duration_exceeded", message: "max duration exceeded" };
  }

  const current = v.attempts.length ? v.attempts[v.attempts.length - 1]! : null;
  const between = current === null || current.ended_at !== null;

  // Between attempts: a retry is pending (or the first attempt was never started).
  if (between && (v.status === "submitted" || v.status === "provisioning")) {
    const end = retryWindowEnd(v);
    if (current !== null && end !== null && now >= end) {
      return { kind: "end", status: "failed", reason: "retry_limit_exceeded", message: `retried for ${v.retry.duration}s without success` };
    }
    const due = nextAttemptAt(v);
    if (now >= due) return { kind: "provision" };
    return { kind: "wait", requeue_ms: soonest(due - now, end !== null ? end - now : null, v.deadline !== null ? v.deadline - now : null) };
  }

  switch (obs.kind) {
    case "running": {
      // the container waits for the code (nobody uploaded it: `up --detach`, a later attempt)
      if (obs.code === "missing") return { kind: "upload" };
      if (v.status !== "running") return { kind: "mark_running" };
      if (v.run_type === "dev-environment" && v.inactivity_duration !== null && obs.sessions === 0) {
        const since = Math.max(obs.last_activity ?? 0, current?.started_at ?? v.submitted_at);
        const idleUntil = since + v.inactivity_duration * 1000;
        if (now >= idleUntil) return { kind: "end", status: "terminated", reason: "inactivity", message: `no SSH session for ${v.inactivity_duration}s` };
        return { kind: "wait", requeue_ms: soonest(Math.min(POLL_MS, idleUntil - now), v.deadline !== null ? v.deadline - now : null) };
      }
      const timed = v.inactivity_duration !== null && v.run_type === "dev-environment";
      return { kind: "wait", requeue_ms: soonest(timed ? POLL_MS : null, v.deadline !== null ? v.deadline - now : null) };
    }
    case "exited": {
      const ended = obs.ended;
      if (ended?.by === "inactivity") return { kind: "end", status: "terminated", reason: "inactivity", message: `no SSH session for ${v.inactivity_duration ?? "?"}s` };
      if (ended?.by === "setup_failed") return onFailure(v, "error", now, undefined, { reason: "setup_failed", message: ended.message });
      if (ended?.by === "commands") {
        if (ended.code === 0) return { kind: "end", status: "done", reason: "exited", exit_code: 0, message: "exited with code 0" };
        return onFailure(v, "error", now, ended.code);
      }
      return onFailure(v, "interruption", now);
    }
    case "no_capacity":
      return onFailure(v, "no-capacity", now, undefined, { reason: "no_capacity", message: `no capacity: ${obs.why}` });
    case "missing":
    case "none":
      // an instance the record expects is gone: removed from outside (or a provisioning that died)
      return onFailure(v, "interruption", now);
  }
}
