import { plan } from "../../src/compiler/plan";
import { DEFAULT_RESOURCES, type DevEnvironmentRunSpec } from "../../src/config/runspec";
import type { Offer } from "../../src/offers/offer";
import { formatPrice, offerResources } from "../../src/offers/format";
import {
  endAttempt,
  endRecord,
  endStatus,
  formatAge,
  formatDuration,
  metaFromOutputs,
  planHash,
  recordForUp,
  recordFromOutputs,
  recordTags,
  renderAttempts,
  renderReason,
  RUN_META_OUTPUT,
  runMeta,
  runView,
  startAttempt,
  statusFromTags,
  storedSpec,
  withSecrets,
} from "../../src/runs/record";

const offer: Offer = {
  backend: "local", region: "local", zone: null, instance_type: "local", price: 0, spot: false,
  cpu: 4, cpu_arch: "x86", memory: 16, disk: 100, gpu_count: 0, gpu_name: null, gpu_memory: null, gpu_vendor: null, flags: [], provider_data: {},
};
const spec: DevEnvironmentRunSpec = {
  type: "dev-environment", ide: "vscode", version: null, inactivity_duration: null,
  configuration_path: "/p/.dstack.yml", repo_dir: "/p", repo_id: "abc", name: "fast-moth-1", name_generated: false, python_defaulted: false,
  image: null, python: null, nvcc: false, registry_auth: null, working_dir: "/workflow", shell: null, user: null, privileged: false,
  entrypoint: null, docker: null, env: { A: "1" }, secret_env: [], ports: [], volumes: [], resources: DEFAULT_RESOURCES,
  build: [], setup: [], init: [], spot_policy: "auto", retry: { enabled: false, on_events: [], duration: null }, max_duration: 7200,
  max_price: null, max_cost: null, backends: null, regions: null, availability_zones: null, instance_types: null, idle_duration: null, stop_duration: null,
  creation_policy: null, fleets: null, tags: {}, reservation: null, priority: null, utilization_policy: null, schedule: null,
  build_missing: false, force_build: false, profile: { name: null, path: null, sources: {} }, unsupported: [],
};
const ctx = { sshPublicKey: "ssh-ed25519 AAAA k", owner: "me", now: Date.parse("2026-01-01T00:00:00Z"), baseImage: "dstack-base:1" };

test("the plan hash is stable for the same inputs and moves with any change, including time", () => {
  const a = plan(spec, offer, ctx);
  expect(planHash(a)).toBe(planHash(plan(spec, offer, { ...ctx })));
  expect(planHash(a)).not.toBe(planHash(plan({ ...spec, env: { A: "2" } }, offer, ctx)));
  expect(planHash(a)).not.toBe(planHash(plan(spec, offer, { ...ctx, now: ctx.now + 1 })));
  // the local machine's free disk drifts by itself: not a change of the run
  expect(planHash(plan(spec, { ...offer, disk: 71.6 }, ctx))).toBe(planHash(plan(spec, { ...offer, disk: 70.2 }, ctx)));
  expect(planHash(plan(spec, { ...offer, backend: "aws", disk: 100 }, ctx))).not.toBe(planHash(plan(spec, { ...offer, backend: "aws", disk: 200 }, ctx)));
});

