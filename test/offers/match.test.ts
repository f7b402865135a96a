/**
 * Matching semantics, case by case, on real catalog rows (test/offers/fixtures/catalog).
 */
import { loadCatalogs } from "../../src/offers/catalog";
import { catalogFromOffers } from "../../src/offers/catalog-builder";
import { findOffers, matchOffer, offerViolations } from "../../src/offers/find";
import type { Offer } from "../../src/offers/offer";
import { atLeast, FIXTURE_CATALOG, range, runSpec, type SpecOverrides } from "./runspec-fixture";

const catalog = loadCatalogs({ dir: FIXTURE_CATALOG, cache: false });
const find = (o: SpecOverrides, opts: Parameters<typeof findOffers>[1] = {}) => findOffers(runSpec(o), { catalog, ...opts });
const names = (offers: Offer[]) => offers.map((x) => `${x.backend}/${x.instance_type}/${x.zone ?? x.region}/${x.spot ? "spot" : "od"}`);
const types = (offers: Offer[]) => [...new Set(offers.map((x) => x.instance_type))];

describe("resources", () => {
  test("dstack's defaults: cpu 2.., memory 8GB.., disk 100GB.. (unreported disk passes), any GPU", () => {
    const r = find({});
    expect(names(r.offers).slice(0, 4)).toEqual([
      "azure/Standard_D2s_v3/eastus/spot",
      "gcp/e2-standard-2/us-central1-a/spot",
      "gcp/e2-standard-2/us-central1-b/spot",
      "aws/m7i.large/us-east-1/od",
    ]);
    // t3.nano (0.5GB), c7i.large (4GB) and cpu3c-2-4 (4GB) are below 8GB memory
    expect(types(r.offers)).not.toContain("t3.nano");
    expect(types(r.offers)).not.toContain("c7i.large");
    expect(types(r.offers)).not.toContain("cpu3c-2-4");
    // GPU rows match too when no GPU is asked for (count 0..)
    expect(types(r.offers)).toContain("g5.xlarge");
    // GH200 is arm: excluded by the default x86 architecture
    expect(types(r.offers)).not.toContain("gpu_1x_gh200");
    expect(r.total).toBe(r.offers.length);
    expect(r.maxPrice).toBe(63.296);
  });

  test("every bound is inclusive", () => {
    const r = find({ cpu: { count: range(4) }, memory: range(16), max_price: 0.3337, disk: null });
    expect(names(r.offers)).toEqual(["gcp/g2-standard-4/us-central1-a/spot", "aws/g6.xlarge/us-east-1/spot"]);
    const lower = find({ cpu: { count: range(null, 2) }, memory: range(0.5, 0.5), disk: null });
    expect(names(lower.offers)).toEqual(["aws/t3.nano/us-east-1/od"]);
  });

  test("memory and cpu upper bounds exclude bigger offers", () => {
    const r = find({ cpu: { count: range(2, 2) }, memory: range(8, 8) });
    expect(types(r.offers)).toEqual(["Standard_D2s_v3", "e2-standard-2", "m7i.large"]);
  });

  test("disk is checked only when the row reports one", () => {
    const local: Offer = { ...catalog.offer(0), backend: "local", region: "local", instance_type: "local", price: 0, disk: 76, cpu: 2, memory: 24 };
    expect(offerViolations(runSpec({ disk: atLeast(100) }), local)).toEqual(["disk"]);
    expect(matchOffer(runSpec({ disk: atLeast(50) }), local)).toBe(true);
    expect(matchOffer(runSpec({ disk: range(1, 50) }), local)).toBe(false);
    // catalog rows carry no disk, so any disk requirement passes
    expect(find({ disk: atLeast(100000) }).total).toBe(find({ disk: null }).total);
  });
});

