/**
 * The volume programs (src/compiler/backends/volume-*.ts) under the mock engine: each backend's
 * volume is its own stack's resource (created, or read by `volume_id` and never deleted), in
 * the zone asked for or one that offers the run's instance type, tagged as a volume.
 */
import type { VolumeSpec } from "../../src/config/runspec";
import type { BackendProgram } from "../../src/compiler/backends/index";
import { planVolume, type VolumePlan } from "../../src/compiler/backends/volume";
import { volumeProgramFor } from "../../src/compiler/backends/volume-programs";
import { runUnderMocks, type ResourceGraph } from "../../src/compiler/mock-engine";
import type { Plan } from "../../src/compiler/plan";
import { OFFERS } from "./fixtures";

const NOW = Date.parse("2026-12-01T09:00:00.000Z");

function spec(o: Partial<VolumeSpec> = {}): VolumeSpec {
  return { type: "volume", configuration_path: "/work/repo/data.dstack.yml", name: "data", backend: "aws", region: null, availability_zone: null, size: 200, volume_id: null, ...o };
}

/** Runs a volume program under the mock engine (the mock context is the region's). */
async function volumeGraph(plan: VolumePlan, settings: Record<string, unknown> = {}): Promise<ResourceGraph> {
  const program = await volumeProgramFor(plan.backend);
  const offer = { ...(plan.backend === "gcp" ? OFFERS.gcp : plan.backend === "azure" ? OFFERS.azure : OFFERS.aws), backend: plan.backend, region: plan.region, zone: plan.zone };
  const asRun = { project: plan.project, run_name: `volume.${plan.name}`, backend: plan.backend, offer } as unknown as Plan;
  const run: BackendProgram = async () => ({ ...(await program(plan, { settings })), ssh_host: "", ssh_port: 0, ssh_user: "", instance_id: "", backend: plan.backend, region: plan.region });
  return runUnderMocks(run, asRun, { settings });
}

test("planVolume: pure, tagged as a volume, the size rounded up (default 100 GB)", () => {
  const p = planVolume(spec({ size: 1.5 }), { owner: "alice", now: NOW, project: "main", region: "us-east-1" });
  expect(p).toEqual(expect.objectContaining({ name: "data", backend: "aws", region: "us-east-1", zone: null, size: 2, volume_id: null, project: "main" }));
  expect(p.tags).toEqual({ "dstack:volume": "data", "dstack:kind": "volume", "dstack:project": "main", "dstack:owner": "alice", "dstack:created-at": "2026-12-01T09:00:00.000Z" });
  expect(planVolume(spec({ size: null, volume_id: "vol-1" }), { owner: "a", now: NOW, project: "main", region: "r" }).size).toBe(100);
  expect(planVolume(spec(), { owner: "alice", now: NOW, project: "main", region: "us-east-1" })).toEqual(planVolume(spec(), { owner: "alice", now: NOW, project: "main", region: "us-east-1" }));
  expect(planVolume(spec(), { owner: "alice", now: NOW, region: "us-east-1" }).project).toBe("dstack");
});

describe("aws", () => {
  test("a new EBS gp3 volume, not retained (it is its own stack), in a zone offering the run's instance type, tagged", async () => {
    const g = await volumeGraph(planVolume(spec(), { owner: "alice", now: NOW, project: "main", region: "us-east-1", instance_type: "g5.xlarge" }));
    const vols = g.resources.filter((r) => r.type === "aws:ebs/volume:Volume");
    expect(vols).toHaveLength(1);
    expect(vols[0].options).toBeUndefined();
    expect(vols[0].inputs).toEqual(expect.objectContaining({ availabilityZone: "us-east-1a", size: 200, type: "gp3" }));
    expect(vols[0].inputs.tags).toEqual(expect.objectContaining({ Name: "dstack-main-data", "dstack:volume": "data", "dstack:kind": "volume", "dstack:owner": "alice" }));
    expect(g.lookups.map((l) => l.token)).toEqual(["aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings"]);
    expect(g.outputs).toEqual(expect.objectContaining({ kind: "volume", name: "data", backend: "aws", region: "us-east-1", zone: "us-east-1a", volume_id: expect.stringMatching(/^vol-0/), size: 200, external: false }));
  });

  test("the zone asked for; without one and without a run, the region's first standard zone", async () => {
    const z = await volumeGraph(planVolume(spec({ availability_zone: "us-east-1c" }), { owner: "a", now: NOW, project: "main", region: "us-east-1" }));
    expect(z.resources.find((r) => r.type === "aws:ebs/volume:Volume")?.inputs.availabilityZone).toBe("us-east-1c");
    expect(z.lookups).toEqual([]);
    const first = await volumeGraph(planVolume(spec(), { owner: "a", now: NOW, project: "main", region: "us-east-1" }));
    expect(first.resources.find((r) => r.type === "aws:ebs/volume:Volume")?.inputs.availabilityZone).toBe("us-east-1a");
    expect(first.lookups.map((l) => l.token)).toEqual(["aws:index/getAvailabilityZones:getAvailabilityZones"]);
  });

  test("volume_id registers the existing volume: read by id, never created (so never deleted)", async () => {
    const g = await volumeGraph(planVolume(spec({ volume_id: "vol-0123456789abcdef0" }), { owner: "a", now: NOW, project: "main", region: "us-east-1" }));
    const vols = g.resources.filter((r) => r.type === "aws:ebs/volume:Volume");
    expect(vols.map((v) => v.options)).toEqual([{ read_id: "vol-0123456789abcdef0" }]);
    expect(g.outputs).toEqual(expect.objectContaining({ volume_id: "vol-0123456789abcdef0", external: true }));
  });
});

