/**
 * Offer catalogs: gpuhunt v2 CSV files (one per provider) loaded into one columnar, validated,
 * price-sorted table. Rows are stored as typed arrays (one per column) with interned strings,
 * so a query is a tight loop over numbers; per-GPU-name row lists make GPU queries touch only
 * the rows that can match.
 *
 * Where catalogs come from: `opts.dir`, else `DSTACK_CATALOG_DIR`, else the shipped `catalog/`.
 * The backend of a file is its name (`aws.csv` → `aws`), with gpuhunt's `lambdalabs` → dstack's
 * `lambda`. A binary form of the loaded table is cached under DSTACK_HOME/cache
 * (catalog-cache.ts); `DSTACK_CATALOG_CACHE=0` turns the cache off.
 */
import { isAscii } from "buffer";
import * as fs from "fs";
import * as path from "path";
import type { CpuArch, GpuVendor } from "../config/runspec";
import { Diagnostic, DstackError, ExitCode } from "../diagnostics";
import { packageRoot } from "../paths";
import { CsvSyntaxError, readCsv } from "./csv";
import { vendorOfGpu } from "./gpus";
import type { Offer } from "./offer";

/** gpuhunt's CATALOG_V2_FIELDS, in its order. */
export const CATALOG_COLUMNS = [
  "instance_name",
  "location",
  "price",
  "cpu",
  "memory",
  "gpu_count",
  "gpu_name",
  "gpu_memory",
  "spot",
  "disk_size",
  "gpu_vendor",
  "flags",
  "cpu_arch",
  "provider_data",
] as const;

/** Vendor codes in the `vendor` column; 0 = none (CPU-only). */
export const VENDOR_CODES: readonly (GpuVendor | null)[] = [null, "nvidia", "amd", "google", "intel", "tenstorrent"];
/** Architecture codes in the `arch` column. */
export const ARCH_CODES: readonly CpuArch[] = ["x86", "arm"];

/** gpuhunt provider (file) name → dstack backend name. */
const BACKEND_OF_PROVIDER: Record<string, string> = { lambdalabs: "lambda" };

/** dstack backend name for a catalog file's provider name (`lambdalabs` → `lambda`). */
export function backendOfProvider(provider: string): string {
  const p = provider.toLowerCase();
  return BACKEND_OF_PROVIDER[p] ?? p;
}

/** Normalizes a backend name a user wrote (`Lambda`, `lambdalabs`) to dstack's. */
export function normalizeBackendName(name: string): string {
  return backendOfProvider(name.trim());
}

const GCP_ZONE = /^([a-z]+-[a-z]+\d+)-[a-z]$/;

/** The region and zone of a catalog location: GCP rows are per zone (`us-central1-a`). */
export function regionOf(backend: string, location: string): { region: string; zone: string | null } {
  if (backend === "gcp") {
    const m = GCP_ZONE.exec(location);
    if (m) return { region: m[1], zone: location };
  }
  return { region: location, zone: null };
}

/** The columns of a loaded catalog. String columns hold ids into the tables below. */
export interface CatalogColumns {
  size: number;
  price: Float64Array;
  cpu: Uint16Array;
  memory: Float64Array;
  /** NaN when the row reports no disk. */
  disk: Float64Array;
  gpuCount: Uint16Array;
  /** Id into `gpuNames`; 0 = none. */
  gpuName: Uint16Array;
  /** Per-GPU memory; NaN when none. */
  gpuMemory: Float64Array;
  /** Index into VENDOR_CODES. */
  vendor: Uint8Array;
  spot: Uint8Array;
  /** Index into ARCH_CODES. */
  arch: Uint8Array;
  backend: Uint8Array;
  region: Uint16Array;
  /** Id into `zones`; 0 = none. */
  zone: Uint16Array;
  instance: Uint32Array;
  flags: Uint16Array;
  providerData: Uint32Array;
  file: Uint16Array;
  line: Uint32Array;
  gpuNames: string[];
  backends: string[];
  regions: string[];
  zones: string[];
  instances: string[];
  flagSets: string[];
  providerDatas: string[];
  files: string[];
}

