/**
 * A precompiled, binary form of a loaded catalog under DSTACK_HOME/cache, so that a cold
 * `dstack offer` does not parse and validate ~5 MB of CSV again. One file per catalog folder,
 * keyed by every CSV's path, size and mtime (and the format version): any change rebuilds it.
 *
 * Layout: "DSTKCAT" + version byte, uint32 header length, header JSON (string tables and the
 * offset of every column), then the columns' bytes, each aligned to 8 bytes.
 */
import * as fs from "fs";
import * as path from "path";
import { homePaths, writeFileAtomic } from "../paths";
import { Catalog, type CatalogColumns, type CatalogIndex } from "./catalog-table";

const MAGIC = "DSTKCAT";
const VERSION = 3;

type ArrayName =
  | "price"
  | "cpu"
  | "memory"
  | "disk"
  | "gpuCount"
  | "gpuName"
  | "gpuMemory"
  | "vendor"
  | "spot"
  | "arch"
  | "backend"
  | "region"
  | "zone"
  | "instance"
  | "flags"
  | "providerData"
  | "file"
  | "line";

const ARRAYS: { name: ArrayName; type: "f64" | "u32" | "u16" | "u8" }[] = [
  { name: "price", type: "f64" },
  { name: "memory", type: "f64" },
  { name: "disk", type: "f64" },
  { name: "gpuMemory", type: "f64" },
  { name: "instance", type: "u32" },
  { name: "providerData", type: "u32" },
  { name: "line", type: "u32" },
  { name: "cpu", type: "u16" },
  { name: "gpuCount", type: "u16" },
  { name: "gpuName", type: "u16" },
  { name: "region", type: "u16" },
  { name: "zone", type: "u16" },
  { name: "flags", type: "u16" },
  { name: "file", type: "u16" },
  { name: "vendor", type: "u8" },
  { name: "spot", type: "u8" },
  { name: "arch", type: "u8" },
  { name: "backend", type: "u8" },
];

type StringTables = Pick<CatalogColumns, "gpuNames" | "backends" | "regions" | "zones" | "instances" | "flagSets" | "providerDatas" | "files">;

interface Header extends StringTables {
  key: string;
  size: number;
  offsets: Record<string, number>;
  /** Lengths of the index arrays (see CatalogIndex). */
  index: Record<IndexName, number>;
}

type IndexName = "gpuOrder" | "gpuStart" | "gpuRows" | "cpuRows";
const INDEX: IndexName[] = ["gpuOrder", "gpuStart", "gpuRows", "cpuRows"];

function cacheKey(files: string[]): string {
  const parts = files.map((f) => {
    const st = fs.statSync(f);
    return [f, st.size, st.mtimeMs];
  });
  return JSON.stringify([VERSION, parts]);
}

/** FNV-1a, 2×32 bits: a short stable name for a folder (no crypto module to load). */
function shortHash(s: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x5bd1e995) >>> 0;
  }
  return a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0");
}

/** The cache file of a catalog folder. */
export function catalogCachePath(files: string[], env: NodeJS.ProcessEnv = process.env): string {
  const dir = path.dirname(files[0] ?? ".");
  const id = shortHash(dir);
  return path.join(homePaths(env).cache, `catalog-${id}.bin`);
}

