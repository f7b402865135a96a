/**
 * When nothing matches: which constraint emptied the list, the nearest offers that break only
 * it, and offers on backends that are not configured.
 */
import { loadCatalogs } from "../../src/offers/catalog";
import { findOffers, noOffersError } from "../../src/offers/find";
import type { Offer } from "../../src/offers/offer";
import { atLeast, FIXTURE_CATALOG, range, runSpec, type SpecOverrides } from "./runspec-fixture";

const catalog = loadCatalogs({ dir: FIXTURE_CATALOG, cache: false });
const find = (o: SpecOverrides, opts: Parameters<typeof findOffers>[1] = {}) => findOffers(runSpec(o), { catalog, ...opts });
const local: Offer = {
  backend: "local", region: "local", zone: null, instance_type: "local", price: 0, spot: false, cpu: 2, cpu_arch: "x86",
  memory: 23.4, disk: 76.2, gpu_count: 0, gpu_name: null, gpu_memory: null, gpu_vendor: null, flags: [], provider_data: {},
};

test("a price limit: the cheapest offer that breaks only it", () => {
  const r = find({ gpu: { name: ["H200"], count: range(8) }, max_price: 20, spot_policy: "on-demand" });
  expect(r.total).toBe(0);
  expect(r.offers).toEqual([]);
  expect(r.maxPrice).toBeNull();
  const e = r.explanation!;
  expect(e.constraint).toBe("max_price");
  expect(e.nearest.map((n) => [n.offer.instance_type, n.offer.price, n.breaks])).toEqual([["p5en.48xlarge", 63.296, ["max_price"]]]);
  expect(e.message).toBe("no offer with 8×H200 costs at most $20/h; cheapest otherwise matching: aws p5en.48xlarge in us-east-1 at $63.296/h");
});

test("a GPU that no catalog has", () => {
  const e = find({ gpu: { name: ["B300"], count: atLeast(1) } }).explanation!;
  expect(e.constraint).toBe("gpu");
  expect(e.message).toMatch(/^no offer has B300; cheapest otherwise matching: azure Standard_D2s_v3 \(spot\) in eastus at \$0\.018451\/h, with no GPU$/);
});

test("a local machine whose disk is smaller than dstack's default 100GB..: disk is the constraint, said plainly", () => {
  const r = find({}, { local, backends: [] });
  expect(r.total).toBe(0);
  const e = r.explanation!;
  expect(e.constraint).toBe("disk");
  expect(e.nearest[0].offer.backend).toBe("local");
  expect(e.nearest[0].breaks).toEqual(["disk"]);
  expect(e.message).toBe("no offer has 100GB.. disk; cheapest otherwise matching: local (this machine), with 76.2GB disk");
  // the clouds would have offers, were they configured
  expect(e.elsewhere).toMatchObject({ backends: ["aws", "azure", "gcp", "lambda", "runpod", "vastai"] });
  expect(e.elsewhere!.cheapest.instance_type).toBe("Standard_D2s_v3");
  const err = noOffersError(r);
  expect(err.exitCode).toBe(3);
  expect(err.diagnostics[0].code).toBe("E2020");
  expect(err.diagnostics[0].hint).toContain("--all-backends");
});

test("a backend that is not configured", () => {
  const e = find({ backends: ["aws"] }, { local, backends: [] }).explanation!;
  expect(e.constraint).toBe("backends");
  expect(e.message).toContain("no offer is on aws (configured: local)");
  expect(e.elsewhere!.backends).toEqual(["aws"]);
});

test("nothing configured and no local offer", () => {
  const e = find({}, { backends: [] }).explanation!;
  expect(e.constraint).toBe("configured_backends");
  expect(e.message).toMatch(/^no offer is on a configured backend \(none configured\); \d+ on other backends/);
});

test("two constraints that conflict together: the nearest offers meet what came before", () => {
  // arm + spot: GH200 rows are arm but on-demand only; spot rows are x86
  const e = find({ cpu: { arch: "arm", count: atLeast(2) }, spot_policy: "spot", disk: null }).explanation!;
  expect(e.constraint).toBe("spot_policy");
  expect(e.nearest[0].offer.instance_type).toBe("gpu_1x_gh200");
  expect(e.nearest[0].breaks).toEqual(["spot_policy"]);
  const both = find({ cpu: { arch: "arm", count: atLeast(2) }, spot_policy: "spot", regions: ["us-east-1"], disk: null }).explanation!;
  expect(both.constraint).toBe("spot_policy");
  expect(both.nearest[0].breaks).toEqual(["spot_policy", "regions"]);
  expect(both.message).toContain("nearest: lambda gpu_1x_gh200");
});
