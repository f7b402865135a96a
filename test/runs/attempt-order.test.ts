/**
 * The pure parts around the reconcile executor: an attempt's offers (spot policy, price order,
 * at most 25), what a record's attempts mean to the decision (events, "ran"), and which runs
 * manage themselves (the agent's runs).
 */
import { attemptOrder, describeTried } from "../../src/runs/attempt";
import { decisionView, eventOf, isManaged } from "../../src/runs/reconcile";
import { MAX_OFFERS_PER_ATTEMPT } from "../../src/runs/reconcile-decision";
import type { Attempt, RunRecord } from "../../src/runs/record";
import type { Offer } from "../../src/offers/offer";

const offer = (instance_type: string, price: number, spot = false): Offer => ({
  backend: "local", region: "local", zone: null, instance_type, price, spot, cpu: 2, cpu_arch: "x86", memory: 8, disk: 100,
  gpu_count: 0, gpu_name: null, gpu_memory: null, gpu_vendor: null, flags: [], provider_data: {},
});

describe("an attempt's offers", () => {
  const offers = [offer("od-b", 0.3), offer("spot-a", 0.1, true), offer("od-a", 0.2), offer("spot-b", 0.4, true)];
  test("spot_policy auto: spot and on-demand compete on price", () => {
    expect(attemptOrder(offers, "auto").map((o) => o.instance_type)).toEqual(["spot-a", "od-a", "od-b", "spot-b"]);
  });
  test("spot / on-demand: only those", () => {
    expect(attemptOrder(offers, "spot").map((o) => o.instance_type)).toEqual(["spot-a", "spot-b"]);
    expect(attemptOrder(offers, "on-demand").map((o) => o.instance_type)).toEqual(["od-a", "od-b"]);
  });
  test("at most 25 per attempt", () => {
    const many = Array.from({ length: 40 }, (_, i) => offer(`o${i}`, i));
    expect(attemptOrder(many, "auto")).toHaveLength(MAX_OFFERS_PER_ATTEMPT);
    expect(MAX_OFFERS_PER_ATTEMPT).toBe(25);
  });
  test("what was tried, for the record and the message", () => {
    expect(describeTried([{ offer: offer("slot-1", 0.01), why: "no capacity (DSTACK_FAULTS)" }, { offer: offer("s", 0, true), why: "no capacity: 4 CPUs asked, 2 free" }])).toBe(
      "local slot-1: no capacity (DSTACK_FAULTS); local s (spot): no capacity: 4 CPUs asked, 2 free",
    );
  });
});

function attempt(n: number, reason: Attempt["reason"], ended = true): Attempt {
  return { n, offer: { backend: "local", region: "local", instance_type: "local", price: 0, spot: false }, started_at: `2026-12-02T10:0${n}:00.000Z`, ended_at: ended ? `2026-12-02T10:0${n}:30.000Z` : null, reason, exit_code: reason?.exit_code ?? null, message: null };
}

describe("records as the decision reads them", () => {
  test("events of attempt reasons", () => {
    expect(eventOf({ kind: "no_capacity" })).toBe("no-capacity");
    expect(eventOf({ kind: "interrupted" })).toBe("interruption");
    expect(eventOf({ kind: "exited", exit_code: 3 })).toBe("error");
    expect(eventOf({ kind: "exited", exit_code: 0 })).toBeNull();
    expect(eventOf({ kind: "setup_failed" })).toBe("error");
    expect(eventOf({ kind: "stopped_by_user" })).toBeNull();
    expect(eventOf(null)).toBeNull();
  });
  const base = {
    status: "running", run_type: "dev-environment", submitted_at: "2026-12-02T10:00:00.000Z", updated_at: "2026-12-02T10:05:00.000Z", expires_at: null,
    retry: { enabled: false, on_events: [], duration: null }, inactivity_duration: null, stop_duration: 10,
    attempts: [attempt(1, { kind: "interrupted" }), attempt(2, { kind: "no_capacity" }), attempt(3, null, false)],
  } as unknown as RunRecord;
  test("decisionView: times in ms, attempts with their event and whether they ran", () => {
    const v = decisionView({ ...base, expires_at: "2026-12-02T11:00:00.000Z" });
    expect(v.deadline).toBe(Date.parse("2026-12-02T11:00:00.000Z"));
    expect(v.attempts.map((a) => [a.event, a.ran, a.ended_at !== null])).toEqual([["interruption", true, true], ["no-capacity", false, true], [null, false, false]]);
    expect(decisionView({ ...base, status: "terminating" }).terminating_since).toBe(Date.parse(base.updated_at));
  });
  test("a run manages itself with a deadline, a retry policy, an inactivity rule, or waiting for an attempt", () => {
    expect(isManaged(base)).toBe(false);
    expect(isManaged({ ...base, expires_at: "2026-12-02T11:00:00.000Z" })).toBe(true);
    expect(isManaged({ ...base, retry: { enabled: true, on_events: ["error"], duration: 60 } })).toBe(true);
    expect(isManaged({ ...base, inactivity_duration: 30 })).toBe(true);
    expect(isManaged({ ...base, run_type: "task", inactivity_duration: 30 } as RunRecord)).toBe(false);
    expect(isManaged({ ...base, status: "submitted" })).toBe(true);
    expect(isManaged({ ...base, status: "done", expires_at: "2026-12-02T11:00:00.000Z" })).toBe(false);
  });
});