/** Row lists by GPU name (each in price order) and by GPU/CPU-only. */
export interface CatalogIndex {
  /** Row ids grouped by GPU-name id; group `k` is `gpuOrder[gpuStart[k] .. gpuStart[k+1])`. */
  gpuOrder: Uint32Array;
  gpuStart: Uint32Array;
  gpuRows: Uint32Array;
  cpuRows: Uint32Array;
}

/** A validated, price-sorted offer table. Row `i` of every column is one offer. */
export class Catalog {
  readonly size: number;
  readonly cols: CatalogColumns;
  private lower: Partial<Record<"regions" | "zones" | "instances", string[]>> = {};
  private index: CatalogIndex | undefined;
  private parsedProviderData: (Record<string, unknown> | undefined)[] = [];

  constructor(cols: CatalogColumns, index?: CatalogIndex) {
    this.cols = cols;
    this.size = cols.size;
    this.index = index;
  }

  /** Region names, lower-cased (for case-insensitive matching; built on first use). */
  get regionsLower(): string[] {
    return (this.lower.regions ??= this.cols.regions.map((s) => s.toLowerCase()));
  }

  get zonesLower(): string[] {
    return (this.lower.zones ??= this.cols.zones.map((s) => s.toLowerCase()));
  }

  get instancesLower(): string[] {
    return (this.lower.instances ??= this.cols.instances.map((s) => s.toLowerCase()));
  }

  /** Backend names present, sorted. */
  backendNames(): string[] {
    return [...this.cols.backends].sort();
  }

  /** Row ids with the given GPU name id, in price order. */
  rowsWithGpuName(id: number): Uint32Array {
    const x = this.indexes();
    return id + 1 < x.gpuStart.length ? x.gpuOrder.subarray(x.gpuStart[id], x.gpuStart[id + 1]) : new Uint32Array(0);
  }

  /** Row ids with at least one GPU, in price order. */
  gpuRows(): Uint32Array {
    return this.indexes().gpuRows;
  }

  /** Row ids without GPUs, in price order. */
  cpuRows(): Uint32Array {
    return this.indexes().cpuRows;
  }

  /** The row lists queries start from (built on first use; stored in the binary cache). */
  indexes(): CatalogIndex {
    if (this.index) return this.index;
    const { gpuName, gpuCount, size } = this.cols;
    const names = this.cols.gpuNames.length;
    const gpuStart = new Uint32Array(names + 1);
    let gpu = 0;
    for (let i = 0; i < size; i++) {
      gpuStart[gpuName[i] + 1]++;
      if (gpuCount[i] > 0) gpu++;
    }
    for (let k = 0; k < names; k++) gpuStart[k + 1] += gpuStart[k];
    const fill = gpuStart.slice(0, names);
    const gpuOrder = new Uint32Array(size);
    const gpuRows = new Uint32Array(gpu);
    const cpuRows = new Uint32Array(size - gpu);
    let g = 0;
    let c = 0;
    for (let i = 0; i < size; i++) {
      gpuOrder[fill[gpuName[i]]++] = i;
      if (gpuCount[i] > 0) gpuRows[g++] = i;
      else cpuRows[c++] = i;
    }
    return (this.index = { gpuOrder, gpuStart, gpuRows, cpuRows });
  }

  /** Where row `i` came from, as `file:line`. */
  sourceOf(i: number): string {
    return `${this.cols.files[this.cols.file[i]]}:${this.cols.line[i]}`;
  }

