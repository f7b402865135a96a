/** scripts/build-catalog.ts: validated copy of a gpuhunt v2 folder with its SOURCES.md. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildCatalog } from "../../scripts/build-catalog";
import { DstackError } from "../../src/diagnostics";
import { CATALOG_COLUMNS } from "../../src/offers/catalog-csv";
import { FIXTURE_CATALOG } from "./runspec-fixture";

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-build-catalog-"));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

test("copies every CSV unchanged (LF), replaces stale ones, and prefaces SOURCES.md with row counts", () => {
  const src = path.join(tmp, "src");
  fs.mkdirSync(src);
  for (const f of fs.readdirSync(FIXTURE_CATALOG).filter((n) => n.endsWith(".csv"))) {
    fs.writeFileSync(path.join(src, f), fs.readFileSync(path.join(FIXTURE_CATALOG, f), "utf8").replace(/\n/g, "\r\n"));
  }
  fs.writeFileSync(path.join(src, "SOURCES.md"), "# Catalog sources\n\naws.csv: from somewhere, 2026-01-01.\n");
  const out = path.join(tmp, "out");
  fs.mkdirSync(out);
  fs.writeFileSync(path.join(out, "stale.csv"), "old");
  const result = buildCatalog(src, out);
  expect(result.map((r) => r.file)).toEqual(["aws.csv", "azure.csv", "gcp.csv", "lambdalabs.csv", "runpod.csv", "vastai.csv"]);
  expect(result.find((r) => r.file === "aws.csv")!.rows).toBe(15);
  expect(fs.existsSync(path.join(out, "stale.csv"))).toBe(false);
  expect(fs.readFileSync(path.join(out, "gcp.csv"), "utf8")).toBe(fs.readFileSync(path.join(FIXTURE_CATALOG, "gcp.csv"), "utf8"));
  const sources = fs.readFileSync(path.join(out, "SOURCES.md"), "utf8");
  expect(sources).toContain("- aws.csv: 15");
  expect(sources).toContain("aws.csv: from somewhere, 2026-01-01.");
});

test("a bad row stops the build, by file and line", () => {
  const src = path.join(tmp, "src");
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, "aws.csv"), `${CATALOG_COLUMNS.join(",")}\nt3.nano,us-east-1,0,2,0.5,0,,,False,,,,x86,{}\n`);
  expect(() => buildCatalog(src, path.join(tmp, "out"))).toThrow(DstackError);
  expect(fs.existsSync(path.join(tmp, "out"))).toBe(false);
});
