/**
 * The reconcile step's pure decision, case by case: (record, observation, clock) → action.
 */
import {
  backoffDelay,
  BACKOFF_MS,
  decide,
  failureStreak,
  nextAttemptAt,
  POLL_MS,
  retryWindowEnd,
  type AttemptView,
  type Observation,
  type ReconcileView,
} from "../../src/runs/reconcile-decision";

const T0 = Date.parse("2026-12-02T10:00:00Z");
const s = (n: number) => n * 1000;

const RETRY_OFF = { enabled: false, on_events: [], duration: null };
const RETRY_ALL = { enabled: true, on_events: ["no-capacity", "interruption", "error"] as const, duration: 600 };

function view(o: Partial<ReconcileView> = {}): ReconcileView {
  return {
    status: "running",
    run_type: "dev-environment",
    submitted_at: T0,
    deadline: null,
    retry: RETRY_OFF,
    inactivity_duration: null,
    attempts: [{ started_at: T0, ended_at: null, ran: true, event: null }],
    terminating_since: null,
    stop_duration: 10,
    ...o,
    // the readonly tuple above is a RetryEvent[]
  } as ReconcileView;
}

const running: Observation = { kind: "running", sessions: null, last_activity: null };
const idle: Observation = { kind: "running", sessions: 0, last_activity: null };
const killed: Observation = { kind: "exited", ended: null, exit_code: 137 };
const exitedWith = (code: number): Observation => ({ kind: "exited", ended: { by: "commands", code }, exit_code: code });

describe("backoff schedule", () => {
  test("15 s, 30 s, 1 m, 2 m, 5 m, 10 m, then 10 m", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(backoffDelay)).toEqual([15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 600_000, 600_000]);
    expect(backoffDelay(0)).toBe(0);
    expect(BACKOFF_MS).toHaveLength(6);
  });
});

describe("max_duration", () => {
  test("a running run past its deadline ends (terminated, max duration exceeded), whatever its instance does", () => {
    for (const obs of [running, idle, killed, { kind: "missing" } as Observation]) {
      expect(decide(view({ deadline: T0 + s(20) }), obs, T0 + s(21))).toMatchObject({ kind: "end", status: "terminated", reason: "max_duration_exceeded" });
    }
  });
  test("before the deadline, the run is looked at again at the deadline", () => {
    expect(decide(view({ deadline: T0 + s(20) }), running, T0 + s(5))).toEqual({ kind: "wait", requeue_ms: s(15) });
  });
  test("the in-instance watchdog ended it: same reason, even before the record's deadline (clock skew)", () => {
    const obs: Observation = { kind: "exited", ended: { by: "max_duration" }, exit_code: 143 };
    expect(decide(view({ deadline: T0 + s(20) }), obs, T0 + s(19))).toMatchObject({ kind: "end", reason: "max_duration_exceeded" });
  });
  test("a pending retry past the deadline of its run ends too", () => {
    const v = view({ status: "submitted", deadline: T0 + s(20), retry: { ...RETRY_ALL, on_events: [...RETRY_ALL.on_events] }, attempts: [{ started_at: T0, ended_at: T0 + s(1), ran: false, event: "no-capacity" }] });
    expect(decide(v, { kind: "none" }, T0 + s(21))).toMatchObject({ kind: "end", reason: "max_duration_exceeded" });
  });
});

