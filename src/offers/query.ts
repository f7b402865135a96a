/**
 * One compiled query over one Catalog: the requirements turned into per-id lookup tables
 * (allowed GPU names, backends, regions, instance types) and numeric bounds, tested row by row
 * over typed arrays. Each constraint has a bit, so the same code answers "does row i match"
 * and "which constraints does row i break" (for the empty-result explanation).
 */
import type { Range } from "../config/runspec";
import { ARCH_CODES, Catalog, type CatalogColumns, VENDOR_CODES } from "./catalog-table";
import { ccNumber, computeCapabilityOf, normalizeGpuName } from "./gpus";
import type { Requirements } from "./requirements";

/** Constraint bits. */
export const C = {
  GPU: 1,
  CPU_ARCH: 2,
  CPU: 4,
  MEMORY: 8,
  DISK: 16,
  SPOT: 32,
  INSTANCE_TYPES: 64,
  BACKENDS: 128,
  CONFIGURED: 256,
  REGIONS: 512,
  ZONES: 1024,
  MAX_PRICE: 2048,
} as const;
export const ALL_CONSTRAINTS = 4095;

export type ConstraintName =
  | "gpu"
  | "cpu_arch"
  | "cpu"
  | "memory"
  | "disk"
  | "spot_policy"
  | "instance_types"
  | "backends"
  | "configured_backends"
  | "regions"
  | "availability_zones"
  | "max_price";

export const CONSTRAINT_NAMES: [number, ConstraintName][] = [
  [C.GPU, "gpu"],
  [C.CPU_ARCH, "cpu_arch"],
  [C.CPU, "cpu"],
  [C.MEMORY, "memory"],
  [C.DISK, "disk"],
  [C.SPOT, "spot_policy"],
  [C.INSTANCE_TYPES, "instance_types"],
  [C.BACKENDS, "backends"],
  [C.CONFIGURED, "configured_backends"],
  [C.REGIONS, "regions"],
  [C.ZONES, "availability_zones"],
  [C.MAX_PRICE, "max_price"],
];

export function constraintNames(bits: number): ConstraintName[] {
  return CONSTRAINT_NAMES.filter(([b]) => bits & b).map(([, n]) => n);
}

const lo = (r: Range | null) => (r && r.min !== null ? r.min : -Infinity);
const hi = (r: Range | null) => (r && r.max !== null ? r.max : Infinity);

/** A mask over a string table: 1 where the (lower-cased) entry is in `wanted`. */
function maskOf(table: string[], wanted: string[] | null, normalize: (s: string) => string = (s) => s): Uint8Array | null {
  if (!wanted) return null;
  const set = new Set(wanted);
  const mask = new Uint8Array(table.length);
  for (let k = 0; k < table.length; k++) if (set.has(normalize(table[k]))) mask[k] = 1;
  return mask;
}

export class CatalogQuery {
  readonly catalog: Catalog;
  private readonly cpuLo: number;
  private readonly cpuHi: number;
  private readonly memLo: number;
  private readonly memHi: number;
  private readonly diskLo: number;
  private readonly diskHi: number;
  private readonly gpuCountLo: number;
  private readonly gpuCountHi: number;
  private readonly gpuMemLo: number;
  private readonly gpuMemHi: number;
  private readonly gpuTotalLo: number;
  private readonly gpuTotalHi: number;
  /** When the minimum GPU count is 0, CPU-only rows skip the GPU checks. */
  private readonly cpuRowsSkipGpu: boolean;
  private readonly vendorCode: number;
  private readonly gpuNameOk: Uint8Array | null;
  /** Compute capability per GPU-name id (-1 unknown or not NVIDIA); null when not asked. */
  private readonly ccOk: Uint8Array | null;
  private readonly archCode: number;
  private readonly spot: number;
  private readonly maxPrice: number;
  private readonly backendOk: Uint8Array | null;
  private readonly configuredOk: Uint8Array | null;
  /** Per backend id: the regions config.yml allows (null = all). */
  private readonly configuredRegionOk: (Uint8Array | null)[] | null;
  private readonly regionOk: Uint8Array | null;
  private readonly zoneOk: Uint8Array | null;
  private readonly instanceOk: Uint8Array | null;
  /** Which rows to visit (price order); null = all. */
  private readonly candidates: Uint32Array | null;
  /** Zones named in the `regions` list (a region list may name a zone exactly). */
  private zoneByRegionList: Uint8Array | null = null;
  /** Whether any row can pass the backend checks at all. */
  readonly anyBackend: boolean;

