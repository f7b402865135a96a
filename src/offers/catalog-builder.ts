/**
 * Builds a Catalog from rows: strings are interned, ids renumbered in alphabetical order, and
 * the rows sorted into one deterministic price order.
 */
import { DstackError, ExitCode } from "../diagnostics";
import type { CpuArch, GpuVendor } from "../config/runspec";
import type { Offer } from "./offer";
import { ARCH_CODES, Catalog, VENDOR_CODES } from "./catalog-table";

/** One row's values, already typed and validated. */
export interface RowValues {
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
export class CatalogBuilder {
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

