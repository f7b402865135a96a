/**
 * ~/.dstack/config.yml (DSTACK_HOME/config.yml) → configured backends and their regions.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { backendSettings, configuredBackends, readBackendsConfig } from "../../src/offers/backends-config";
import { loadCatalogs } from "../../src/offers/catalog";
import { findOffers } from "../../src/offers/find";
import { ConfigError } from "../../src/diagnostics";
import { atLeast, FIXTURE_CATALOG, runSpec } from "./runspec-fixture";

let home: string;
const env = () => ({ DSTACK_HOME: home });
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-home-"));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));
const writeConfig = (text: string) => fs.writeFileSync(path.join(home, "config.yml"), text);

test("no config.yml: only local", () => {
  expect(readBackendsConfig({ env: env() })).toEqual({ path: path.join(home, "config.yml"), exists: false, backends: [] });
  expect(configuredBackends({ env: env() })).toEqual({ backends: [], backendRegions: {} });
});

test("backends with regions; lambdalabs is lambda; local is implicit", () => {
  writeConfig("backends:\n  - type: aws\n    regions: [us-east-1]\n    creds: {type: default}\n  - type: lambdalabs\n  - type: local\n");
  const cfg = readBackendsConfig({ env: env() });
  expect(cfg.backends).toEqual([
    { type: "aws", regions: ["us-east-1"], line: 2 },
    { type: "lambda", regions: null, line: 5 },
  ]);
  expect(configuredBackends({ env: env() })).toEqual({ backends: ["aws", "lambda"], backendRegions: { aws: ["us-east-1"] } });
});

test("a backend's settings are its first entry's other keys, without credentials", () => {
  expect(backendSettings("aws", { env: env() })).toEqual({});
  writeConfig(
    "backends:\n  - type: aws\n    regions: [us-east-1]\n    creds: {type: default}\n    ssh_ingress_cidrs: [203.0.113.0/24]\n    volumes: {data: {size: 200}}\n" +
      "projects:\n  - name: main\n    backends:\n      - type: aws\n        network: project\n      - type: gcp\n        gcp_project: p1\n        credentials: {type: default}\n",
  );
  expect(backendSettings("aws", { env: env() })).toEqual({ ssh_ingress_cidrs: ["203.0.113.0/24"], volumes: { data: { size: 200 } } });
  expect(backendSettings("gcp", { env: env() })).toEqual({ gcp_project: "p1" });
  expect(backendSettings("azure", { env: env() })).toEqual({});
});

test("dstack's projects shape is read too", () => {
  writeConfig("projects:\n  - name: main\n    backends:\n      - type: gcp\n        regions: [us-central1]\n");
  expect(configuredBackends({ env: env() }).backends).toEqual(["gcp"]);
});

test("bad entries are E2011 with their line; bad YAML is E2010", () => {
  writeConfig("backends:\n  - type: aws\n  - regions: [x]\n  - type: gcp\n    regions: us-central1\n");
  let err: unknown;
  try {
    readBackendsConfig({ env: env() });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  const d = (err as ConfigError).diagnostics;
  expect(d.map((x) => [x.code, x.line])).toEqual([
    ["E2011", 3],
    ["E2011", 5],
  ]);
  writeConfig("backends: [\n");
  expect(() => readBackendsConfig({ env: env() })).toThrow(/not valid YAML/);
});

test("region limits from config.yml restrict the configured backend's offers", () => {
  const catalog = loadCatalogs({ dir: FIXTURE_CATALOG, cache: false });
  writeConfig("backends:\n  - type: gcp\n    regions: [us-east1]\n  - type: aws\n");
  const cfg = configuredBackends({ env: env() });
  const r = findOffers(runSpec({ gpu: { name: ["v5litepod-8"], count: atLeast(1) } }), { catalog, ...cfg });
  expect(r.offers.map((o) => o.region)).toEqual(["us-east1"]);
  const e = findOffers(runSpec({ regions: ["us-central1"] }), { catalog, ...cfg }).explanation!;
  expect(e.constraint).toBe("regions");
  expect(e.elsewhere!.backends).toEqual(["gcp"]);
});