  /**
   * @param configured dstack backend names that may be offered (`null` = every catalog).
   * @param configuredRegions per configured backend, the regions it may use (absent = all).
   */
  constructor(catalog: Catalog, req: Requirements, configured: string[] | null, configuredRegions?: Record<string, string[]>) {
    this.catalog = catalog;
    const c = catalog.cols;
    this.cpuLo = lo(req.cpu);
    this.cpuHi = hi(req.cpu);
    this.memLo = lo(req.memory);
    this.memHi = hi(req.memory);
    this.diskLo = lo(req.disk);
    this.diskHi = hi(req.disk);
    const g = req.gpu;
    this.gpuCountLo = lo(g.count);
    this.gpuCountHi = hi(g.count);
    this.gpuMemLo = lo(g.memory);
    this.gpuMemHi = hi(g.memory);
    this.gpuTotalLo = lo(g.totalMemory);
    this.gpuTotalHi = hi(g.totalMemory);
    this.cpuRowsSkipGpu = (g.count.min ?? 0) <= 0;
    this.vendorCode = g.vendor ? VENDOR_CODES.indexOf(g.vendor) : 0;
    this.gpuNameOk = maskOf(c.gpuNames, g.names, normalizeGpuName);
    if (g.cc !== null) {
      const min = g.cc;
      this.ccOk = Uint8Array.from(c.gpuNames, (name) => {
        const cc = name ? computeCapabilityOf(name) : null;
        return cc && ccNumber(cc) >= min ? 1 : 0;
      });
    } else this.ccOk = null;
    this.archCode = req.cpuArch ? ARCH_CODES.indexOf(req.cpuArch) : -1;
    this.spot = req.spot === null ? -1 : req.spot ? 1 : 0;
    this.maxPrice = req.maxPrice ?? Infinity;
    this.backendOk = maskOf(c.backends, req.backends);
    this.configuredOk = maskOf(c.backends, configured);
    if (configured && configuredRegions && Object.keys(configuredRegions).length) {
      this.configuredRegionOk = c.backends.map((b) => {
        const allowed = configuredRegions[b]?.map((r) => r.toLowerCase());
        return allowed ? Uint8Array.from(catalog.regionsLower, (r) => (allowed.includes(r) ? 1 : 0)) : null;
      });
    } else this.configuredRegionOk = null;
    this.regionOk = req.regions ? Uint8Array.from(c.regions, (r) => (req.regions!.includes(r.toLowerCase()) ? 1 : 0)) : null;
    this.zoneOk = req.zones ? maskOf(catalog.zonesLower, req.zones) : null;
    if (this.regionOk && req.regions) {
      // a region list may also name a zone exactly (us-central1-a)
      const zoneByName = maskOf(catalog.zonesLower, req.regions);
      if (zoneByName && zoneByName.some((x) => x === 1)) this.zoneByRegionList = zoneByName;
    }
    this.instanceOk = req.instanceTypes ? maskOf(catalog.instancesLower, req.instanceTypes) : null;
    this.anyBackend =
      (!this.backendOk || this.backendOk.some((x) => x === 1)) && (!this.configuredOk || this.configuredOk.some((x) => x === 1));
    this.candidates = this.pickCandidates(req);
  }

  /** The smallest price-ordered row list that holds every possible match. */
  private pickCandidates(req: Requirements): Uint32Array | null {
    const cat = this.catalog;
    if (!this.cpuRowsSkipGpu && this.gpuNameOk) {
      const lists: Uint32Array[] = [];
      this.gpuNameOk.forEach((ok, id) => {
        if (ok) lists.push(cat.rowsWithGpuName(id));
      });
      if (lists.length === 1) return lists[0];
      let total = 0;
      for (const l of lists) total += l.length;
      const merged = new Uint32Array(total);
      let k = 0;
      for (const l of lists) {
        merged.set(l, k);
        k += l.length;
      }
      return merged.sort(); // row ids are in price order
    }
    if (!this.cpuRowsSkipGpu) return cat.gpuRows();
    if (req.gpu.count.max === 0) return cat.cpuRows();
    return null;
  }

