/**
 * bench/offers: catalog load, one offer query over every shipped catalog (49,477 rows), the
 * same queries over a catalog replicated past 1,000,000 rows, a naive linear scan over row
 * objects (written here, as the baseline; ratios are naive / ours), and `dstack offer --gpu A100
 * --json` end to end from a cold process. Every figure is measured in this run.
 *
 *   npm run build && node dist/bench/offers.js
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULT_RESOURCES, type ResourcesSpec } from "../src/config/runspec";
import { parseCatalogFiles } from "../src/offers/catalog-csv";
import { catalogFiles } from "../src/offers/catalog-folder";
import { Catalog, type CatalogColumns } from "../src/offers/catalog-table";
import { readCatalogCache, writeCatalogCache } from "../src/offers/catalog-cache";
import { findOffers } from "../src/offers/find";
import { computeCapabilityOf, normalizeGpuName } from "../src/offers/gpus";
import type { Offer } from "../src/offers/offer";
import { requirementsOf, type OfferRequest, type Requirements } from "../src/offers/requirements";
import { packageRoot } from "../src/paths";

const root = packageRoot();
const shippedDir = path.join(root, "catalog");

// ---------------------------------------------------------------------------------------------
// timing

function stats(samples: number[]): { p50: number; p90: number; min: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { p50: at(0.5), p90: at(0.9), min: s[0] };
}

function time<T>(fn: () => T, iterations: number, warmup = Math.min(20, iterations)): { p50: number; p90: number; min: number; result: T } {
  let result = fn();
  for (let k = 0; k < warmup; k++) result = fn();
  const samples: number[] = [];
  for (let k = 0; k < iterations; k++) {
    const t = process.hrtime.bigint();
    result = fn();
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return { ...stats(samples), result };
}

const ms = (x: number) => (x < 1 ? `${(x * 1000).toFixed(0)} µs` : `${x.toFixed(1)} ms`);
const line = (label: string, value: string) => process.stdout.write(`${label.padEnd(58)} ${value}\n`);

// ---------------------------------------------------------------------------------------------
// queries (specs as `dstack offer` builds them)

function request(resources: Partial<ResourcesSpec>, extra: Partial<OfferRequest> = {}): OfferRequest {
  return {
    resources: { ...DEFAULT_RESOURCES, ...resources },
    image: null,
    spot_policy: "auto",
    max_price: null,
    backends: null,
    regions: null,
    instance_types: null,
    ...extra,
  };
}

const gpu = (g: Partial<ResourcesSpec["gpu"]>): ResourcesSpec["gpu"] => ({ ...DEFAULT_RESOURCES.gpu, count: { min: 1, max: null }, ...g });

const QUERIES: [string, OfferRequest][] = [
  ["--gpu A100", request({ gpu: gpu({ vendor: "nvidia", name: ["A100"] }) })],
  ["--gpu H100:8 --on-demand --max-price 100", request({ gpu: gpu({ vendor: "nvidia", name: ["H100"], count: { min: 8, max: 8 } }) }, { spot_policy: "on-demand", max_price: 100 })],
  ["--gpu 24GB.. (memory only: nvidia, every GPU row)", request({ gpu: gpu({ memory: { min: 24, max: null } }) })],
  ["defaults (cpu 2.., mem 8GB.., any GPU: every row)", request({})],
];

// ---------------------------------------------------------------------------------------------
// the naive baseline: row objects, one predicate per row, sort, slice

interface Row extends Offer {
  _cc: number;
}

function rowsOf(catalog: Catalog): Row[] {
  const rows: Row[] = [];
  for (let i = 0; i < catalog.size; i++) {
    const o = catalog.offer(i) as Row;
    const cc = o.gpu_name ? computeCapabilityOf(o.gpu_name) : null;
    o._cc = cc ? cc[0] * 100 + cc[1] : -1;
    rows.push(o);
  }
  return rows;
}

const within = (v: number, r: { min: number | null; max: number | null } | null) => !r || ((r.min === null || v >= r.min) && (r.max === null || v <= r.max));

function naiveMatch(o: Row, q: Requirements): boolean {
  if (q.backends && !q.backends.includes(o.backend)) return false;
  if (q.maxPrice !== null && o.price > q.maxPrice) return false;
  if (q.spot !== null && o.spot !== q.spot) return false;
  if (q.cpuArch && o.cpu_arch !== q.cpuArch) return false;
  if (!within(o.cpu, q.cpu) || !within(o.memory, q.memory)) return false;
  if (o.disk !== null && !within(o.disk, q.disk)) return false;
  if (q.regions && !q.regions.includes(o.region.toLowerCase())) return false;
  if (q.instanceTypes && !q.instanceTypes.includes(o.instance_type.toLowerCase())) return false;
  const g = q.gpu;
  if (o.gpu_count === 0 && (g.count.min ?? 0) <= 0) return true;
  if (!within(o.gpu_count, g.count)) return false;
  if (o.gpu_count === 0) return true;
  if (g.vendor && o.gpu_vendor !== g.vendor) return false;
  if (g.names && !g.names.includes(normalizeGpuName(o.gpu_name ?? ""))) return false;
  if (g.cc !== null && (o.gpu_vendor !== "nvidia" || o._cc < g.cc)) return false;
  if (!within(o.gpu_memory ?? 0, g.memory) || !within((o.gpu_memory ?? 0) * o.gpu_count, g.totalMemory)) return false;
  return true;
}

function naiveQuery(rows: Row[], spec: OfferRequest, limit: number): { total: number; offers: Row[] } {
  const q = requirementsOf(spec);
  const matches = rows.filter((o) => naiveMatch(o, q));
  matches.sort((a, b) => a.price - b.price);
  return { total: matches.length, offers: matches.slice(0, limit) };
}

// ---------------------------------------------------------------------------------------------
// replication: the shipped rows, each repeated k times in place (price order is kept)

function replicate(c: Catalog, k: number): Catalog {
  const src = c.cols;
  const n = src.size * k;
  const rep = <T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(a: T, make: (n: number) => T): T => {
    const out = make(n);
    for (let i = 0; i < src.size; i++) out.fill(a[i], i * k, i * k + k);
    return out;
  };
  const cols: CatalogColumns = {
    ...src,
    size: n,
    price: rep(src.price, (m) => new Float64Array(m)),
    cpu: rep(src.cpu, (m) => new Uint16Array(m)),
    memory: rep(src.memory, (m) => new Float64Array(m)),
    disk: rep(src.disk, (m) => new Float64Array(m)),
    gpuCount: rep(src.gpuCount, (m) => new Uint16Array(m)),
    gpuName: rep(src.gpuName, (m) => new Uint16Array(m)),
    gpuMemory: rep(src.gpuMemory, (m) => new Float64Array(m)),
    vendor: rep(src.vendor, (m) => new Uint8Array(m)),
    spot: rep(src.spot, (m) => new Uint8Array(m)),
    arch: rep(src.arch, (m) => new Uint8Array(m)),
    backend: rep(src.backend, (m) => new Uint8Array(m)),
    region: rep(src.region, (m) => new Uint16Array(m)),
    zone: rep(src.zone, (m) => new Uint16Array(m)),
    instance: rep(src.instance, (m) => new Uint32Array(m)),
    flags: rep(src.flags, (m) => new Uint16Array(m)),
    providerData: rep(src.providerData, (m) => new Uint32Array(m)),
    file: rep(src.file, (m) => new Uint16Array(m)),
    line: rep(src.line, (m) => new Uint32Array(m)),
  };
  return new Catalog(cols);
}

// ---------------------------------------------------------------------------------------------

function main(): void {
  const tmpHome = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-bench-offers-"));
  process.env.DSTACK_HOME = tmpHome;
  try {
    run(tmpHome);
  } finally {
    fs.rmSync(tmpHome, { recursive: true, force: true });
  }
}

function run(tmpHome: string): void {
  process.stdout.write(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), load ${os.loadavg()[0].toFixed(2)}\n\n`);
  const files = catalogFiles(shippedDir);

  // --- load
  process.stdout.write("catalog load (shipped: " + files.length + " CSV files)\n");
  const firstT = process.hrtime.bigint();
  const catalog = parseCatalogFiles(files);
  const first = Number(process.hrtime.bigint() - firstT) / 1e6;
  line(`  parse + validate CSV, first in process (${catalog.size} rows)`, ms(first));
  const parse = time(() => parseCatalogFiles(files), 5, 1);
  line("  parse + validate CSV, warm, p50", ms(parse.p50));
  writeCatalogCache(files, catalog);
  const cacheRead = time(() => readCatalogCache(files)!, 30, 3);
  line("  read the binary cache (DSTACK_HOME/cache), p50", ms(cacheRead.p50));
  const rowsT = time(() => rowsOf(catalog), 3, 1);
  line("  baseline: build row objects for the naive scan, p50", ms(rowsT.p50));
  const rows = rowsT.result;

  // --- query over the shipped catalogs
  process.stdout.write(`\none query over all shipped catalogs (${catalog.size} rows), top 50, p50 / p90\n`);
  for (const [label, spec] of QUERIES) {
    const ours = time(() => findOffers(spec, { catalog, limit: 50 }), 300);
    const naive = time(() => naiveQuery(rows, spec, 50), 50);
    if (ours.result.total !== naive.result.total || ours.result.offers[0]?.price !== naive.result.offers[0]?.price) {
      throw new Error(`baseline disagrees on ${label}: ${ours.result.total} vs ${naive.result.total}`);
    }
    line(`  ${label}`, `${ms(ours.p50)} / ${ms(ours.p90)}  (${ours.result.total} matches)`);
    line(`    naive linear scan`, `${ms(naive.p50)} / ${ms(naive.p90)}  ratio ${(naive.p50 / ours.p50).toFixed(1)}×`);
  }

  // --- replicated
  const k = Math.ceil(1_000_000 / catalog.size);
  const big = replicate(catalog, k);
  const bigRows: Row[] = [];
  for (const r of rows) for (let j = 0; j < k; j++) bigRows.push(r);
  process.stdout.write(`\nthe same queries over the catalog replicated ${k}× (${big.size} rows), top 50, p50 / p90\n`);
  for (const [label, spec] of QUERIES) {
    const ours = time(() => findOffers(spec, { catalog: big, limit: 50 }), 30, 3);
    const naive = time(() => naiveQuery(bigRows, spec, 50), 5, 1);
    if (ours.result.total !== naive.result.total) throw new Error(`baseline disagrees on ${label} (replicated)`);
    const small = time(() => findOffers(spec, { catalog, limit: 50 }), 100).p50;
    line(`  ${label}`, `${ms(ours.p50)} / ${ms(ours.p90)}  (${ours.result.total} matches; ${(ours.p50 / small).toFixed(1)}× the 49k-row time)`);
    line(`    naive linear scan`, `${ms(naive.p50)} / ${ms(naive.p90)}  ratio ${(naive.p50 / ours.p50).toFixed(1)}×`);
  }

  // --- loading at that size: the replicated rows as CSV files
  const bigDir = fs.mkdtempSync(path.join(tmpHome, "replicated-"));
  for (const f of files) {
    const [head, ...body] = fs.readFileSync(f, "utf8").trimEnd().split("\n");
    const chunk = body.join("\n");
    fs.writeFileSync(path.join(bigDir, path.basename(f)), head + "\n" + Array.from({ length: k }, () => chunk).join("\n") + "\n");
  }
  const bigFiles = catalogFiles(bigDir);
  const bigBytes = bigFiles.reduce((a, f) => a + fs.statSync(f).size, 0);
  const bigParse = time(() => parseCatalogFiles(bigFiles), 2, 0);
  line(`  load: parse + validate ${bigParse.result.size} rows (${(bigBytes / 1e6).toFixed(0)} MB of CSV)`, ms(bigParse.p50));
  writeCatalogCache(bigFiles, bigParse.result);
  const bigCache = time(() => readCatalogCache(bigFiles)!, 5, 1);
  line("  load: read its binary cache", ms(bigCache.p50));
  fs.rmSync(bigDir, { recursive: true, force: true });

  // --- end to end
  process.stdout.write("\n`dstack offer --gpu A100 --json` end to end, cold process (all backends), p50 / p90 of 10\n");
  const bin = path.join(root, "bin", "dstack");
  const work = fs.mkdtempSync(path.join(tmpHome, "work-"));
  const spawnTimes = (args: string[], env: NodeJS.ProcessEnv, n = 10) => {
    const samples: number[] = [];
    for (let j = 0; j < n; j++) {
      const t = process.hrtime.bigint();
      const r = spawnSync(process.execPath, [bin, ...args], { cwd: work, env, encoding: "utf8" });
      samples.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (r.status !== 0) throw new Error(`dstack ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
      if (args[0] === "offer" && !((JSON.parse(r.stdout) as { total: number }).total > 0)) throw new Error(`dstack ${args.join(" ")} printed no offers`);
    }
    return stats(samples);
  };
  const env = { ...process.env, DSTACK_HOME: tmpHome, DSTACK_CATALOG_DIR: "" };
  const version = spawnTimes(["--version"], env);
  line("  baseline: `dstack --version` (node + commander startup)", `${ms(version.p50)} / ${ms(version.p90)}`);
  spawnTimes(["offer", "--gpu", "A100", "--json", "--all-backends"], env, 1); // writes the cache
  const warm = spawnTimes(["offer", "--gpu", "A100", "--json", "--all-backends"], env);
  line("  with the catalog cache in DSTACK_HOME/cache", `${ms(warm.p50)} / ${ms(warm.p90)}`);
  const cold = spawnTimes(["offer", "--gpu", "A100", "--json", "--all-backends"], { ...env, DSTACK_CATALOG_CACHE: "0" });
  line("  without the cache (parse + validate every CSV)", `${ms(cold.p50)} / ${ms(cold.p90)}`);

  // where a cold `dstack offer` spends its time: the same steps, timed inside fresh processes
  process.stdout.write("\nthe same, step by step inside a fresh process (cache present), p50 of 10\n");
  const script = `
    const t0 = process.hrtime.bigint(); const at = () => Number(process.hrtime.bigint() - t0) / 1e6; const marks = {};
    const { localOffer } = require(${JSON.stringify(path.join(root, "dist", "src", "offers", "local.js"))});
    const lp = localOffer(); marks.require_local = at();
    const { runSpecFromCommand } = require(${JSON.stringify(path.join(root, "dist", "src", "cli", "run-spec.js"))});
    const { offerRunSpec } = require(${JSON.stringify(path.join(root, "dist", "src", "cli", "run-spec.js"))});
    const spec = offerRunSpec(undefined, { gpu: "A100" }); marks.runspec = at();
    const { loadCatalogs } = require(${JSON.stringify(path.join(root, "dist", "src", "offers", "catalog.js"))});
    const catalog = loadCatalogs(); marks.catalog = at();
    const { findOffers } = require(${JSON.stringify(path.join(root, "dist", "src", "offers", "find.js"))});
    lp.then((local) => { marks.local_offer = at();
      const r = findOffers(spec, { catalog, local, allBackends: true, limit: 50 }); marks.query = at();
      process.stdout.write(JSON.stringify({ marks, total: r.total, runSpecFromCommand: typeof runSpecFromCommand }));
    });`;
  const steps: Record<string, number[]> = {};
  for (let j = 0; j < 10; j++) {
    const r = spawnSync(process.execPath, ["-e", script], { cwd: work, env, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`step timing failed: ${r.stderr}`);
    const { marks } = JSON.parse(r.stdout) as { marks: Record<string, number> };
    let prev = 0;
    for (const [k, v] of Object.entries(marks)) {
      (steps[k] ??= []).push(v - prev);
      prev = v;
    }
  }
  const labels: Record<string, string> = {
    require_local: "load src/offers/local, start asking Docker + nvidia-smi",
    runspec: "RunSpec from flags (src/config: loadRunSpec)",
    catalog: "loadCatalogs() from the binary cache",
    local_offer: "wait for the local offer (Docker /info, statfs)",
    query: "findOffers (load src/offers/find, first query)",
  };
  for (const [k, v] of Object.entries(steps)) line(`  ${labels[k] ?? k}`, ms(stats(v).p50));
}

main();