describe("gpu", () => {
  test("names match exactly, ignoring case, any of a list; H100 is not H100NVL", () => {
    const r = find({ gpu: { name: ["h100"], count: atLeast(1) } });
    expect(types(r.offers)).toEqual(["1x_H100_SECURE", "p5.48xlarge", "a3-highgpu-8g"]);
    expect(r.offers.every((o) => o.gpu_name === "H100")).toBe(true);
    const both = find({ gpu: { name: ["H100NVL", "mi300x"], count: atLeast(1) } });
    expect(types(both.offers)).toEqual(["Standard_NC40ads_H100_v5", "1x_MI300X_SECURE", "Standard_ND96isr_MI300X_v5"]);
  });

  test("`80GB` means exactly 80 GB per GPU", () => {
    const r = find({ gpu: { name: ["A100"], count: atLeast(1), memory: range(80) } });
    expect(names(r.offers)).toEqual(["gcp/a2-ultragpu-1g/us-central1-a/spot"]);
    const atLeast40 = find({ gpu: { name: ["A100"], count: atLeast(1), memory: atLeast(40) } });
    expect(types(atLeast40.offers)).toEqual(["a2-highgpu-1g", "gpu_1x_a100_sxm4", "a2-ultragpu-1g", "p4d.24xlarge"]);
  });

  test("count range and total memory (count × per-GPU)", () => {
    const eight = find({ gpu: { count: range(8) } });
    expect(eight.offers.every((o) => o.gpu_count === 8)).toBe(true);
    const total = find({ gpu: { count: atLeast(1), total_memory: atLeast(640) } });
    expect(types(total.offers)).toEqual(["p5.48xlarge", "p5en.48xlarge", "a3-highgpu-8g", "p6-b200.48xlarge"]);
    // 8×40GB A100 (320GB) is out; MI300X is out because a spec by memory alone means nvidia
    expect(types(total.offers)).not.toContain("p4d.24xlarge");
  });

  test("compute capability compares as a number (10.0 > 9.0) and needs a known NVIDIA GPU", () => {
    const r = find({ gpu: { count: atLeast(1), compute_capability: [9, 0] } });
    expect(new Set(r.offers.map((o) => o.gpu_name))).toEqual(new Set(["H100", "H100NVL", "H200", "B200"]));
    const ampere = find({ gpu: { count: atLeast(1), compute_capability: [8, 6] }, image: "img" });
    const got = new Set(ampere.offers.map((o) => o.gpu_name));
    expect(got.has("A100")).toBe(false); // 8.0
    expect(got.has("A10G")).toBe(true); // 8.6
    expect(got.has("L4")).toBe(true); // 8.9
    expect(got.has("MI300X")).toBe(false); // not NVIDIA
    expect(got.has("v5litepod-8")).toBe(false); // TPU
    expect(got.has("GH200")).toBe(true); // arm allowed: an image is given
  });

  test("vendor is inferred from names; count or memory alone without image means nvidia", () => {
    const amd = find({ gpu: { name: ["MI300X"], count: atLeast(1) } });
    expect(amd.offers.every((o) => o.gpu_vendor === "amd")).toBe(true);
    const anyGpu = find({ gpu: { count: atLeast(1) } });
    expect(new Set(anyGpu.offers.map((o) => o.gpu_vendor))).toEqual(new Set(["nvidia"]));
    const withImage = find({ gpu: { count: atLeast(1) }, image: "rocm/pytorch" });
    expect(new Set(withImage.offers.map((o) => o.gpu_vendor))).toEqual(new Set(["nvidia", "amd", "google"]));
    const tpu = find({ gpu: { name: ["v5litepod-8"], count: atLeast(1) } });
    expect(tpu.offers.map((o) => o.region)).toEqual(["us-central1", "us-east1"]);
    expect(find({ gpu: { name: ["tpu-v5litepod-8"], count: atLeast(1) } }).total).toBe(2);
    const explicit = find({ gpu: { vendor: "amd", count: atLeast(1) } });
    expect(types(explicit.offers)).toEqual(["1x_MI300X_SECURE", "Standard_ND96isr_MI300X_v5"]);
  });

  test("with a minimum GPU count of 0, CPU-only rows skip the GPU checks", () => {
    const r = find({ gpu: { name: ["A100"], count: range(0, 1) } });
    const gpuRows = r.offers.filter((o) => o.gpu_count > 0);
    expect(new Set(gpuRows.map((o) => o.gpu_name))).toEqual(new Set(["A100"]));
    expect(r.offers.some((o) => o.gpu_count === 0)).toBe(true);
    const none = find({ gpu: { count: range(0, 0) } });
    expect(none.offers.every((o) => o.gpu_count === 0)).toBe(true);
  });
});

describe("cpu architecture", () => {
  test("x86 unless cpu names one or an image is given", () => {
    expect(find({ gpu: { name: ["GH200"], count: atLeast(1) } }).total).toBe(0);
    const arm = find({ cpu: { arch: "arm", count: atLeast(2) }, disk: null });
    expect(new Set(arm.offers.map((o) => o.instance_type))).toEqual(new Set(["gpu_1x_gh200"]));
    expect(arm.offers.every((o) => o.cpu_arch === "arm")).toBe(true);
    const image = find({ gpu: { name: ["GH200"], count: atLeast(1) }, image: "nvcr.io/nvidia/pytorch:24.01-py3" });
    expect(image.total).toBe(2);
  });
});