  /**
   * The constraints row `i` breaks, ignoring those in `skip`. With `all` false it stops at the
   * first one (the hot path: a non-zero result means "no match").
   */
  fails(i: number, skip: number, all: boolean): number {
    const c = this.catalog.cols;
    let bad = 0;
    if (!(skip & C.CONFIGURED) && this.configuredOk) {
      const b = c.backend[i];
      if (!this.configuredOk[b] || (this.configuredRegionOk !== null && this.configuredRegionOk[b] !== null && !this.configuredRegionOk[b][c.region[i]])) {
        bad |= C.CONFIGURED;
        if (!all) return bad;
      }
    }
    if (!(skip & C.BACKENDS) && this.backendOk && !this.backendOk[c.backend[i]]) {
      bad |= C.BACKENDS;
      if (!all) return bad;
    }
    if (!(skip & C.MAX_PRICE) && c.price[i] > this.maxPrice) {
      bad |= C.MAX_PRICE;
      if (!all) return bad;
    }
    if (!(skip & C.SPOT) && this.spot >= 0 && c.spot[i] !== this.spot) {
      bad |= C.SPOT;
      if (!all) return bad;
    }
    if (!(skip & C.GPU) && !this.gpuOk(i)) {
      bad |= C.GPU;
      if (!all) return bad;
    }
    if (!(skip & C.CPU_ARCH) && this.archCode >= 0 && c.arch[i] !== this.archCode) {
      bad |= C.CPU_ARCH;
      if (!all) return bad;
    }
    if (!(skip & C.CPU)) {
      const v = c.cpu[i];
      if (v < this.cpuLo || v > this.cpuHi) {
        bad |= C.CPU;
        if (!all) return bad;
      }
    }
    if (!(skip & C.MEMORY)) {
      const v = c.memory[i];
      if (v < this.memLo || v > this.memHi) {
        bad |= C.MEMORY;
        if (!all) return bad;
      }
    }
    if (!(skip & C.DISK)) {
      const v = c.disk[i]; // NaN (not reported) passes
      if (v < this.diskLo || v > this.diskHi) {
        bad |= C.DISK;
        if (!all) return bad;
      }
    }
    if (!(skip & C.REGIONS) && this.regionOk && !this.regionOk[c.region[i]] && !(this.zoneByRegionList && this.zoneByRegionList[c.zone[i]])) {
      bad |= C.REGIONS;
      if (!all) return bad;
    }
    if (!(skip & C.ZONES) && this.zoneOk && c.zone[i] !== 0 && !this.zoneOk[c.zone[i]]) {
      bad |= C.ZONES;
      if (!all) return bad;
    }
    if (!(skip & C.INSTANCE_TYPES) && this.instanceOk && !this.instanceOk[c.instance[i]]) {
      bad |= C.INSTANCE_TYPES;
      if (!all) return bad;
    }
    return bad;
  }

  private gpuOk(i: number): boolean {
    const c = this.catalog.cols;
    const n = c.gpuCount[i];
    if (n === 0 && this.cpuRowsSkipGpu) return true;
    if (n < this.gpuCountLo || n > this.gpuCountHi) return false;
    if (n === 0) return true;
    if (this.vendorCode && c.vendor[i] !== this.vendorCode) return false;
    const name = c.gpuName[i];
    if (this.gpuNameOk && !this.gpuNameOk[name]) return false;
    if (this.ccOk && (!this.ccOk[name] || c.vendor[i] !== 1)) return false;
    const mem = c.gpuMemory[i];
    if (mem < this.gpuMemLo || mem > this.gpuMemHi) return false;
    const total = mem * n;
    if (total < this.gpuTotalLo || total > this.gpuTotalHi) return false;
    return true;
  }

  /**
   * Scans every candidate row in price order: counts the matches (ignoring `skip`), notes the
   * highest matching price, and keeps the first `limit` matches plus any that tie on price
   * with the last one kept (so tie-breaks can be applied exactly).
   */
  scan(limit: number, skip = 0): ScanResult {
    if (!this.anyBackend && !(skip & (C.BACKENDS | C.CONFIGURED))) return { total: 0, maxPrice: -Infinity, rows: [] };
    const cand = skip & C.GPU ? null : this.candidates;
    if (skip === 0) {
      this.compiled ??= this.compile();
      return this.compiled(cand, cand ? cand.length : this.catalog.size, limit);
    }
    const rows: number[] = [];
    let total = 0;
    let maxPrice = -Infinity;
    const price = this.catalog.cols.price;
    let cut = limit > 0 ? Infinity : -Infinity;
    const n = cand ? cand.length : this.catalog.size;
    for (let k = 0; k < n; k++) {
      const i = cand ? cand[k] : k;
      if (this.fails(i, skip, false) !== 0) continue;
      total++;
      const p = price[i];
      maxPrice = p;
      if (p <= cut) {
        rows.push(i);
        if (rows.length === limit) cut = p;
      }
    }
    return { total, maxPrice, rows };
  }

  private compiled: CompiledScan | undefined;