describe("tasks", () => {
  const task = (o: Partial<ReconcileView> = {}) => view({ run_type: "task", ...o });
  test("exit 0: done", () => {
    expect(decide(task(), exitedWith(0), T0 + s(5))).toMatchObject({ kind: "end", status: "done", reason: "exited", exit_code: 0 });
  });
  test("exit 3 without retry on error: failed (exited with code 3)", () => {
    expect(decide(task(), exitedWith(3), T0 + s(5))).toEqual({ kind: "end", status: "failed", reason: "exited", exit_code: 3, message: "exited with code 3" });
  });
  test("exit 3 with retry on error: retry after the first backoff step", () => {
    const v = task({ retry: { enabled: true, on_events: ["error"], duration: 600 } });
    expect(decide(v, exitedWith(3), T0 + s(5))).toMatchObject({ kind: "retry", event: "error", exit_code: 3, delay_ms: 15_000 });
  });
  test("the start script failed (setup): an error, reason setup_failed", () => {
    const obs: Observation = { kind: "exited", ended: { by: "setup_failed", message: "setup failed (exit 1)" }, exit_code: 98 };
    expect(decide(task(), obs, T0 + s(5))).toEqual({ kind: "end", status: "failed", reason: "setup_failed", message: "setup failed (exit 1)" });
    expect(decide(task({ retry: { enabled: true, on_events: ["error"], duration: 600 } }), obs, T0 + s(5))).toMatchObject({ kind: "retry", reason: "setup_failed", delay_ms: 15_000 });
  });
  test("a task that exited before it was marked running is still judged by its exit", () => {
    expect(decide(task({ status: "provisioning", attempts: [{ started_at: T0, ended_at: null, ran: false, event: null }] }), exitedWith(0), T0 + s(2))).toMatchObject({ kind: "end", status: "done" });
  });
});

describe("interruption", () => {
  const retryInterruption = { enabled: true, on_events: ["interruption" as const], duration: 600 };
  test("killed from outside without retry: failed (interrupted)", () => {
    expect(decide(view(), killed, T0 + s(5))).toMatchObject({ kind: "end", status: "failed", reason: "interrupted" });
    expect(decide(view(), { kind: "missing" }, T0 + s(5))).toMatchObject({ kind: "end", status: "failed", reason: "interrupted" });
  });
  test("with retry on interruption: the first retry is immediate, the next ones back off", () => {
    expect(decide(view({ retry: retryInterruption }), killed, T0 + s(5))).toMatchObject({ kind: "retry", event: "interruption", delay_ms: 0 });
    const after: AttemptView[] = [
      { started_at: T0, ended_at: T0 + s(5), ran: true, event: "interruption" },
      { started_at: T0 + s(5), ended_at: T0 + s(6), ran: false, event: "interruption" },
      { started_at: T0 + s(6), ended_at: null, ran: false, event: null },
    ];
    expect(decide(view({ retry: retryInterruption, status: "provisioning", attempts: after }), { kind: "missing" }, T0 + s(8))).toMatchObject({ kind: "retry", delay_ms: 30_000 });
  });
  test("the window is counted from the end of the last attempt that ran", () => {
    const attempts: AttemptView[] = [{ started_at: T0, ended_at: T0 + s(3600 * 5), ran: true, event: "interruption" }];
    expect(retryWindowEnd({ submitted_at: T0, attempts, retry: retryInterruption })).toBe(T0 + s(3600 * 5 + 600));
  });
  test("a run marked running by its provisioning attempt", () => {
    expect(decide(view({ status: "provisioning", attempts: [{ started_at: T0, ended_at: null, ran: false, event: null }] }), running, T0 + s(1))).toEqual({ kind: "mark_running" });
  });
});

describe("no capacity and the retry window", () => {
  const retry = { enabled: true, on_events: ["no-capacity" as const], duration: 60 };
  const failed = (n: number): AttemptView[] => Array.from({ length: n }, (_, i) => ({ started_at: T0 + s(i), ended_at: T0 + s(i) + 500, ran: false, event: "no-capacity" as const }));
  test("between attempts the next one is due after the backoff of the streak", () => {
    const v = view({ status: "submitted", retry, attempts: failed(2) });
    expect(failureStreak(v.attempts)).toHaveLength(2);
    expect(nextAttemptAt(v)).toBe(T0 + s(1) + 500 + 30_000);
    expect(decide(v, { kind: "none" }, T0 + s(10))).toMatchObject({ kind: "wait" });
    expect(decide(v, { kind: "none" }, T0 + s(32))).toEqual({ kind: "provision" });
  });
  test("the wait never runs past the end of the window, where the run fails (retry limit exceeded)", () => {
    const v = view({ status: "submitted", retry, attempts: failed(4) });
    // next due at ~T0+3.5s+120s, the window closes at T0+60s
    expect(decide(v, { kind: "none" }, T0 + s(10))).toEqual({ kind: "wait", requeue_ms: s(50) });
    expect(decide(v, { kind: "none" }, T0 + s(60))).toMatchObject({ kind: "end", status: "failed", reason: "retry_limit_exceeded" });
  });
  test("an attempt failing after the window closed fails the run", () => {
    const v = view({ status: "provisioning", retry, attempts: [...failed(3), { started_at: T0 + s(59), ended_at: null, ran: false, event: null }] });
    expect(decide(v, { kind: "missing" }, T0 + s(61))).toMatchObject({ kind: "end", status: "failed", reason: "interrupted" });
    const v2 = view({ status: "provisioning", retry: { ...retry, on_events: ["no-capacity", "interruption"] }, attempts: v.attempts });
    expect(decide(v2, { kind: "missing" }, T0 + s(61))).toMatchObject({ kind: "end", reason: "retry_limit_exceeded" });
  });
});

