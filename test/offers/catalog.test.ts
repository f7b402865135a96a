/**
 * Catalog loading: validation with file:line diagnostics, CRLF, quoted fields, header order,
 * DSTACK_CATALOG_DIR, the per-process and on-disk caches, and the shipped catalog itself.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { clearCatalogCache, loadCatalogs } from "../../src/offers/catalog";
import { CATALOG_COLUMNS, parseCatalogFiles } from "../../src/offers/catalog-csv";
import { catalogDir, catalogFiles } from "../../src/offers/catalog-folder";
import { catalogCachePath, readCatalogCache } from "../../src/offers/catalog-cache";
import { DstackError } from "../../src/diagnostics";
import { FIXTURE_CATALOG } from "./runspec-fixture";

const HEADER = CATALOG_COLUMNS.join(",");
const GOOD = "g5.xlarge,us-east-1,1.006,4,16.0,1,A10G,24.0,False,,nvidia,,x86,{}";

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-catalog-"));
  clearCatalogCache();
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(name: string, lines: string[], eol = "\n"): string {
  const dir = path.join(tmp, "cat");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), lines.join(eol) + eol);
  return dir;
}

function loadError(dir: string): DstackError {
  try {
    loadCatalogs({ dir, cache: false });
  } catch (err) {
    if (err instanceof DstackError) return err;
    throw err;
  }
  throw new Error("expected a DstackError");
}

describe("validation", () => {
  test("bad rows are reported by file and line, every one of them", () => {
    const dir = write("aws.csv", [
      HEADER,
      GOOD,
      "g5.xlarge,us-east-1,-1,4,16.0,1,A10G,24.0,False,,nvidia,,x86,{}", // line 3: negative price
      "g5.xlarge,us-east-1,abc,4,16.0,1,A10G,24.0,False,,nvidia,,x86,{}", // line 4: not a number
      "g5.xlarge,us-east-1,1.0,4,16.0,1,,24.0,False,,nvidia,,x86,{}", // line 5: GPU count without name
      "t3.nano,us-east-1,0.0052,2,0.5,0,,,Maybe,,,,x86,{}", // line 6: unknown boolean
      "t3.nano,us-east-1,0.0052,2,0.5,0,T4,,False,,,,x86,{}", // line 7: CPU row with a GPU name
      "t3.nano,us-east-1,0.0052,2,0.5,0,,,False,,,,sparc,{}", // line 8: unknown arch
      "t3.nano,us-east-1,0.0052,2,0.5,0,,,False,,,,x86,[1]", // line 9: provider_data not an object
      "t3.nano,us-east-1,0.0052,2,0.5,0,,,False,,,,x86", // line 10: 13 fields
      "t3.nano,us-east-1,0.0052,2.5,0.5,0,,,False,,,,x86,{}", // line 11: fractional cpu
      "g5.xlarge,us-east-1,1.006,4,16.0,1,A10G,24.0,False,,nvidiaa,,x86,{}", // line 12: unknown vendor
    ]);
    const err = loadError(dir);
    const rows = err.diagnostics.filter((d) => d.file);
    expect(rows.map((d) => d.line)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(rows.every((d) => d.file === path.join(dir, "aws.csv") && d.code === "E2001")).toBe(true);
    expect(err.message).toContain("10 bad catalog rows (aws.csv:3, aws.csv:4, aws.csv:5");
    expect(rows[0].message).toContain("price must be positive, got -1");
    expect(rows[1].message).toContain('price must be a number, got "abc"');
    expect(rows[2].message).toContain("gpu_name is empty");
    expect(rows[3].message).toContain('spot must be True or False, got "Maybe"');
    expect(rows[4].message).toContain('gpu_count is 0 but gpu_name is "T4"');
    expect(rows[5].message).toContain("cpu_arch must be x86 or arm");
    expect(rows[6].message).toContain("provider_data must be a JSON object");
    expect(rows[7].message).toContain("13 fields, expected 14");
    expect(rows[8].message).toContain("cpu must be a whole number");
    expect(rows[9].message).toContain("gpu_vendor must be one of");
    expect(err.exitCode).toBe(2);
  });

  test("a header without the v2 columns is E2002", () => {
    const dir = write("aws.csv", ["instance_name,location,price", "t3.nano,us-east-1,0.0052"]);
    const err = loadError(dir);
    expect(err.diagnostics[1].code).toBe("E2002");
    expect(err.diagnostics[1].line).toBe(1);
    expect(err.diagnostics[1].message).toContain("cpu, memory, gpu_count");
  });

  test("an unterminated quote is reported at the record's line", () => {
    const dir = write("gcp.csv", [HEADER, GOOD, 'e2-small,us-central1-a,0.1,2,2.0,0,,,False,,,,x86,"{""a"": 1}"', 'e2-small,"us-central1-a,0.1,2,2.0,0,,,False,,,,x86,{}']);
    const err = loadError(dir);
    expect(err.diagnostics[1].line).toBe(4);
    expect(err.diagnostics[1].message).toContain("unterminated quoted field");
  });

  test("an empty folder or a missing one is E2003", () => {
    fs.mkdirSync(path.join(tmp, "empty"));
    expect(loadError(path.join(tmp, "empty")).diagnostics[0].code).toBe("E2003");
    expect(loadError(path.join(tmp, "missing")).diagnostics[0].code).toBe("E2003");
  });
});

describe("format", () => {
  test("CRLF line ends, quoted fields with commas and escaped quotes, columns in any order", () => {
    const reordered = [...CATALOG_COLUMNS].reverse().join(",");
    const dir = write(
      "vastai.csv",
      [
        HEADER,
        '1x-RTX_3060_Ti-32-65536,"Ontario, CA, NA",0.16,32,64.0,1,RTX3060Ti,8.0,False,,nvidia,,x86,{}',
        'e2-small,us-central1-a,0.1,2,2.0,0,,,True,50.0,,,x86,"{""is_dws_calendar_mode"": false}"',
      ],
      "\r\n",
    );
    fs.writeFileSync(path.join(dir, "oci.csv"), `${reordered}\n{},x86,oci-spot,,,True,,,0,8.0,2,0.0185,eu-stockholm-1,VM.Standard.E4.Flex$_2_8\n`);
    const c = loadCatalogs({ dir, cache: false });
    expect(c.size).toBe(3);
    const offers = Array.from({ length: c.size }, (_, i) => c.offer(i));
    expect(offers.map((o) => o.region)).toEqual(["eu-stockholm-1", "us-central1-a", "Ontario, CA, NA"]);
    expect(offers[0]).toMatchObject({ backend: "oci", instance_type: "VM.Standard.E4.Flex$_2_8", spot: true, flags: ["oci-spot"], cpu: 2, memory: 8 });
    expect(offers[1]).toMatchObject({ backend: "vastai", disk: 50, provider_data: { is_dws_calendar_mode: false } });
  });

  test("UTF-8 text and a byte-order mark", () => {
    const dir = write("vastai.csv", ["\ufeff" + HEADER, '1x-RTX_4090-32-65536,"São Paulo, BR, SA",0.3,32,64.0,1,RTX4090,24.0,False,,nvidia,,x86,{}']);
    const c = loadCatalogs({ dir, cache: false });
    expect(c.offer(0).region).toBe("São Paulo, BR, SA");
  });

  test("file names become dstack backends; GCP zones become regions", () => {
    const c = loadCatalogs({ dir: FIXTURE_CATALOG, cache: false });
    expect(c.backendNames()).toEqual(["aws", "azure", "gcp", "lambda", "runpod", "vastai"]);
    const gcp = Array.from({ length: c.size }, (_, i) => c.offer(i)).filter((o) => o.backend === "gcp");
    expect(gcp.find((o) => o.instance_type === "e2-standard-2")).toMatchObject({ region: "us-central1", zone: "us-central1-a" });
    expect(gcp.find((o) => o.instance_type === "v5litepod-8")).toMatchObject({ region: "us-central1", zone: null, gpu_vendor: "google" });
  });

  test("rows are sorted by price with deterministic ties, whatever the file order", () => {
    const c = loadCatalogs({ dir: FIXTURE_CATALOG, cache: false });
    for (let i = 1; i < c.size; i++) expect(c.cols.price[i]).toBeGreaterThanOrEqual(c.cols.price[i - 1]);
    // the same rows reversed within each file load into the same order
    const dir = path.join(tmp, "rev");
    fs.mkdirSync(dir);
    for (const f of catalogFiles(FIXTURE_CATALOG)) {
      const [head, ...rows] = fs.readFileSync(f, "utf8").trim().split("\n");
      fs.writeFileSync(path.join(dir, path.basename(f)), [head, ...rows.reverse()].join("\n") + "\n");
    }
    const r = loadCatalogs({ dir, cache: false });
    const strip = (o: ReturnType<typeof c.offer>) => ({ ...o });
    expect(Array.from({ length: r.size }, (_, i) => strip(r.offer(i)))).toEqual(Array.from({ length: c.size }, (_, i) => strip(c.offer(i))));
  });
});

describe("where catalogs come from", () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  test("DSTACK_CATALOG_DIR replaces the shipped folder", () => {
    const dir = write("aws.csv", [HEADER, GOOD]);
    process.env.DSTACK_CATALOG_DIR = dir;
    expect(catalogDir()).toBe(dir);
    const c = loadCatalogs({ cache: false });
    expect(c.size).toBe(1);
    expect(c.offer(0).instance_type).toBe("g5.xlarge");
    delete process.env.DSTACK_CATALOG_DIR;
    expect(catalogDir()).toBe(path.resolve(__dirname, "..", "..", "catalog"));
  });

  test("loadCatalogs is cached per process", () => {
    const dir = write("aws.csv", [HEADER, GOOD]);
    expect(loadCatalogs({ dir, cache: false })).toBe(loadCatalogs({ dir, cache: false }));
  });

  test("the binary cache under DSTACK_HOME/cache round-trips and is rebuilt when a file changes", () => {
    process.env.DSTACK_HOME = path.join(tmp, "home");
    const dir = write("aws.csv", [HEADER, GOOD]);
    fs.copyFileSync(path.join(FIXTURE_CATALOG, "gcp.csv"), path.join(dir, "gcp.csv"));
    const files = catalogFiles(dir);
    const parsed = loadCatalogs({ dir });
    expect(fs.existsSync(catalogCachePath(files))).toBe(true);
    expect(catalogCachePath(files).startsWith(path.join(tmp, "home", "cache"))).toBe(true);
    const cached = readCatalogCache(files)!;
    expect(cached).toBeDefined();
    expect(Array.from({ length: cached.size }, (_, i) => cached.offer(i))).toEqual(Array.from({ length: parsed.size }, (_, i) => parsed.offer(i)));
    const built = parseCatalogFiles(files).indexes();
    expect(cached.indexes()).toEqual(built);
    expect(Array.from(cached.rowsWithGpuName(cached.cols.gpuNames.indexOf("A100"))).map((i) => cached.offer(i).instance_type)).toEqual([
      "a2-highgpu-1g",
      "a2-ultragpu-1g",
      "a2-highgpu-1g",
    ]);
    // change a file: the cache no longer applies and the next load sees the new row
    fs.appendFileSync(path.join(dir, "aws.csv"), "t3.nano,us-east-1,0.0052,2,0.5,0,,,False,,,,x86,{}\n");
    const t = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(dir, "aws.csv"), t, t);
    expect(readCatalogCache(files)).toBeUndefined();
    clearCatalogCache();
    expect(loadCatalogs({ dir }).size).toBe(parsed.size + 1);
  });
});

describe("the shipped catalog", () => {
  test("loads every row of every provider and keeps its sources", () => {
    const dir = path.resolve(__dirname, "..", "..", "catalog");
    const c = parseCatalogFiles(catalogFiles(dir));
    expect(c.size).toBe(49477);
    expect(c.backendNames()).toEqual(["aws", "azure", "digitalocean", "gcp", "lambda", "nebius", "oci", "runpod", "seeweb", "vastai"]);
    const sources = fs.readFileSync(path.join(dir, "SOURCES.md"), "utf8");
    expect(sources).toContain("commit 62ff0a987e0c257a89235415d2877812fb1aaf29 (2026-05-20)");
    expect(sources).toContain("Total: 49477 rows.");
  });
});