  /**
   * The hot path: a scan loop generated for this query with only its active checks, over local
   * typed arrays (no per-row calls, no tests of constraints the spec does not set). Rows are in
   * price order, so a price limit ends the loop. The source holds only fixed code fragments;
   * every value is read from the query (`Q`) and the catalog's columns (`C`).
   */
  private compile(): CompiledScan {
    // the checks this query needs, as bits: the generated function is cached per set of checks
    const fin = (x: number) => Number.isFinite(x);
    const checks: [boolean, string][] = [
      [fin(this.maxPrice), "if (price[i] > Q.maxPrice) break;"],
      [this.configuredOk !== null, "if (!Q.configuredOk[backend[i]]) continue;"],
      [this.configuredRegionOk !== null, "{ const rm = Q.configuredRegionOk[backend[i]]; if (rm !== null && !rm[region[i]]) continue; }"],
      [this.backendOk !== null, "if (!Q.backendOk[backend[i]]) continue;"],
      [this.spot >= 0, "if (spot[i] !== Q.spot) continue;"],
      [!this.cpuRowsSkipGpu, "{ const n = gpuCount[i]; if (n === 0) continue;"],
      [this.cpuRowsSkipGpu, "{ const n = gpuCount[i]; if (n !== 0) {"],
      [fin(this.gpuCountLo) && this.gpuCountLo > 1, "if (n < Q.gpuCountLo) continue;"],
      [fin(this.gpuCountHi), "if (n > Q.gpuCountHi) continue;"],
      [this.vendorCode !== 0, "if (vendor[i] !== Q.vendorCode) continue;"],
      [this.gpuNameOk !== null, "if (!Q.gpuNameOk[gpuName[i]]) continue;"],
      [this.ccOk !== null, "if (!Q.ccOk[gpuName[i]] || vendor[i] !== 1) continue;"],
      [
        fin(this.gpuMemLo) || fin(this.gpuMemHi) || fin(this.gpuTotalLo) || fin(this.gpuTotalHi),
        "{ const m = gpuMemory[i]; if (m < Q.gpuMemLo || m > Q.gpuMemHi) continue; const t = m * n; if (t < Q.gpuTotalLo || t > Q.gpuTotalHi) continue; }",
      ],
      [!this.cpuRowsSkipGpu, "}"],
      [this.cpuRowsSkipGpu, "} }"],
      [this.archCode >= 0, "if (arch[i] !== Q.archCode) continue;"],
      [fin(this.cpuLo) || fin(this.cpuHi), "{ const v = cpu[i]; if (v < Q.cpuLo || v > Q.cpuHi) continue; }"],
      [fin(this.memLo) || fin(this.memHi), "{ const v = memory[i]; if (v < Q.memLo || v > Q.memHi) continue; }"],
      [fin(this.diskLo) || fin(this.diskHi), "{ const v = disk[i]; if (v < Q.diskLo || v > Q.diskHi) continue; }"],
      [this.regionOk !== null, "if (!Q.regionOk[region[i]] && !(Q.zoneByRegionList !== null && Q.zoneByRegionList[zone[i]])) continue;"],
      [this.zoneOk !== null, "if (zone[i] !== 0 && !Q.zoneOk[zone[i]]) continue;"],
      [this.instanceOk !== null, "if (!Q.instanceOk[instance[i]]) continue;"],
    ];
    let shape = 0;
    checks.forEach(([on], k) => {
      if (on) shape |= 1 << k;
    });
    let scan = scanFunctions.get(shape);
    if (!scan) {
      const src = [
        "const { price, cpu, memory, disk, gpuCount, gpuName, gpuMemory, vendor, spot, arch, backend, region, zone, instance } = C;",
        "const rows = []; let total = 0; let maxPrice = -Infinity; let cut = limit > 0 ? Infinity : -Infinity;",
        "for (let k = 0; k < count; k++) {",
        "  const i = cand === null ? k : cand[k];",
        ...checks.filter(([on]) => on).map(([, code]) => `  ${code}`),
        "  total++; const p = price[i]; maxPrice = p;",
        "  if (p <= cut) { rows.push(i); if (rows.length === limit) cut = p; }",
        "}",
        "return { total, maxPrice, rows };",
      ].join("\n");
      scan = new Function("C", "Q", "cand", "count", "limit", src) as GeneratedScan;
      scanFunctions.set(shape, scan);
    }
    const generated = scan;
    const cols = this.catalog.cols;
    return (cand, count, limit) => generated(cols, this, cand, count, limit);
  }
}

export interface ScanResult {
  total: number;
  maxPrice: number;
  rows: number[];
}

/** Generated scans by the set of checks they make: queries of the same shape share compiled code. */
const scanFunctions = new Map<number, GeneratedScan>();
type GeneratedScan = (cols: CatalogColumns, query: CatalogQuery, cand: Uint32Array | null, count: number, limit: number) => ScanResult;

type CompiledScan = (cand: Uint32Array | null, count: number, limit: number) => ScanResult;
