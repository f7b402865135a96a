/**
 * The offer table: a validated, price-sorted catalog stored as typed arrays (one per column)
 * with interned strings, so a query is a tight loop over numbers; per-GPU-name row lists make
 * GPU queries touch only the rows that can match. Built by catalog-builder.ts, from CSV by
 * catalog-csv.ts, or read back from the binary cache (catalog-cache.ts).
 */
import type { CpuArch, GpuVendor } from "../config/runspec";
import type { Offer } from "./offer";

/** Vendor codes in the `vendor` column; 0 = none (CPU-only). */
export const VENDOR_CODES: readonly (GpuVendor | null)[] = [null, "nvidia", "amd", "google", "intel", "tenstorrent"];
/** Architecture codes in the `arch` column. */
export const ARCH_CODES: readonly CpuArch[] = ["x86", "arm"];

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

