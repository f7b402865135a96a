import { plan } from "../../src/compiler/plan";
import { DEFAULT_RESOURCES, type DevEnvironmentRunSpec } from "../../src/config/runspec";
import type { Offer } from "../../src/offers/offer";
import { formatPrice, offerResources } from "../../src/offers/format";
import { formatAge, formatDuration, metaFromOutputs, planHash, RUN_META_OUTPUT, runMeta, runRecord } from "../../src/runs/record";

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
  max_price: null, backends: null, regions: null, availability_zones: null, instance_types: null, idle_duration: null, stop_duration: null,
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

test("run meta round-trips through outputs into the ps record", () => {
  const p = plan(spec, offer, ctx);
  const meta = runMeta(p, spec.configuration_path);
  expect(meta).toMatchObject({ name: "fast-moth-1", backend: "local", created_at: "2026-01-01T00:00:00.000Z", expires_at: "2026-01-01T02:00:00.000Z", resources: "4xCPU, 16GB, 100GB (disk)", owner: "me" });
  const outputs = { ssh_host: "127.0.0.1", ssh_port: 4000, ssh_user: "root", instance_id: "c0ffee", backend: "local", [RUN_META_OUTPUT]: meta };
  expect(metaFromOutputs(outputs)).toEqual(meta);
  expect(runRecord("fast-moth-1", outputs, "running")).toEqual({
    name: "fast-moth-1", backend: "local", status: "running", price: 0, resources: "4xCPU, 16GB, 100GB (disk)", created_at: "2026-01-01T00:00:00.000Z", ssh_host: "127.0.0.1",
  });
  expect(runRecord("fast-moth-1", outputs, "missing").status).toBe("failed");
  expect(runRecord("fast-moth-1", outputs, "stopped").status).toBe("stopped");
  expect(runRecord("x", null, "missing")).toMatchObject({ status: "failed", backend: "unknown", price: null });
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