test("the record round-trips through outputs into the ps view", () => {
  const p = plan(spec, offer, ctx);
  const meta = runMeta(p, spec.configuration_path);
  expect(meta).toMatchObject({ name: "fast-moth-1", backend: "local", created_at: "2026-01-01T00:00:00.000Z", expires_at: "2026-01-01T02:00:00.000Z", resources: "4xCPU, 16GB, 100GB (disk)", owner: "me", status: "provisioning" });
  const outputs = { ssh_host: "127.0.0.1", ssh_port: 4000, ssh_user: "root", instance_id: "c0ffee", backend: "local", [RUN_META_OUTPUT]: meta };
  expect(metaFromOutputs(outputs)).toEqual(meta);
  const now = Date.parse("2026-01-01T00:00:30Z");
  expect(runView("fast-moth-1", meta, outputs, "running", now)).toEqual({
    name: "fast-moth-1", backend: "local", status: "provisioning", termination_reason: null, reason: null, exit_code: null, price: 0, resources: "4xCPU, 16GB, 100GB (disk)", owner: "me",
    created_at: "2026-01-01T00:00:00.000Z", submitted_at: "2026-01-01T00:00:00.000Z", ended_at: null, expires_at: "2026-01-01T02:00:00.000Z", duration_s: null, attempts: 1, ssh_host: "127.0.0.1", ssh_port: 4000, ssh_user: "root", ide_url: "vscode://vscode-remote/ssh-remote+fast-moth-1/workflow", projected_cost: 0, instance: "running",
  });
  expect(runView("x", null, null, "missing", now)).toMatchObject({ status: "failed", backend: "unknown", price: null, attempts: 0 });
});

test("a version-1 record (before statuses) is upgraded: running with an instance, failed without", () => {
  const v1 = { name: "old", backend: "local", created_at: "2026-01-01T00:00:00.000Z", price: 0, resources: "2xCPU", plan_hash: "h" };
  expect(recordFromOutputs({ instance_id: "c", [RUN_META_OUTPUT]: v1 })).toMatchObject({ version: 2, status: "running", attempts: [], submitted_at: v1.created_at, retry: { enabled: false } });
  expect(recordFromOutputs({ [RUN_META_OUTPUT]: v1 })).toMatchObject({ status: "failed", reason: { kind: "error" } });
  expect(recordFromOutputs({ [RUN_META_OUTPUT]: { name: 3 } })).toBeNull();
});

test("attempts: a new run and an ended one start an attempt, an update in place keeps it", () => {
  const p = plan(spec, offer, ctx);
  const first = recordForUp(p, spec.configuration_path, spec, null, "2026-01-01T00:00:00.000Z");
  expect(first.attempts).toEqual([{ n: 1, offer: { backend: "local", region: "local", instance_type: "local", price: 0, spot: false }, started_at: "2026-01-01T00:00:00.000Z", ended_at: null, reason: null, exit_code: null, message: null }]);
  expect(first).toMatchObject({ max_duration: 7200, inactivity_duration: null, stop_duration: null, retry: { enabled: false }, ports: [] });
  const updated = recordForUp(p, spec.configuration_path, spec, { ...first, status: "running" }, "2026-01-01T00:01:00.000Z");
  expect(updated.attempts).toHaveLength(1);
  const ended = endRecord(first, { kind: "exited", exit_code: 3 }, "2026-01-01T00:00:07.000Z");
  expect(ended).toMatchObject({ status: "failed", reason: { kind: "exited", exit_code: 3 }, ended_at: "2026-01-01T00:00:07.000Z" });
  expect(ended.attempts[0]).toMatchObject({ ended_at: "2026-01-01T00:00:07.000Z", exit_code: 3, reason: { kind: "exited", exit_code: 3 } });
  const again = recordForUp(plan(spec, offer, { ...ctx, now: ctx.now + 60_000 }), spec.configuration_path, spec, ended, "2026-01-01T00:01:00.000Z");
  expect(again.attempts.map((a) => a.n)).toEqual([1, 2]);
  expect(again).toMatchObject({ status: "provisioning", reason: null, submitted_at: "2026-01-01T00:00:00.000Z", created_at: "2026-01-01T00:01:00.000Z", expires_at: "2026-01-01T02:01:00.000Z" });
  // a retry on another offer (the reconciler's steps)
  const retried = startAttempt(endAttempt(again, { kind: "interrupted" }, "2026-01-01T00:02:00.000Z"), { backend: "aws", region: "us-east-1", instance_type: "g5.xlarge", price: 1.2, spot: true }, "2026-01-01T00:02:01.000Z");
  expect(retried.attempts.map((a) => [a.n, a.reason?.kind ?? null])).toEqual([[1, "exited"], [2, "interrupted"], [3, null]]);
  expect(retried).toMatchObject({ backend: "aws", spot: true, status: "provisioning" });
  expect(renderAttempts(retried)[1]).toBe("#2 local/local local 00:01:00–00:02:00 interrupted");
});

