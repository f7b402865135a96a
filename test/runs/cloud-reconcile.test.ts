/**
 * The reconciler's cloud part (src/runs/cloud-reconcile.ts, reconcile-decision.ts): a cloud run's
 * container waiting for its code gets it uploaded (`up --detach`, later attempts); a VM that does
 * not answer yet while it boots is not taken for gone; every cloud run is the agent's to watch.
 */
import { bootingGrace } from "../../src/runs/cloud-reconcile";
import { isManaged } from "../../src/runs/managed";
import { decide, type Observation, type ReconcileView } from "../../src/runs/reconcile-decision";
import type { RunRecord } from "../../src/runs/record";

const T0 = Date.parse("2026-12-02T10:00:00Z");
const view = (o: Partial<ReconcileView> = {}): ReconcileView => ({
  status: "running",
  run_type: "task",
  submitted_at: T0,
  deadline: null,
  retry: { enabled: false, on_events: [], duration: null },
  inactivity_duration: null,
  attempts: [{ started_at: T0, ended_at: null, ran: false, event: null }],
  terminating_since: null,
  stop_duration: 10,
  ...o,
});

test("a running container without its code: upload it (before marking the run running)", () => {
  const waiting: Observation = { kind: "running", sessions: null, last_activity: null, code: "missing" };
  expect(decide(view({ status: "provisioning" }), waiting, T0 + 1000)).toEqual({ kind: "upload" });
  expect(decide(view(), waiting, T0 + 1000)).toEqual({ kind: "upload" });
  const uploaded: Observation = { kind: "running", sessions: null, last_activity: null, code: "uploaded" };
  expect(decide(view({ status: "provisioning" }), uploaded, T0 + 1000)).toEqual({ kind: "mark_running" });
  // another command (an attached `up` uploading itself) holds the run: wait
  expect(decide(view(), waiting, T0 + 1000, true).kind).toBe("wait");
});

describe("a cloud VM that does not answer yet", () => {
  const record = (o: Partial<RunRecord> = {}) => ({ backend: "aws", status: "provisioning", attempts: [{ n: 1, started_at: new Date(T0).toISOString(), ended_at: null }], ...o }) as unknown as RunRecord;
  const env = {};
  test("is booting while its attempt is younger than the provisioning timeout (15 min on AWS) and the run still provisioning", () => {
    expect(bootingGrace(record(), { kind: "missing" }, T0 + 60_000, env)).toEqual({ kind: "unknown", why: "the instance is booting (its sshd does not answer yet)" });
    expect(bootingGrace(record(), { kind: "missing" }, T0 + 16 * 60_000, env)).toEqual({ kind: "missing" });
    expect(bootingGrace(record(), { kind: "missing" }, T0 + 60_000, { DSTACK_PROVISIONING_TIMEOUT: "30" })).toEqual({ kind: "missing" });
  });
  test("is gone once the run was running (a spot reclaim, its own max_duration shutdown), and on local", () => {
    expect(bootingGrace(record({ status: "running" }), { kind: "missing" }, T0 + 60_000, env)).toEqual({ kind: "missing" });
    expect(bootingGrace(record({ backend: "local" }), { kind: "missing" }, T0 + 60_000, env)).toEqual({ kind: "missing" });
    expect(bootingGrace(record(), { kind: "none" }, T0 + 60_000, env)).toEqual({ kind: "none" });
  });
});

test("every active cloud run is the agent's (its end destroys its stack; its code may wait for an upload)", () => {
  const base = { status: "running", expires_at: null, retry: { enabled: false, on_events: [], duration: null }, run_type: "task", inactivity_duration: null } as unknown as RunRecord;
  expect(isManaged({ ...base, backend: "aws" })).toBe(true);
  expect(isManaged({ ...base, backend: "local" })).toBe(false);
  expect(isManaged({ ...base, backend: "gcp", status: "done" })).toBe(false);
});