/** The cached catalog of these files, or undefined when missing, stale or unreadable. */
export function readCatalogCache(files: string[]): Catalog | undefined {
  let buf: Buffer;
  let key: string;
  try {
    key = cacheKey(files);
    buf = fs.readFileSync(catalogCachePath(files));
  } catch {
    return undefined;
  }
  try {
    if (buf.length < 12 || buf.toString("latin1", 0, 7) !== MAGIC || buf[7] !== VERSION) return undefined;
    const headerLen = buf.readUInt32LE(8);
    const header = JSON.parse(buf.toString("utf8", 12, 12 + headerLen)) as Header;
    if (header.key !== key) return undefined;
    if (buf.byteOffset % 8 !== 0) buf = Buffer.from(buf); // typed-array views need alignment
    const ab = buf.buffer;
    const base = buf.byteOffset;
    const n = header.size;
    const arrays: Partial<Record<ArrayName, Float64Array | Uint32Array | Uint16Array | Uint8Array>> = {};
    for (const { name, type } of ARRAYS) {
      const off = base + header.offsets[name];
      const bytes = n * (type === "f64" ? 8 : type === "u32" ? 4 : type === "u16" ? 2 : 1);
      if (header.offsets[name] + bytes > buf.length) return undefined;
      arrays[name] =
        type === "f64"
          ? new Float64Array(ab, off, n)
          : type === "u32"
            ? new Uint32Array(ab, off, n)
            : type === "u16"
              ? new Uint16Array(ab, off, n)
              : new Uint8Array(ab, off, n);
    }
    const index: Partial<Record<IndexName, Uint32Array>> = {};
    for (const name of INDEX) {
      const off = header.offsets[name];
      const len = header.index[name];
      if (off + len * 4 > buf.length) return undefined;
      index[name] = new Uint32Array(ab, base + off, len);
    }
    const cols = {
      size: n,
      ...(arrays as Record<ArrayName, unknown>),
      gpuNames: header.gpuNames,
      backends: header.backends,
      regions: header.regions,
      zones: header.zones,
      instances: header.instances,
      flagSets: header.flagSets,
      providerDatas: header.providerDatas,
      files: header.files,
    } as CatalogColumns;
    return new Catalog(cols, index as CatalogIndex);
  } catch {
    return undefined;
  }
}

/** Writes the cache (atomically); failures (read-only home, full disk) are ignored. */
export function writeCatalogCache(files: string[], catalog: Catalog): void {
  try {
    const c = catalog.cols;
    const idx = catalog.indexes();
    const offsets: Record<string, number> = {};
    const header: Header = {
      key: cacheKey(files),
      size: c.size,
      offsets,
      index: { gpuOrder: idx.gpuOrder.length, gpuStart: idx.gpuStart.length, gpuRows: idx.gpuRows.length, cpuRows: idx.cpuRows.length },
      gpuNames: c.gpuNames,
      backends: c.backends,
      regions: c.regions,
      zones: c.zones,
      instances: c.instances,
      flagSets: c.flagSets,
      providerDatas: c.providerDatas,
      files: c.files,
    };
    // offsets depend on the header's length, which depends on the offsets' digits: fix the
    // header's size by padding the JSON to a multiple of 8 after a first pass.
    const layout = (headerBytes: number) => {
      let off = align8(12 + headerBytes);
      for (const { name } of ARRAYS) {
        offsets[name] = off;
        off = align8(off + c[name].byteLength);
      }
      for (const name of INDEX) {
        offsets[name] = off;
        off = align8(off + idx[name].byteLength);
      }
      return off;
    };
    let json = "";
    let total = 0;
    let guess = Buffer.byteLength(JSON.stringify(header)) + 256;
    for (;;) {
      total = layout(guess);
      json = JSON.stringify(header);
      const len = Buffer.byteLength(json);
      if (len <= guess) {
        json += " ".repeat(guess - len);
        break;
      }
      guess = len + 256;
    }
    const buf = Buffer.alloc(total);
    buf.write(MAGIC, 0, "latin1");
    buf[7] = VERSION;
    buf.writeUInt32LE(Buffer.byteLength(json), 8);
    buf.write(json, 12, "utf8");
    for (const { name } of ARRAYS) {
      const a = c[name];
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(buf, offsets[name]);
    }
    for (const name of INDEX) {
      const a = idx[name];
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(buf, offsets[name]);
    }
    const target = catalogCachePath(files);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    writeFileAtomic(target, buf);
  } catch {
    // the cache is an optimisation only
  }
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