describe("profile filters", () => {
  test("spot policies", () => {
    const spot = find({ spot_policy: "spot" });
    const od = find({ spot_policy: "on-demand" });
    const auto = find({ spot_policy: "auto" });
    expect(spot.offers.every((o) => o.spot)).toBe(true);
    expect(od.offers.every((o) => !o.spot)).toBe(true);
    expect(spot.total + od.total).toBe(auto.total);
    expect(spot.total).toBeGreaterThan(0);
    expect(od.total).toBeGreaterThan(0);
  });

  test("max_price is inclusive", () => {
    const r = find({ max_price: 0.03351 });
    expect(names(r.offers)).toEqual(["azure/Standard_D2s_v3/eastus/spot", "gcp/e2-standard-2/us-central1-a/spot", "gcp/e2-standard-2/us-central1-b/spot"]);
  });

  test("backends use dstack's names: `lambda` is the lambdalabs catalog", () => {
    const r = find({ backends: ["lambda"], disk: null });
    expect(new Set(r.offers.map((o) => o.backend))).toEqual(new Set(["lambda"]));
    expect(r.total).toBe(1); // GH200 rows are arm
    expect(find({ backends: ["lambdalabs"], disk: null }).total).toBe(1);
    expect(find({ backends: ["LAMBDA"], disk: null }).total).toBe(1);
    expect(find({ backends: ["nosuch"] }).warnings.map((w) => w.code)).toEqual(["E2021"]);
  });

  test("regions match exactly, ignoring case; a GCP zone belongs to its region", () => {
    const r = find({ regions: ["US-CENTRAL1"] });
    expect(r.offers.every((o) => o.backend === "gcp" && o.region === "us-central1")).toBe(true);
    expect(r.offers.map((o) => o.zone)).toContain("us-central1-a");
    expect(r.offers.map((o) => o.zone)).toContain(null); // the TPU row is per region
    expect(find({ regions: ["us-central"] }).total).toBe(0);
    // us-east-1 does not match us-east-1-atl-1 (a local zone is its own location)
    const east = find({ regions: ["us-east-1"], gpu: { name: ["H100"], count: range(8) }, spot_policy: "on-demand" });
    expect(names(east.offers)).toEqual(["aws/p5.48xlarge/us-east-1/od"]);
    // a zone may be named exactly
    expect(find({ regions: ["us-central1-b"] }).offers.map((o) => o.zone)).toEqual(["us-central1-b"]);
  });

  test("availability zones restrict per-zone rows only", () => {
    const r = find({ availability_zones: ["us-central1-b"], backends: ["gcp"] });
    expect(r.offers.map((o) => o.zone)).toEqual(["us-central1-b", null, null]); // e2 in zone b; the TPUs are per region
  });

  test("instance_types", () => {
    const r = find({ instance_types: ["P5.48xlarge", "g5.xlarge"] });
    expect(types(r.offers)).toEqual(["g5.xlarge", "p5.48xlarge"]);
  });

  test("only configured backends are offered, unless allBackends", () => {
    const r = find({ gpu: { name: ["A100"], count: atLeast(1) } }, { backends: ["aws"] });
    expect(new Set(r.offers.map((o) => o.backend))).toEqual(new Set(["aws"]));
    const all = find({ gpu: { name: ["A100"], count: atLeast(1) } }, { backends: ["aws"], allBackends: true });
    expect(new Set(all.offers.map((o) => o.backend))).toEqual(new Set(["aws", "gcp", "lambda"]));
    expect(find({}, { backends: ["nosuch"] }).warnings.map((w) => w.code)).toEqual(["E2022"]);
  });
});

describe("ranking", () => {
  test("price ascending; equal prices break by backend, region, instance, zone", () => {
    const r = find({ gpu: { name: ["H100"], count: range(8) }, spot_policy: "on-demand" });
    expect(names(r.offers)).toEqual(["aws/p5.48xlarge/us-east-1/od", "aws/p5.48xlarge/us-east-1-atl-1/od"]);
    const tpu = find({ gpu: { name: ["v5litepod-8"], count: atLeast(1) } });
    expect(tpu.offers.map((o) => o.region)).toEqual(["us-central1", "us-east1"]);
  });

  test("at equal price, fewer surplus resources first", () => {
    const base = catalog.offer(0);
    const big: Offer = { ...base, backend: "aws", instance_type: "a-big", cpu: 8, memory: 32, price: 1 };
    const small: Offer = { ...base, backend: "zz", instance_type: "z-small", cpu: 2, memory: 8, price: 1 };
    const cat = catalogFromOffers([big, small]);
    const r = findOffers(runSpec({ disk: null }), { catalog: cat });
    expect(r.offers.map((o) => o.instance_type)).toEqual(["z-small", "a-big"]);
  });

  test("limit keeps the ranking and counts every match", () => {
    const all = find({});
    const top = find({}, { limit: 3 });
    expect(top.offers).toEqual(all.offers.slice(0, 3));
    expect(top.total).toBe(all.total);
    expect(top.maxPrice).toBe(all.maxPrice);
  });

  test("the local offer ranks first at price 0 and is subject to the same filters", () => {
    const local: Offer = {
      backend: "local", region: "local", zone: null, instance_type: "local", price: 0, spot: false, cpu: 2, cpu_arch: "x86",
      memory: 24, disk: 76, gpu_count: 0, gpu_name: null, gpu_memory: null, gpu_vendor: null, flags: [], provider_data: {},
    };
    const dev = find({ cpu: { count: atLeast(1) }, memory: atLeast(1), disk: atLeast(1) }, { local, backends: [] });
    expect(names(dev.offers)).toEqual(["local/local/local/od"]);
    const withClouds = find({ cpu: { count: atLeast(1) }, memory: atLeast(1), disk: atLeast(1) }, { local });
    expect(withClouds.offers[0].backend).toBe("local");
    expect(find({ spot_policy: "spot", disk: atLeast(1) }, { local, backends: [] }).total).toBe(0);
  });
});