describe("inactivity", () => {
  const dev = (o: Partial<ReconcileView> = {}) => view({ inactivity_duration: 30, ...o });
  test("no session for inactivity_duration since the attempt started: terminated (inactivity)", () => {
    expect(decide(dev(), idle, T0 + s(29))).toMatchObject({ kind: "wait" });
    expect(decide(dev(), idle, T0 + s(30))).toMatchObject({ kind: "end", status: "terminated", reason: "inactivity" });
  });
  test("an open session keeps it alive; the clock restarts when the last one was seen", () => {
    expect(decide(dev(), { kind: "running", sessions: 1, last_activity: T0 + s(100) }, T0 + s(100))).toEqual({ kind: "wait", requeue_ms: POLL_MS });
    expect(decide(dev(), { kind: "running", sessions: 0, last_activity: T0 + s(100) }, T0 + s(120))).toMatchObject({ kind: "wait" });
    expect(decide(dev(), { kind: "running", sessions: 0, last_activity: T0 + s(100) }, T0 + s(131))).toMatchObject({ kind: "end", reason: "inactivity" });
  });
  test("sessions not counted (null): never ends for inactivity", () => {
    expect(decide(dev(), running, T0 + s(1000))).toMatchObject({ kind: "wait" });
  });
  test("the in-instance watchdog ended it", () => {
    expect(decide(dev(), { kind: "exited", ended: { by: "inactivity" }, exit_code: 143 }, T0 + s(31))).toMatchObject({ kind: "end", reason: "inactivity" });
  });
  test("tasks have no inactivity rule", () => {
    expect(decide(dev({ run_type: "task" }), idle, T0 + s(1000))).toMatchObject({ kind: "wait" });
  });
});

describe("other states", () => {
  test("Docker did not answer: wait", () => {
    expect(decide(view({ deadline: T0 }), { kind: "unknown", why: "x" }, T0 + s(100))).toEqual({ kind: "wait", requeue_ms: POLL_MS });
  });
  test("another live command holds the run: wait", () => {
    expect(decide(view({ deadline: T0 }), running, T0 + s(100), true)).toEqual({ kind: "wait", requeue_ms: POLL_MS });
  });
  test("an ended run with its instance still there is cleaned up; without, nothing to do", () => {
    expect(decide(view({ status: "terminated" }), running, T0)).toEqual({ kind: "cleanup" });
    expect(decide(view({ status: "failed" }), { kind: "none" }, T0)).toEqual({ kind: "wait", requeue_ms: null });
  });
  test("a stop left half-done by a crashed command is finished after its grace period", () => {
    const v = view({ status: "terminating", terminating_since: T0, stop_duration: 10 });
    expect(decide(v, running, T0 + s(3))).toEqual({ kind: "wait", requeue_ms: s(7) });
    expect(decide(v, running, T0 + s(11))).toMatchObject({ kind: "end", status: "terminated", reason: "stopped_by_user" });
    expect(decide(v, { kind: "none" }, T0 + s(1))).toMatchObject({ kind: "end", reason: "stopped_by_user" });
  });
  test("a run without time rules is not polled", () => {
    expect(decide(view(), running, T0 + s(5))).toEqual({ kind: "wait", requeue_ms: null });
  });
});
