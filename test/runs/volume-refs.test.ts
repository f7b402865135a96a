/**
 * How a run meets its volumes by name (src/runs/volume-refs.ts, pure): the names it mounts,
 * its offers narrowed to where they live (E6405 when the configuration excludes that), the ids
 * its program reads, and the volumes `up` creates first on a cloud (reuse-or-create).
 */
import type { VolumeOutputs } from "../../src/compiler/backends/volume";
import { PENDING_VOLUME_ID } from "../../src/compiler/backends/cloud/volume-refs";
import { constrainToVolumes, pendingVolumes, runVolumeNames, withVolumeRefs } from "../../src/runs/volume-refs";
import { OFFERS, runSpec } from "../compiler/fixtures";

const mounts = runSpec({
  volumes: [
    { kind: "volume", name: ["data", "data-2"], path: "/data" },
    { kind: "instance", instance_path: "/mnt/cache", path: "/cache", optional: true },
    { kind: "volume", name: ["ckpt"], path: "/ckpt" },
    { kind: "volume", name: ["data"], path: "/again" },
  ],
});

function vol(o: Partial<VolumeOutputs>): VolumeOutputs {
  return { kind: "volume", name: "data", backend: "aws", region: "us-east-1", zone: "us-east-1b", volume_id: "vol-0aaa", size: 200, external: false, created_at: "2026-12-01T09:00:00.000Z", ...o };
}

test("runVolumeNames: the first of each name list, each once; instance mounts are not volumes", () => {
  expect(runVolumeNames(mounts)).toEqual(["data", "ckpt"]);
  expect(runVolumeNames(runSpec())).toEqual([]);
});

test("constrainToVolumes: the volume's backend, region and zone; nothing without volumes", () => {
  expect(constrainToVolumes(mounts, [])).toBe(mounts);
  const s = constrainToVolumes(mounts, [vol({})]);
  expect([s.backends, s.regions, s.availability_zones]).toEqual([["aws"], ["us-east-1"], ["us-east-1b"]]);
  const local = constrainToVolumes(mounts, [vol({ backend: "local", region: "local", zone: null, volume_id: "data" })]);
  expect([local.backends, local.regions, local.availability_zones]).toEqual([["local"], null, null]);
  // a configuration that allows it already keeps its own list narrowed to it
  expect(constrainToVolumes(runSpec({ ...mounts, backends: ["gcp", "aws"], regions: ["US-EAST-1", "eu-west-1"] }), [vol({ zone: null })])).toEqual(expect.objectContaining({ backends: ["aws"], regions: ["us-east-1"], availability_zones: null }));
});

test("constrainToVolumes: E6405 when the configuration excludes the volume, or two volumes live apart", () => {
  const err = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as { diagnostics: { code: string; message: string }[] }).diagnostics.map((d) => `${d.code} ${d.message}`);
    }
    return [];
  };
  expect(err(() => constrainToVolumes(runSpec({ ...mounts, backends: ["gcp"] }), [vol({})]))).toEqual(["E6405 volume data is on aws in us-east-1 (us-east-1b), which the run's backends (gcp) exclude"]);
  expect(err(() => constrainToVolumes(mounts, [vol({}), vol({ name: "ckpt", region: "eu-west-1", zone: "eu-west-1a" })]))).toEqual([
    "E6405 volume ckpt is on aws in eu-west-1 (eu-west-1a), which the run's regions (us-east-1) exclude",
    "E6405 volume ckpt is on aws in eu-west-1 (eu-west-1a), which the run's availability_zones (us-east-1b) exclude",
  ]);
});

test("withVolumeRefs: each volume's id (and size) for the program, config.yml's entries kept; pending ones get the preview id", () => {
  const settings = { ssh_ingress_cidrs: ["10.0.0.0/8"], volumes: { data: { size: 50 }, other: { size: 10 } } };
  expect(withVolumeRefs(settings, [])).toBe(settings);
  expect(withVolumeRefs(settings, [vol({})], ["ckpt"])).toEqual({
    ssh_ingress_cidrs: ["10.0.0.0/8"],
    volumes: { data: { size: 200, id: "vol-0aaa" }, other: { size: 10 }, ckpt: { id: PENDING_VOLUME_ID } },
  });
});

test("pendingVolumes: a cloud run's names without a stack, in the offer's region (and zone), sized and registered by config.yml", () => {
  const settings = { volumes: { ckpt: { size: 500 } } };
  expect(pendingVolumes(mounts, [vol({})], OFFERS.aws, settings)).toEqual([
    { type: "volume", configuration_path: mounts.configuration_path, name: "ckpt", backend: "aws", region: "us-east-1", availability_zone: null, size: 500, volume_id: null },
  ]);
  const gcp = pendingVolumes(mounts, [], OFFERS.gcp, { volumes: { data: { id: "projects/p/zones/z/disks/d" } } });
  expect(gcp.map((v) => [v.name, v.backend, v.region, v.availability_zone, v.size, v.volume_id])).toEqual([
    ["data", "gcp", OFFERS.gcp.region, OFFERS.gcp.zone, null, "projects/p/zones/z/disks/d"],
    ["ckpt", "gcp", OFFERS.gcp.region, OFFERS.gcp.zone, null, null],
  ]);
  // local runs make their Docker volumes themselves, as before
  expect(pendingVolumes(mounts, [], { ...OFFERS.aws, backend: "local", region: "local" }, {})).toEqual([]);
  // and kubernetes runs their retained PersistentVolumeClaims
  expect(pendingVolumes(mounts, [], { ...OFFERS.aws, backend: "kubernetes", region: "dstack-kube" }, {})).toEqual([]);
});
