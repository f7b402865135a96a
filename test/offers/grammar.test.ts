/**
 * Matching against specs written in the configuration grammar (src/config), and every real
 * configuration in ../shared/dstack-configs planned against the shipped catalogs.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadRunSpec } from "../../src/config";
import { parseCpuSpec, parseGpuSpec } from "../../src/config/grammar";
import { loadCatalogs } from "../../src/offers/catalog";
import { findOffers } from "../../src/offers/find";
import { describeWhen, sharedConfigs, sharedConfigsDir } from "../support/requirements";
import { FIXTURE_CATALOG, runSpec } from "./runspec-fixture";

const fixtures = loadCatalogs({ dir: FIXTURE_CATALOG, cache: false });
const byGpu = (gpu: string, extra: Parameters<typeof runSpec>[0] = {}) =>
  findOffers(runSpec({ gpu: parseGpuSpec(gpu), disk: null, ...extra }), { catalog: fixtures });

describe("the resources grammar", () => {
  test.each([
    ["A100", ["a2-highgpu-1g", "gpu_1x_a100_sxm4", "a2-ultragpu-1g", "a2-highgpu-1g", "p4d.24xlarge", "p4d.24xlarge"]],
    ["a100:80GB", ["a2-ultragpu-1g"]],
    ["A100:80GB:2", []],
    ["H100:8", ["p5.48xlarge", "a3-highgpu-8g", "p5.48xlarge", "p5.48xlarge"]],
    ["H100,H100NVL:1", ["Standard_NC40ads_H100_v5", "1x_H100_SECURE", "1x_H100_SECURE"]],
    ["amd:1..", ["1x_MI300X_SECURE", "Standard_ND96isr_MI300X_v5"]],
    ["MI300X:8", ["Standard_ND96isr_MI300X_v5"]],
    ["v5litepod-8", ["v5litepod-8", "v5litepod-8"]],
    ["tpu-v5litepod-8", ["v5litepod-8", "v5litepod-8"]],
    ["141GB..:8", ["p5en.48xlarge", "p6-b200.48xlarge", "p5en.48xlarge"]],
  ])("gpu: %s", (gpu, expected) => {
    const r = byGpu(gpu, { memory: { min: 8, max: null } });
    expect(r.offers.map((o) => o.instance_type)).toEqual(expected);
  });

  test("compute capability in the object form", () => {
    const r = byGpu("H100", {});
    const cc = findOffers(runSpec({ gpu: parseGpuSpec({ compute_capability: "9.0", count: "8" }), disk: null }), { catalog: fixtures });
    expect(new Set(cc.offers.map((o) => o.gpu_name))).toEqual(new Set(["H100", "H200", "B200"]));
    expect(r.total).toBeGreaterThan(0);
  });

  test("cpu: arm:64 selects GH200 (arm), x86 by default", () => {
    const arm = findOffers(runSpec({ cpu: parseCpuSpec("arm:64"), disk: null }), { catalog: fixtures });
    expect(arm.offers.map((o) => `${o.instance_type}/${o.region}`)).toEqual(["gpu_1x_gh200/asia-south-1", "gpu_1x_gh200/europe-central-1"]);
    const x86 = findOffers(runSpec({ cpu: parseCpuSpec("64"), disk: null }), { catalog: fixtures });
    expect(x86.offers.every((o) => o.cpu_arch === "x86" && o.cpu === 64)).toBe(true);
  });
});

describe("configurations from files", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-offer-cfg-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("a task asking for 8×A100 40GB.. on spot within $10/h", () => {
    fs.writeFileSync(
      path.join(dir, ".dstack.yml"),
      "type: task\ncommands: [nvidia-smi]\nresources:\n  gpu: A100:40GB..:8\nspot_policy: spot\nmax_price: 10\n",
    );
    const spec = loadRunSpec({ dir, env: { DSTACK_HOME: path.join(dir, "home") }, profile: null });
    const r = findOffers(spec, { catalog: fixtures });
    expect(r.offers.map((o) => `${o.backend}/${o.instance_type}/${o.price}`)).toEqual(["aws/p4d.24xlarge/8.0468"]);
  });
});

const configs = sharedConfigsDir;

describeWhen(sharedConfigs, "every real configuration against the shipped catalogs", () => {
  test("plans to ranked offers or to a stated reason", () => {
    const shipped = loadCatalogs({ dir: path.join(__dirname, "..", "..", "catalog"), cache: false });
    const files = fs.readdirSync(configs).filter((f) => f.endsWith(".dstack.yml"));
    let planned = 0;
    let explained = 0;
    for (const f of files) {
      let spec;
      try {
        spec = loadRunSpec({ file: path.join(configs, f), dir: configs, env: { DSTACK_HOME: os.tmpdir() }, profile: null });
      } catch {
        continue; // volumes, invalid or unsupported configurations are the config stage's business
      }
      const r = findOffers(spec, { catalog: shipped, allBackends: true, limit: 3 });
      if (r.total > 0) {
        planned++;
        for (let k = 1; k < r.offers.length; k++) expect(r.offers[k].price).toBeGreaterThanOrEqual(r.offers[k - 1].price);
      } else {
        explained++;
        expect(r.explanation!.message).toMatch(/^no offer /);
      }
    }
    expect(planned).toBeGreaterThan(50);
    expect(planned + explained).toBeGreaterThan(80);
  });
});