test("reasons render for people and map to end statuses", () => {
  expect(renderReason({ kind: "exited", exit_code: 3 })).toBe("exited with code 3");
  expect(renderReason({ kind: "max_duration_exceeded" })).toBe("max duration exceeded");
  expect(renderReason({ kind: "stopped_by_user" })).toBe("stopped by user");
  expect(renderReason({ kind: "setup_failed", message: "init failed (exit 3)" })).toBe("setup failed: init failed (exit 3)");
  expect(renderReason(null)).toBe("-");
  expect(endStatus({ kind: "exited", exit_code: 0 })).toBe("done");
  expect(endStatus({ kind: "exited", exit_code: 3 })).toBe("failed");
  expect(endStatus({ kind: "max_duration_exceeded" })).toBe("terminated");
  expect(endStatus({ kind: "aborted_by_user" })).toBe("terminated");
  expect(endStatus({ kind: "retry_limit_exceeded" })).toBe("failed");
  expect(endStatus({ kind: "interrupted" })).toBe("failed");
});

test("tags carry the later status; older tags lose to a newer record", () => {
  const r = endRecord(runMeta(plan(spec, offer, ctx), null), { kind: "exited", exit_code: 3, message: "x" }, "2026-01-01T00:00:07.000Z");
  const tags = recordTags(r);
  expect(tags).toMatchObject({ "dstack:status": "failed", "dstack:reason": "exited", "dstack:exit-code": "3", "dstack:owner": "me", "dstack:backend": "local", "dstack:expires-at": "2026-01-01T02:00:00.000Z" });
  expect(statusFromTags(tags, r.updated_at)).toEqual({ status: "failed", reason: { kind: "exited", exit_code: 3, message: "x" }, updated_at: r.updated_at });
  expect(statusFromTags(tags, "2026-01-01T00:00:08.000Z")).toBeNull();
  const running = runMeta(plan(spec, offer, ctx), null);
  const merged = recordFromOutputs({ instance_id: "c", [RUN_META_OUTPUT]: running }, { ...recordTags({ ...running, status: "running" }), "dstack:updated-at": "2026-01-01T00:00:05.000Z" });
  expect(merged).toMatchObject({ status: "running", reason: null, ended_at: null, updated_at: "2026-01-01T00:00:05.000Z" });
});

test("the stored spec keeps no secret value; withSecrets puts them back", () => {
  const secretSpec = { ...spec, env: { A: "1", TOKEN: "s3cr3t" }, secret_env: ["TOKEN"], registry_auth: { username: "u", password: "pw" } };
  const { spec: kept, secrets } = storedSpec(secretSpec);
  expect(JSON.stringify(kept)).not.toContain("s3cr3t");
  expect(JSON.stringify(kept)).not.toContain("pw");
  expect(secrets).toEqual({ env: { TOKEN: "s3cr3t" }, registry_password: "pw" });
  expect(withSecrets(kept, secrets)).toEqual(secretSpec);
});

test("formatting", () => {
  expect(offerResources({ cpu: 8, memory: 61, disk: null, gpu_count: 1, gpu_name: "A100", gpu_memory: 80 })).toBe("8xCPU, 61GB, 1xA100 (80GB)");
  expect(formatAge("2026-01-01T00:00:00Z", Date.parse("2026-01-01T00:02:05Z"))).toBe("2m");
  expect(formatAge(null, 0)).toBe("-");
  expect(formatPrice(0)).toBe("$0.0");
  expect(formatPrice(1.2345)).toBe("$1.234");
  expect(formatPrice(0.0123)).toBe("$0.0123");
  expect(formatDuration(5400)).toBe("1h30m");
  expect(formatDuration(null)).toBe("off");
  expect(formatDuration(30)).toBe("30s");
});