  /** Row `i` as an Offer object. */
  offer(i: number): Offer {
    const c = this.cols;
    const pdId = c.providerData[i];
    let pd = this.parsedProviderData[pdId];
    if (!pd) pd = this.parsedProviderData[pdId] = Object.freeze(JSON.parse(c.providerDatas[pdId]) as Record<string, unknown>);
    const flags = c.flagSets[c.flags[i]];
    const zone = c.zone[i];
    return {
      backend: c.backends[c.backend[i]],
      region: c.regions[c.region[i]],
      zone: zone === 0 ? null : c.zones[zone],
      instance_type: c.instances[c.instance[i]],
      price: c.price[i],
      spot: c.spot[i] === 1,
      cpu: c.cpu[i],
      cpu_arch: ARCH_CODES[c.arch[i]],
      memory: c.memory[i],
      disk: Number.isNaN(c.disk[i]) ? null : c.disk[i],
      gpu_count: c.gpuCount[i],
      gpu_name: c.gpuName[i] === 0 ? null : c.gpuNames[c.gpuName[i]],
      gpu_memory: Number.isNaN(c.gpuMemory[i]) ? null : c.gpuMemory[i],
      gpu_vendor: VENDOR_CODES[c.vendor[i]],
      flags: flags ? flags.split(" ") : [],
      provider_data: { ...pd },
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Building

/** One row's values, already typed and validated. */
interface RowValues {
  instance: string;
  backend: string;
  region: string;
  zone: string | null;
  price: number;
  cpu: number;
  memory: number;
  disk: number | null;
  gpuCount: number;
  gpuName: string | null;
  gpuMemory: number | null;
  vendor: GpuVendor | null;
  spot: boolean;
  arch: CpuArch;
  flags: string;
  providerData: string;
  file: string;
  line: number;
}

class Interner {
  readonly values: string[];
  private readonly ids = new Map<string, number>();
  private last = "\u0000";
  private lastId = -1;
  constructor(first?: string) {
    this.values = [];
    if (first !== undefined) this.id(first);
  }
  id(s: string): number {
    if (s === this.last) return this.lastId;
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(s);
      this.ids.set(s, id);
    }
    this.last = s;
    this.lastId = id;
    return id;
  }
  /** Sorts the table (keeping entry 0 first when `keepFirst`) and returns old id → new id. */
  sort(keepFirst: boolean): Int32Array {
    const start = keepFirst ? 1 : 0;
    const order = this.values.map((_, i) => i).slice(start);
    order.sort((a, b) => (this.values[a] < this.values[b] ? -1 : this.values[a] > this.values[b] ? 1 : 0));
    const remap = new Int32Array(this.values.length);
    const sorted: string[] = keepFirst ? [this.values[0]] : [];
    order.forEach((old, k) => {
      remap[old] = k + start;
      sorted.push(this.values[old]);
    });
    this.values.splice(0, this.values.length, ...sorted);
    this.ids.clear(); // ids changed: the table is final now
    this.last = "\u0000";
    return remap;
  }
}

/** Accumulates rows, then sorts them into a Catalog. */
class CatalogBuilder {
  private n = 0;
  private price: number[] = [];
  private cpu: number[] = [];
  private memory: number[] = [];
  private disk: number[] = [];
  private gpuCount: number[] = [];
  private gpuName: number[] = [];
  private gpuMemory: number[] = [];
  private vendor: number[] = [];
  private spot: number[] = [];
  private arch: number[] = [];
  private backend: number[] = [];
  private region: number[] = [];
  private zone: number[] = [];
  private instance: number[] = [];
  private flags: number[] = [];
  private providerData: number[] = [];
  private file: number[] = [];
  private line: number[] = [];
  private readonly gpuNames = new Interner("");
  private readonly backends = new Interner();
  private readonly regions = new Interner();
  private readonly zones = new Interner("");
  private readonly instances = new Interner();
  private readonly flagSets = new Interner("");
  private readonly providerDatas = new Interner("{}");
  private readonly files = new Interner();

  add(r: RowValues): void {
    this.n++;
    this.price.push(r.price);
    this.cpu.push(r.cpu);
    this.memory.push(r.memory);
    this.disk.push(r.disk ?? NaN);
    this.gpuCount.push(r.gpuCount);
    this.gpuName.push(r.gpuName ? this.gpuNames.id(r.gpuName) : 0);
    this.gpuMemory.push(r.gpuMemory ?? NaN);
    this.vendor.push(Math.max(0, VENDOR_CODES.indexOf(r.vendor)));
    this.spot.push(r.spot ? 1 : 0);
    this.arch.push(ARCH_CODES.indexOf(r.arch));
    this.backend.push(this.backends.id(r.backend));
    this.region.push(this.regions.id(r.region));
    this.zone.push(r.zone ? this.zones.id(r.zone) : 0);
    this.instance.push(this.instances.id(r.instance));
    this.flags.push(this.flagSets.id(r.flags));
    this.providerData.push(this.providerDatas.id(r.providerData));
    this.file.push(this.files.id(r.file));
    this.line.push(r.line);
  }

  build(): Catalog {
    const n = this.n;
    const limits: [string, Interner, number][] = [
      ["backends", this.backends, 0xff],
      ["regions", this.regions, 0xffff],
      ["zones", this.zones, 0xffff],
      ["GPU names", this.gpuNames, 0xffff],
      ["flag sets", this.flagSets, 0xffff],
      ["files", this.files, 0xffff],
    ];
    for (const [what, table, max] of limits) {
      if (table.values.length > max + 1) {
        throw new DstackError({ code: "E2004", severity: "error", message: `the catalogs hold ${table.values.length} distinct ${what}; at most ${max + 1} are supported`, hint: "split the catalogs or drop rows" }, ExitCode.Usage);
      }
    }
    const remapOf = (ids: number[], interner: Interner, keepFirst: boolean) => {
      const remap = interner.sort(keepFirst);
      for (let i = 0; i < n; i++) ids[i] = remap[ids[i]];
    };
    remapOf(this.gpuName, this.gpuNames, true);
    remapOf(this.backend, this.backends, false);
    remapOf(this.region, this.regions, false);
    remapOf(this.zone, this.zones, true);
    remapOf(this.instance, this.instances, false);
    // Deterministic order: price, then backend, region, instance, zone, on-demand before spot,
    // GPU name, GPU count, source file and line (every id is now an alphabetical rank).
    const { price, backend, region, instance, zone, spot, gpuName, gpuCount, file, line } = this;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const sorted = Array.from(order).sort(
      (a, b) =>
        price[a] - price[b] ||
        backend[a] - backend[b] ||
        region[a] - region[b] ||
        instance[a] - instance[b] ||
        zone[a] - zone[b] ||
        spot[a] - spot[b] ||
        gpuName[a] - gpuName[b] ||
        gpuCount[a] - gpuCount[b] ||
        file[a] - file[b] ||
        line[a] - line[b],
    );
    const take = <T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(src: number[], out: T): T => {
      for (let k = 0; k < n; k++) out[k] = src[sorted[k]];
      return out;
    };
    return new Catalog({
      size: n,
      price: take(this.price, new Float64Array(n)),
      cpu: take(this.cpu, new Uint16Array(n)),
      memory: take(this.memory, new Float64Array(n)),
      disk: take(this.disk, new Float64Array(n)),
      gpuCount: take(this.gpuCount, new Uint16Array(n)),
      gpuName: take(this.gpuName, new Uint16Array(n)),
      gpuMemory: take(this.gpuMemory, new Float64Array(n)),
      vendor: take(this.vendor, new Uint8Array(n)),
      spot: take(this.spot, new Uint8Array(n)),
      arch: take(this.arch, new Uint8Array(n)),
      backend: take(this.backend, new Uint8Array(n)),
      region: take(this.region, new Uint16Array(n)),
      zone: take(this.zone, new Uint16Array(n)),
      instance: take(this.instance, new Uint32Array(n)),
      flags: take(this.flags, new Uint16Array(n)),
      providerData: take(this.providerData, new Uint32Array(n)),
      file: take(this.file, new Uint16Array(n)),
      line: take(this.line, new Uint32Array(n)),
      gpuNames: this.gpuNames.values,
      backends: this.backends.values,
      regions: this.regions.values,
      zones: this.zones.values,
      instances: this.instances.values,
      flagSets: this.flagSets.values,
      providerDatas: this.providerDatas.values,
      files: this.files.values,
    });
  }
}

/** A catalog holding the given offers (the local machine's, or tests'). */
export function catalogFromOffers(offers: Offer[], source = "<offers>"): Catalog {
  const b = new CatalogBuilder();
  offers.forEach((o, k) =>
    b.add({
      instance: o.instance_type,
      backend: o.backend,
      region: o.region,
      zone: o.zone,
      price: o.price,
      cpu: o.cpu,
      memory: o.memory,
      disk: o.disk,
      gpuCount: o.gpu_count,
      gpuName: o.gpu_count > 0 ? o.gpu_name : null,
      gpuMemory: o.gpu_count > 0 ? o.gpu_memory : null,
      vendor: o.gpu_count > 0 ? o.gpu_vendor : null,
      spot: o.spot,
      arch: o.cpu_arch,
      flags: o.flags.join(" "),
      providerData: JSON.stringify(o.provider_data ?? {}),
      file: source,
      line: k + 1,
    }),
  );
  return b.build();
}

// ---------------------------------------------------------------------------------------------
// Parsing and validation

const MAX_LISTED_ERRORS = 50;

function rowError(file: string, line: number, message: string, hint?: string): Diagnostic {
  return {
    code: "E2001",
    severity: "error",
    message,
    hint: hint ?? "fix or delete the row; the columns are gpuhunt's v2 catalog format (catalog/SOURCES.md)",
    file,
    line,
    col: 1,
  };
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * A number as gpuhunt writes it (`0.0052`, `16.0`, `1e-05`); NaN for anything else. Plain
 * decimals with at most 15 digits take an exact fast path (an integer below 2^53 divided by an
 * exact power of ten is correctly rounded, so the result is the same double `Number()` gives).
 */
function toNumber(v: string): number {
  const n = v.length;
  if (n === 0) return NaN;
  let mantissa = 0;
  let digits = 0;
  let dot = -1;
  for (let k = 0; k < n; k++) {
    const c = v.charCodeAt(k);
    if (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
    } else if (c === 46 && dot < 0 && k > 0) dot = k;
    else return slowNumber(v);
  }
  if (digits > 15 || dot === n - 1) return slowNumber(v);
  return dot < 0 ? mantissa : mantissa / POW10[n - dot - 1];
}

function slowNumber(v: string): number {
  const c = v.charCodeAt(v.length - 1);
  if (c < 48 || c > 57) return NaN; // trailing space, "Infinity", "1." and the like
  const x = Number(v);
  return Number.isFinite(x) && v.charCodeAt(1) !== 120 && v.charCodeAt(1) !== 88 && v.trim() === v ? x : NaN;
}

function checkedNumber(name: string, v: string, positive: boolean, integer: boolean, max: number, problems: string[]): number {
  const x = toNumber(v);
  if (Number.isNaN(x) || (integer && !Number.isInteger(x))) {
    problems.push(`${name} must be ${integer ? "a whole number" : "a number"}, got "${v}"`);
    return NaN;
  }
  if (positive ? !(x > 0) : x < 0) problems.push(`${name} must be ${positive ? "positive" : "zero or more"}, got ${v}`);
  else if (x > max) problems.push(`${name} must be at most ${max}, got ${v}`);
  return x;
}

/** Parses one catalog file's text into the builder; returns the diagnostics of bad rows. */
function parseCatalogText(text: string, file: string, backend: string, builder: CatalogBuilder): Diagnostic[] {
  const errors: Diagnostic[] = [];
  let index: number[] | undefined;
  let identity = false;
  let width = 0;
  const providerDataOk = new Map<string, string | null>();
  const places = new Map<string, { region: string; zone: string | null }>();
  try {
    readCsv(text, (fields, line) => {
      if (!index) {
        const header = fields.map((f) => f.trim());
        const missing = CATALOG_COLUMNS.filter((c) => !header.includes(c));
        if (missing.length) {
          errors.push({
            code: "E2002",
            severity: "error",
            message: `catalog header lacks the column${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`,
            hint: `the first line must name gpuhunt's v2 columns: ${CATALOG_COLUMNS.join(",")}`,
            file,
            line,
            col: 1,
          });
          throw new StopParsing();
        }
        index = CATALOG_COLUMNS.map((c) => header.indexOf(c));
        identity = index.every((k, j) => k === j);
        width = header.length;
        return;
      }
      if (fields.length !== width) {
        errors.push(rowError(file, line, `catalog row has ${fields.length} fields, expected ${width} (as in the header)`));
        return;
      }
      const f = identity ? fields : index.map((k) => fields[k]);
      const fInstance = f[0];
      const fLocation = f[1];
      const fGpuName = f[6];
      const fGpuMemory = f[7];
      const fSpot = f[8];
      const fDisk = f[9];
      const fVendor = f[10];
      const fFlags = f[11];
      const fArch = f[12];
      const fPd = f[13];
      const problems: string[] = [];
      const price = checkedNumber("price", f[2], true, false, Infinity, problems);
      const cpu = checkedNumber("cpu", f[3], true, true, 65535, problems);
      const memory = checkedNumber("memory", f[4], true, false, Infinity, problems);
      const gpuCount = checkedNumber("gpu_count", f[5], false, true, 65535, problems);
      if (!fInstance) problems.push("instance_name is empty");
      if (!fLocation) problems.push("location is empty");
      let spot = false;
      if (fSpot === "True" || fSpot === "true") spot = true;
      else if (fSpot !== "False" && fSpot !== "false") problems.push(`spot must be True or False, got "${fSpot}"`);
      const disk = fDisk === "" ? null : checkedNumber("disk_size", fDisk, true, false, Infinity, problems);
      let arch: CpuArch = "x86";
      if (fArch === "arm") arch = "arm";
      else if (fArch !== "x86" && fArch !== "") problems.push(`cpu_arch must be x86 or arm, got "${fArch}"`);
      let gpuName: string | null = null;
      let gpuMemory: number | null = null;
      let vendor: GpuVendor | null = null;
      if (gpuCount > 0) {
        if (!fGpuName) problems.push(`gpu_count is ${gpuCount} but gpu_name is empty`);
        gpuName = fGpuName || null;
        if (fGpuMemory === "") problems.push(`gpu_count is ${gpuCount} but gpu_memory is empty`);
        else gpuMemory = checkedNumber("gpu_memory", fGpuMemory, true, false, Infinity, problems);
        if (fVendor) {
          if (!VENDOR_CODES.includes(fVendor as GpuVendor)) {
            problems.push(`gpu_vendor must be one of ${VENDOR_CODES.filter(Boolean).join(", ")}, got "${fVendor}"`);
          } else vendor = fVendor as GpuVendor;
        } else vendor = (gpuName && vendorOfGpu(gpuName)) || "nvidia";
      } else if (gpuCount === 0) {
        if (fGpuName) problems.push(`gpu_count is 0 but gpu_name is "${fGpuName}"`);
        if (fGpuMemory !== "" && Number(fGpuMemory) !== 0) problems.push(`gpu_count is 0 but gpu_memory is ${fGpuMemory}`);
        if (fVendor) problems.push(`gpu_count is 0 but gpu_vendor is "${fVendor}"`);
      }
      let pd = providerDataOk.get(fPd);
      if (pd === undefined) {
        pd = null;
        if (fPd === "") pd = "{}";
        else {
          try {
            const v: unknown = JSON.parse(fPd);
            if (v && typeof v === "object" && !Array.isArray(v)) pd = fPd;
          } catch {
            // reported below
          }
        }
        providerDataOk.set(fPd, pd);
      }
      if (pd === null) problems.push(`provider_data must be a JSON object, got ${JSON.stringify(fPd)}`);
      if (problems.length) {
        errors.push(rowError(file, line, `bad catalog row: ${problems.join("; ")}`));
        return;
      }
      let place = places.get(fLocation);
      if (!place) places.set(fLocation, (place = regionOf(backend, fLocation)));
      const { region, zone } = place;
      builder.add({
        instance: fInstance,
        backend,
        region,
        zone,
        price,
        cpu,
        memory,
        disk,
        gpuCount,
        gpuName,
        gpuMemory,
        vendor,
        spot,
        arch,
        flags: fFlags === "" ? "" : fFlags.trim().split(/\s+/).filter(Boolean).join(" "),
        providerData: pd ?? "{}",
        file,
        line,
      });
    });
  } catch (err) {
    if (err instanceof CsvSyntaxError) errors.push(rowError(file, err.line, `malformed CSV: ${err.message}`));
    else if (!(err instanceof StopParsing)) throw err;
  }
  if (!index && !errors.length) {
    errors.push({ code: "E2002", severity: "error", message: "catalog file is empty (no header line)", file, line: 1, hint: `write the header: ${CATALOG_COLUMNS.join(",")}` });
  }
  return errors;
}

class StopParsing extends Error {}

/** A file's text; ASCII files (the usual catalog) skip UTF-8 decoding. */
function readText(file: string): string {
  const buf = fs.readFileSync(file);
  return isAscii(buf) ? buf.toString("latin1") : buf.toString("utf8");
}

/** The catalog folder in effect: `dir`, else DSTACK_CATALOG_DIR, else the shipped one. */
export function catalogDir(dir?: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(dir ?? (env.DSTACK_CATALOG_DIR || path.join(packageRoot(), "catalog")));
}

/** The `*.csv` files of a catalog folder, sorted; throws E2003 when there are none. */
export function catalogFiles(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    throw new DstackError(
      {
        code: "E2003",
        severity: "error",
        message: `cannot read the catalog folder ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        hint: "point DSTACK_CATALOG_DIR at a folder of gpuhunt v2 CSV files (aws.csv, gcp.csv, …), or unset it to use the shipped catalogs",
      },
      ExitCode.Usage,
    );
  }
  const files = names.filter((n) => n.toLowerCase().endsWith(".csv")).sort();
  if (!files.length) {
    throw new DstackError(
      {
        code: "E2003",
        severity: "error",
        message: `the catalog folder ${dir} has no .csv files`,
        hint: "put gpuhunt v2 CSV files named after their provider (aws.csv, gcp.csv, lambdalabs.csv, …) there",
      },
      ExitCode.Usage,
    );
  }
  return files.map((n) => path.join(dir, n));
}

/** Parses and validates catalog files (no caching); throws DstackError listing every bad row. */
export function parseCatalogFiles(files: string[]): Catalog {
  const builder = new CatalogBuilder();
  const errors: Diagnostic[] = [];
  for (const file of files) {
    const provider = path.basename(file).replace(/\.csv$/i, "");
    errors.push(...parseCatalogText(readText(file), file, backendOfProvider(provider), builder));
  }
  if (errors.length) {
    const where = errors.slice(0, 10).map((d) => `${path.basename(d.file ?? "")}:${d.line}`);
    const summary: Diagnostic = {
      code: errors[0].code,
      severity: "error",
      message: `${errors.length} bad catalog row${errors.length > 1 ? "s" : ""} (${where.join(", ")}${errors.length > 10 ? ", …" : ""})`,
      hint: "the rows below are listed by file:line; fix them or point DSTACK_CATALOG_DIR elsewhere",
    };
    const listed = errors.slice(0, MAX_LISTED_ERRORS);
    if (errors.length > MAX_LISTED_ERRORS) {
      listed.push({ code: "E2001", severity: "error", message: `… and ${errors.length - MAX_LISTED_ERRORS} more bad rows` });
    }
    throw new DstackError([summary, ...listed], ExitCode.Usage);
  }
  return builder.build();
}

export interface LoadCatalogOptions {
  /** Folder of `*.csv` catalogs; default DSTACK_CATALOG_DIR, else the shipped catalog/. */
  dir?: string;
  /** Use (and write) the precompiled cache under DSTACK_HOME/cache (default true). */
  cache?: boolean;
}

const loaded = new Map<string, Catalog>();

/**
 * Loads every catalog of the folder into one Catalog; cached per process (per folder).
 * Validates every row and throws DstackError listing bad rows by file:line.
 */
export function loadCatalogs(opts: LoadCatalogOptions = {}): Catalog {
  const dir = catalogDir(opts.dir);
  const hit = loaded.get(dir);
  if (hit) return hit;
  const files = catalogFiles(dir);
  let catalog: Catalog | undefined;
  const useCache = opts.cache !== false && process.env.DSTACK_CATALOG_CACHE !== "0";
  let cacheModule: typeof import("./catalog-cache") | undefined;
  if (useCache) {
    cacheModule = require("./catalog-cache") as typeof import("./catalog-cache");
    catalog = cacheModule.readCatalogCache(files);
  }
  if (!catalog) {
    catalog = parseCatalogFiles(files);
    cacheModule?.writeCatalogCache(files, catalog);
  }
  loaded.set(dir, catalog);
  return catalog;
}

/** Forgets the per-process cache (tests). */
export function clearCatalogCache(): void {
  loaded.clear();
}
