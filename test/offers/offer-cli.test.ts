/**
 * `dstack offer` through the real commander program (cli.ts), in-process: the table, --json,
 * --group-by, configured backends vs --all-backends, and the empty result (exit code 3).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main } from "../../cli";
import { clearCatalogCache } from "../../src/offers/catalog";
import { FIXTURE_CATALOG } from "./runspec-fixture";

let tmp: string;
const saved = { ...process.env };
let out = "";
let err = "";

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-offer-cli-"));
  process.env.DSTACK_HOME = path.join(tmp, "home");
  process.env.DSTACK_CATALOG_DIR = FIXTURE_CATALOG;
  clearCatalogCache();
  out = "";
  err = "";
  jest.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  jest.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  process.exitCode = undefined;
});
afterEach(() => {
  jest.restoreAllMocks();
  process.env = { ...saved };
  process.exitCode = undefined;
  fs.rmSync(tmp, { recursive: true, force: true });
});

const run = (...args: string[]) => main(["node", "dstack", "offer", tmp, ...args]);

test("--json over every catalog: the documented shape, in ranking order", async () => {
  expect(await run("--gpu", "A100", "--all-backends", "--json")).toBe(0);
  const doc = JSON.parse(out) as { offers: Record<string, unknown>[]; total: number };
  expect(doc.total).toBe(6);
  expect(Object.keys(doc.offers[0])).toEqual([
    "backend", "region", "instance_type", "price", "spot", "cpu", "cpu_arch", "memory", "disk", "gpu_count", "gpu_name", "gpu_memory", "gpu_vendor",
  ]);
  expect(doc.offers.map((o) => o.price)).toEqual([1.80385, 1.99, 2.51378, 3.67339, 8.0468, 21.957642]);
  expect(doc.offers[0]).toMatchObject({ backend: "gcp", region: "us-central1", instance_type: "a2-highgpu-1g", gpu_name: "A100", gpu_memory: 40, spot: true });
});

test("the table: #, BACKEND (region), RESOURCES, INSTANCE TYPE, SPOT, PRICE and the footer", async () => {
  expect(await run("--gpu", "H100:8", "--all-backends", "--max-offers", "2")).toBe(0);
  const lines = out.split("\n");
  expect(lines[0]).toMatch(/^#\s+BACKEND\s+RESOURCES\s+INSTANCE TYPE\s+SPOT\s+PRICE/);
  expect(lines[1]).toMatch(/^1\s+aws \(us-east-1\)\s+cpu=x86:192 mem=2048GB gpu=H100:80GB:8\s+p5\.48xlarge\s+spot\s+\$13\.2182/);
  expect(lines[2]).toMatch(/^2\s+gcp \(us-central1-a\)\s+cpu=x86:208 mem=1872GB gpu=H100:80GB:8\s+a3-highgpu-8g\s+spot\s+\$35\.87358/);
  expect(out).toContain("Shown 2 of 4 offers, $55.04 max");
});

test("only local and configured backends unless --all-backends", async () => {
  fs.mkdirSync(process.env.DSTACK_HOME!, { recursive: true });
  fs.writeFileSync(path.join(process.env.DSTACK_HOME!, "config.yml"), "backends:\n  - type: lambda\n");
  expect(await run("--gpu", "A100", "--json")).toBe(0);
  const doc = JSON.parse(out) as { offers: { backend: string }[]; total: number };
  expect(doc.offers.map((o) => o.backend)).toEqual(["lambda"]);
});

test("the local machine matches a modest dev environment", async () => {
  expect(await run("--cpu", "1..", "--memory", "1GB..", "--disk", "1GB..", "--json")).toBe(0);
  const doc = JSON.parse(out) as { offers: { backend: string; price: number; spot: boolean }[]; total: number };
  expect(doc.total).toBe(1);
  expect(doc.offers[0]).toMatchObject({ backend: "local", price: 0, spot: false });
});

test("nothing matches: the explanation, and exit code 3", async () => {
  expect(await run("--gpu", "H200:8", "--max-price", "20", "--on-demand", "--all-backends")).toBe(3);
  expect(err).toContain("no offer with 8×H200 costs at most $20/h; cheapest otherwise matching: aws p5en.48xlarge in us-east-1 at $63.296/h [E2020]");
  expect(err).toContain("hint: raise `max_price`");
  out = "";
  expect(await run("--gpu", "H200:8", "--max-price", "20", "--on-demand", "--all-backends", "--json")).toBe(3);
  const doc = JSON.parse(out) as { offers: unknown[]; total: number; explanation: { constraint: string; nearest: { instance_type: string; breaks: string[] }[] } };
  expect(doc.offers).toEqual([]);
  expect(doc.total).toBe(0);
  expect(doc.explanation.constraint).toBe("max_price");
  expect(doc.explanation.nearest[0]).toMatchObject({ instance_type: "p5en.48xlarge", breaks: ["max_price"] });
});

test("--group-by gpu", async () => {
  expect(await run("--gpu", "1..", "--all-backends", "--group-by", "gpu", "--json")).toBe(0);
  const doc = JSON.parse(out) as { groups: { gpu_name: string; gpu_memory: number; offers: number; spot: string[]; price: { min: number; max: number } }[]; total: number };
  const a100 = doc.groups.filter((g) => g.gpu_name === "A100");
  expect(a100.map((g) => [g.gpu_memory, g.offers])).toEqual([
    [40, 5],
    [80, 1],
  ]);
  expect(doc.groups[0].gpu_name).toBe("RTX3060Ti");
  out = "";
  expect(await run("--gpu", "1..", "--all-backends", "--group-by", "gpu,backend")).toBe(0);
  expect(out).toMatch(/^#\s+GPU\s+BACKEND\s+OFFERS\s+SPOT\s+PRICE/);
  expect(await run("--group-by", "color")).toBe(2);
  expect(err).toContain("E2030");
});

test("a configuration file in DIR is used, flags on top", async () => {
  fs.writeFileSync(path.join(tmp, ".dstack.yml"), "type: dev-environment\nide: vscode\nresources:\n  gpu: L4\n");
  expect(await run("--all-backends", "--json", "--spot")).toBe(0);
  const doc = JSON.parse(out) as { offers: { gpu_name: string; spot: boolean }[] };
  expect(doc.offers.length).toBe(2);
  expect(doc.offers.every((o) => o.gpu_name === "L4" && o.spot)).toBe(true);
});
