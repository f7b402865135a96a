import { chooseOffer, rankForUp, unsupportedDiagnostics } from "../../src/runs/choose";
import { DEFAULT_RESOURCES, type TaskRunSpec } from "../../src/config/runspec";
import type { Offer } from "../../src/offers/offer";

const offer = (backend: string, price: number, region = "r", instance_type = "i"): Offer => ({
  backend, region, zone: null, instance_type, price, spot: false, cpu: 2, cpu_arch: "x86", memory: 8, disk: 100,
  gpu_count: 0, gpu_name: null, gpu_memory: null, gpu_vendor: null, flags: [], provider_data: {},
});

test("cheapest first, local wins a tie, stable order otherwise", () => {
  const offers = [offer("aws", 0.5), offer("gcp", 0), offer("local", 0), offer("aws", 0.1, "b"), offer("aws", 0.1, "a")];
  expect(rankForUp(offers).map((o) => `${o.backend}/${o.region}/${o.price}`)).toEqual(["local/r/0", "gcp/r/0", "aws/a/0.1", "aws/b/0.1", "aws/r/0.5"]);
  const { chosen, next } = chooseOffer(offers, 2);
  expect(chosen?.backend).toBe("local");
  expect(next).toHaveLength(2);
  expect(chooseOffer([])).toEqual({ chosen: null, next: [] });
});

test("up runs on the cheapest offer it can provision; the plan table lists the next ones", () => {
  // the clouds are provisionable too (their credentials and plugins are checked before the engine)
  const offers = [offer("aws", 0.1), offer("local", 0.5), offer("gcp", 0.2), offer("azure", 0.3)];
  expect(chooseOffer(offers, 2)).toEqual({ chosen: offers[0], next: [offers[2], offers[3]] });
  expect(chooseOffer([offer("gcp", 0.2), offer("aws", 0.1)])).toEqual({ chosen: offer("aws", 0.1), next: [offer("gcp", 0.2)] });
  // a backend without a program (lambda) is not
  expect(chooseOffer([offer("lambda", 0.05), offer("local", 0.5)])).toEqual({ chosen: offer("local", 0.5), next: [offer("lambda", 0.05)] });
});

test("unsupported properties and multi-node tasks on local are errors with positions", () => {
  const spec = {
    type: "task", commands: ["x"], nodes: 2, name: "t", configuration_path: "/p/.dstack.yml", resources: DEFAULT_RESOURCES,
    unsupported: [{ property: "files", line: 3, col: 1 }],
  } as unknown as TaskRunSpec;
  const d = unsupportedDiagnostics(spec, "local");
  expect(d.map((x) => x.code)).toEqual(["E1100", "E6101"]);
  expect(d[0]).toMatchObject({ severity: "error", file: "/p/.dstack.yml", line: 3 });
  expect(d[0].message).toContain("files");
  expect(d[1].message).toContain("nodes: 2");
  expect(unsupportedDiagnostics({ ...spec, nodes: 1, unsupported: [] }, "local")).toEqual([]);
  expect(unsupportedDiagnostics({ ...spec, unsupported: [] }, "aws")).toEqual([]);
});
