/**
 * The generated scan loop (the hot path) and the per-constraint checker (used for single
 * offers and explanations) must agree: random requirements over the real fixture rows, each
 * result compared with a brute-force filter through `offerViolations`.
 */
import fc from "fast-check";
import { loadCatalogs } from "../../src/offers/catalog";
import { findOffers, offerViolations, compareOffers } from "../../src/offers/find";
import type { Range } from "../../src/config/runspec";
import { FIXTURE_CATALOG, runSpec, type SpecOverrides } from "./runspec-fixture";

const catalog = loadCatalogs({ dir: FIXTURE_CATALOG, cache: false });
const all = Array.from({ length: catalog.size }, (_, i) => catalog.offer(i));

const rangeOf = (values: number[]) =>
  fc.record({ min: fc.option(fc.constantFrom(...values), { nil: null }), max: fc.option(fc.constantFrom(...values), { nil: null }) }) as fc.Arbitrary<Range>;

const spec: fc.Arbitrary<SpecOverrides> = fc.record(
  {
    cpu: fc.record({ arch: fc.constantFrom(null, "x86" as const, "arm" as const), count: rangeOf([1, 2, 4, 16, 64, 192]) }),
    memory: rangeOf([0.5, 4, 8, 16, 85, 2048]),
    disk: fc.option(rangeOf([1, 100]), { nil: null }),
    gpu: fc.record({
      vendor: fc.constantFrom(null, "nvidia" as const, "amd" as const, "google" as const),
      name: fc.option(fc.subarray(["A100", "h100", "L4", "MI300X", "v5litepod-8", "GH200", "T4"], { minLength: 1 }), { nil: null }),
      count: rangeOf([0, 1, 2, 8]),
      memory: fc.option(rangeOf([16, 24, 40, 80, 192]), { nil: null }),
      total_memory: fc.option(rangeOf([24, 320, 640]), { nil: null }),
      compute_capability: fc.option(fc.constantFrom<[number, number]>([7, 5], [8, 6], [9, 0], [10, 0]), { nil: null }),
    }),
    image: fc.constantFrom(null, "img"),
    spot_policy: fc.constantFrom("spot" as const, "on-demand" as const, "auto" as const),
    max_price: fc.option(fc.constantFrom(0.1, 1, 2.39, 20), { nil: null }),
    backends: fc.option(fc.subarray(["aws", "gcp", "lambda", "azure", "runpod"], { minLength: 1 }), { nil: null }),
    regions: fc.option(fc.subarray(["us-east-1", "us-central1", "CA-MTL-1", "us-central1-b"], { minLength: 1 }), { nil: null }),
    instance_types: fc.option(fc.subarray(["p5.48xlarge", "g5.xlarge", "gpu_1x_gh200", "e2-standard-2"], { minLength: 1 }), { nil: null }),
  },
  { requiredKeys: [] },
);

test("findOffers equals a brute-force filter with offerViolations, in compareOffers order", () => {
  fc.assert(
    fc.property(spec, fc.constantFrom<string[] | undefined>(undefined, ["aws"], ["gcp", "lambda"]), (o, configured) => {
      const s = runSpec(o);
      const r = findOffers(s, { catalog, backends: configured });
      const expected = all
        .filter((x) => offerViolations(s, x).length === 0)
        .filter((x) => !configured || configured.includes(x.backend))
        .sort(compareOffers);
      expect(r.offers).toEqual(expected);
      expect(r.total).toBe(expected.length);
      expect(r.explanation === null).toBe(expected.length > 0);
    }),
    { numRuns: 400 },
  );
});