test("gcp: a persistent disk in the zone (hyperdisk-balanced for a Hyperdisk-only series), labelled", async () => {
  const g = await volumeGraph(planVolume(spec({ backend: "gcp", availability_zone: "us-central1-b" }), { owner: "alice", now: NOW, project: "main", region: "us-central1" }));
  const disk = g.resources.find((r) => r.type === "gcp:compute/disk:Disk");
  expect(disk?.inputs).toEqual(expect.objectContaining({ name: "dstack-main-data", zone: "us-central1-b", size: 200, type: "pd-balanced" }));
  expect(disk?.inputs.labels).toEqual(expect.objectContaining({ dstack_volume: "data", dstack_kind: "volume" }));
  expect(disk?.options).toBeUndefined();
  const hd = await volumeGraph(planVolume(spec({ backend: "gcp" }), { owner: "alice", now: NOW, project: "main", region: "us-central1", instance_type: "c4-standard-8" }));
  expect(hd.resources.find((r) => r.type === "gcp:compute/disk:Disk")?.inputs).toEqual(expect.objectContaining({ zone: "us-central1-a", type: "hyperdisk-balanced" }));
});

test("azure: a managed disk in the project's resource group of the region; volume_id is read", async () => {
  const g = await volumeGraph(planVolume(spec({ backend: "azure" }), { owner: "alice", now: NOW, project: "main", region: "eastus" }));
  const disk = g.resources.find((r) => r.type === "azure-native:compute:Disk");
  expect(disk?.inputs).toEqual(expect.objectContaining({ diskName: "dstack-main-data", location: "eastus", diskSizeGB: 200, resourceGroupName: "dstack-main-eastus" }));
  const id = "/subscriptions/0/resourceGroups/x/providers/Microsoft.Compute/disks/data";
  const read = await volumeGraph(planVolume(spec({ backend: "azure", volume_id: id }), { owner: "alice", now: NOW, project: "main", region: "eastus" }));
  expect(read.resources.filter((r) => r.type === "azure-native:compute:Disk").map((r) => r.options)).toEqual([{ read_id: id }]);
});

test("local: a labelled Docker volume deleted with its stack; volume_id adopts one and keeps it", async () => {
  const g = await volumeGraph(planVolume(spec({ backend: "local", size: null }), { owner: "alice", now: NOW, project: "main", region: "local" }));
  const v = g.resources.find((r) => r.type === "dstack:index:LocalVolume");
  expect(v?.inputs).toEqual(expect.objectContaining({ name: "data", retain: false, labels: expect.objectContaining({ "dstack.volume": "data", "dstack.kind": "volume", "dstack.owner": "alice" }) }));
  expect(v?.options).toBeUndefined();
  const adopt = await volumeGraph(planVolume(spec({ backend: "local", size: null, volume_id: "my-old-volume" }), { owner: "alice", now: NOW, project: "main", region: "local" }));
  const a = adopt.resources.find((r) => r.type === "dstack:index:LocalVolume");
  expect(a?.inputs).toEqual(expect.objectContaining({ name: "my-old-volume", retain: true }));
  expect(a?.options).toEqual({ retain_on_delete: true });
});
