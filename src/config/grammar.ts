/**
 * The small grammars inside a configuration: ranges (`a..b`), memory sizes (`24GB`),
 * durations (`2h`), and dstack's resources specs (`gpu: A100:80GB:2`, `cpu: arm:8..`).
 *
 * Every parser is pure and throws `GrammarError` (a message naming the offending token);
 * callers turn it into a `Diagnostic` with the YAML position of the value.
 */
import type { CpuArch, GpuSpec, GpuVendor, Range } from "./runspec";
import {
  BOUND_CODE,
  MAX_COMPUTE_CAPABILITY_PART,
  MAX_CPU_COUNT,
  MAX_DURATION_SECONDS,
  MAX_DURATION_TEXT,
  MAX_GPU_COUNT,
  MAX_SIZE_GB,
  MAX_SIZE_TEXT,
} from "./bounds";

export class GrammarError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "GrammarError";
  }
}

/** A well-formed value above its upper bound (./bounds): reported as E1026, whatever the grammar. */
export class BoundError extends GrammarError {
  readonly code = BOUND_CODE;
  constructor(message: string, hint?: string) {
    super(message, hint);
    this.name = "BoundError";
  }
}

/** The same bound error with `prefix: ` before its message. */
function within(prefix: string, e: BoundError): BoundError {
  return new BoundError(`${prefix}: ${e.message}`, e.hint);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

// ---------------------------------------------------------------------------------------------
// Numbers and memory sizes
// ---------------------------------------------------------------------------------------------

const NUMBER_RE = /^\d+(?:\.\d+)?$|^\.\d+$/;

/** Rounds away float noise (24 / 1024 * 1024 and the like) to 6 significant decimals. */
function tidy(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

function sizeBound(v: unknown, gb: number): number {
  if (gb > MAX_SIZE_GB) throw new BoundError(`size ${show(v)} is too large: expected at most ${MAX_SIZE_TEXT} (4 PB)`, `write a size up to ${MAX_SIZE_TEXT}, e.g. 100GB or 2TB`);
  return gb;
}

/**
 * A memory size in GB: `512MB`, `24GB`, `1TB` (case-insensitive, spaces ignored), or a bare
 * number meaning GB. Negative and malformed sizes throw; sizes above 4096TB throw a BoundError.
 */
export function parseMemory(v: unknown): number {
  if (typeof v === "number") {
    if (!Number.isFinite(v) || v < 0) throw new GrammarError(`invalid memory size ${show(v)}: expected a non-negative size`);
    return sizeBound(v, v);
  }
  if (typeof v !== "string") throw new GrammarError(`invalid memory size ${show(v)}: expected a size like 512MB, 24GB or 1TB`);
  const s = v.replace(/\s+/g, "").toLowerCase();
  const m = /^(.*?)(tb|gb|mb)?$/.exec(s);
  const num = m?.[1] ?? "";
  const unit = m?.[2] ?? "gb";
  if (!NUMBER_RE.test(num)) {
    const hint = s.startsWith("-") ? "sizes cannot be negative" : "write a number followed by MB, GB or TB, e.g. 24GB";
    throw new GrammarError(`invalid memory size ${show(v)}`, hint);
  }
  const n = Number(num);
  if (unit === "tb") return sizeBound(v, tidy(n * 1024));
  if (unit === "mb") return sizeBound(v, tidy(n / 1024));
  return sizeBound(v, n);
}

// ---------------------------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------------------------

type Scalar = (v: unknown) => number;

function rangeFrom(min: number | null, max: number | null, text: string, swapped?: string): Range {
  if (min === null && max === null) throw new GrammarError(`invalid empty range ${show(text)}`, "give at least one end, e.g. 2.. or ..8");
  if (min !== null && max !== null && min > max) {
    throw new GrammarError(`invalid range ${show(text)}: the minimum is greater than the maximum`, `write ${swapped ?? `${max}..${min}`}`);
  }
  return { min, max };
}

/**
 * A range of a scalar grammar: `a..b`, `a..`, `..b`, a single value (min = max), or the
 * object form `{min, max}`.
 */
export function parseRangeOf(v: unknown, scalar: Scalar): Range {
  if (isRecord(v)) {
    const extra = Object.keys(v).filter((k) => k !== "min" && k !== "max");
    if (extra.length) throw new GrammarError(`invalid range ${show(v)}: unknown key ${show(extra[0])}`, "a range object has only min and max");
    const min = v.min === null || v.min === undefined ? null : scalar(v.min);
    const max = v.max === null || v.max === undefined ? null : scalar(v.max);
    return rangeFrom(min, max, show(v));
  }
  if (typeof v === "string" && v.includes("..")) {
    const s = v.replace(/\s+/g, "");
    const parts = s.split("..");
    if (parts.length !== 2) throw new GrammarError(`invalid range ${show(v)}`, "a range is a..b, a.. or ..b");
    const [a, b] = parts as [string, string];
    return rangeFrom(a === "" ? null : scalar(a), b === "" ? null : scalar(b), v, `${b}..${a}`);
  }
  if (typeof v === "number" || typeof v === "string") {
    const n = scalar(v);
    return { min: n, max: n };
  }
  throw new GrammarError(`invalid range ${show(v)}: expected a value, a range like 2..8, or {min, max}`);
}

/**
 * A non-negative integer count (`2`, `"8"`) of at most `max` (a BoundError above it; `what`
 * names the count in that message, e.g. "GPU count").
 */
export function parseCount(v: unknown, max: number = Number.MAX_SAFE_INTEGER, what = "count"): number {
  let n: number | undefined;
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) n = v;
  else if (typeof v === "string" && /^\s*\d+\s*$/.test(v)) n = Number(v.trim());
  if (n === undefined) throw new GrammarError(`invalid count ${show(v)}: expected a non-negative whole number`);
  if (n > max) throw new BoundError(`${what} ${show(v)} is too large: expected at most ${max}`, `write a ${what} up to ${max}`);
  return n;
}

/** A count range (`2..8`, `4`, `{min, max}`), each end at most `max` (see parseCount). */
export function parseCountRange(v: unknown, max?: number, what?: string): Range {
  return parseRangeOf(v, (x) => parseCount(x, max, what));
}
export const parseMemoryRange = (v: unknown): Range => parseRangeOf(v, parseMemory);

/** Formats a range the way users write it (`2..`, `..8`, `4`). */
export function formatRange(r: Range, unit = ""): string {
  const f = (n: number | null) => (n === null ? "" : `${n}${unit}`);
  if (r.min !== null && r.min === r.max) return f(r.min);
  return `${f(r.min)}..${f(r.max)}`;
}

// ---------------------------------------------------------------------------------------------
// Durations
// ---------------------------------------------------------------------------------------------

const DURATION_UNITS: Record<string, number> = {
  s: 1, sec: 1, secs: 1, second: 1, seconds: 1,
  m: 60, min: 60, mins: 60, minute: 60, minutes: 60,
  h: 3600, hr: 3600, hrs: 3600, hour: 3600, hours: 3600,
  d: 86400, day: 86400, days: 86400,
  w: 604800, week: 604800, weeks: 604800,
};

function durationBound(v: unknown, seconds: number): number {
  if (seconds > MAX_DURATION_SECONDS) {
    throw new BoundError(`duration ${show(v)} is too long: expected at most ${MAX_DURATION_TEXT} (one year)`, `write a duration up to ${MAX_DURATION_TEXT}, e.g. 72h or 30d`);
  }
  return seconds;
}

/**
 * A duration in seconds: an integer (seconds) or `90`, `30s`, `15m`, `2h`, `1d`, `1w`.
 * Negative, fractional and malformed values throw; durations above 365d throw a BoundError.
 */
export function parseDuration(v: unknown): number {
  if (typeof v === "number") {
    if (!Number.isInteger(v) || v < 0) {
      throw new GrammarError(`invalid duration ${show(v)}: expected a whole, non-negative number of seconds`, "e.g. 90, 30s, 15m, 2h, 1d, 1w");
    }
    return durationBound(v, v);
  }
  if (typeof v !== "string") throw new GrammarError(`invalid duration ${show(v)}: expected e.g. 90, 30s, 15m, 2h, 1d or 1w`);
  const s = v.trim().toLowerCase();
  const m = /^(-?)(\d+)\s*([a-z]*)$/.exec(s);
  if (!m) throw new GrammarError(`invalid duration ${show(v)}`, "write a whole number with a unit: 90, 30s, 15m, 2h, 1d, 1w");
  if (m[1]) throw new GrammarError(`invalid duration ${show(v)}: durations cannot be negative`, "use off for no limit");
  const unit = m[3] ?? "";
  const mult = unit === "" ? 1 : DURATION_UNITS[unit];
  if (mult === undefined) throw new GrammarError(`invalid duration ${show(v)}: unknown unit ${show(unit)}`, "units: s, m, h, d, w");
  return durationBound(v, Number(m[2]) * mult);
}

/**
 * A duration that may be switched off: `off` or `false` mean off (`null`), `true` means the
 * default (`undefined`), anything else is `parseDuration`.
 */
export function parseOffDuration(v: unknown): number | null | undefined {
  if (v === false || v === "off" || v === "Off" || v === "OFF") return null;
  if (v === true) return undefined;
  try {
    return parseDuration(v);
  } catch (e) {
    if (e instanceof BoundError) throw new BoundError(e.message, `${e.hint}, or off for no limit`);
    throw e;
  }
}

/** `3600` -> `1h`, `5400` -> `90m`, `0` -> `0s`. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) return "off";
  for (const [unit, n] of [["w", 604800], ["d", 86400], ["h", 3600], ["m", 60]] as const) {
    if (seconds >= n && seconds % n === 0) return `${seconds / n}${unit}`;
  }
  return `${seconds}s`;
}

// ---------------------------------------------------------------------------------------------
// GPU
// ---------------------------------------------------------------------------------------------

const VENDOR_ALIASES: Record<string, GpuVendor> = {
  nvidia: "nvidia",
  amd: "amd",
  intel: "intel",
  tpu: "google",
  google: "google",
  tt: "tenstorrent",
  tenstorrent: "tenstorrent",
};

/** A vendor name or alias (`tpu`, `tt`), case-insensitive; `undefined` if it is not one. */
export function vendorFromString(s: string): GpuVendor | undefined {
  return VENDOR_ALIASES[s.toLowerCase()];
}

const VENDOR_PATTERNS: [GpuVendor, RegExp][] = [
  ["google", /^v\d+[a-z]*-\d+$/i],
  ["amd", /^(mi\d+[a-z]*|rx\d+[a-z]*|radeon.*|w\d{4}.*)$/i],
  ["intel", /^(gaudi\d*|max\d*)$/i],
  ["tenstorrent", /^(tt-.*|n150|n300|n300s|p100a|p150a?|p300c?|galaxy.*|wormhole.*|blackhole.*)$/i],
  [
    "nvidia",
    /^(a\d{1,4}g?|a\d+x|h\d{2,3}(nvl)?|gh\d+|b\d{2,3}|gb\d+|l4|l40s?|t4|v100|p4|p40|p100|k80|m60|rtx.*|gtx.*|\d{4}(ti)?|a100-?\d+gb?)$/i,
  ],
];

/** The vendor of a GPU or accelerator name (`A100` -> nvidia, `MI300X` -> amd, `v5p-8` -> google), if recognised. */
export function inferVendor(name: string): GpuVendor | undefined {
  for (const [vendor, re] of VENDOR_PATTERNS) if (re.test(name)) return vendor;
  return undefined;
}

interface GpuParts {
  vendor?: GpuVendor;
  name?: string[];
  count?: Range;
  memory?: Range;
  total_memory?: Range;
  compute_capability?: [number, number];
}

function parseGpuNames(v: unknown): string[] {
  const list = Array.isArray(v) ? v : typeof v === "string" ? v.split(",") : [v];
  const names = list.map((n) => {
    if (typeof n !== "string" && typeof n !== "number") throw new GrammarError(`invalid GPU name ${show(n)}: expected a string`);
    const s = String(n).trim();
    if (!s) throw new GrammarError(`invalid GPU name list ${show(v)}: a name is empty`, "separate names with commas: A10G,A100");
    return s;
  });
  if (!names.length) throw new GrammarError("the GPU name list is empty", "give at least one name, e.g. A100");
  return names;
}

/** A compute capability `7.5`, `"8.0"` or `[8, 0]`. */
export function parseComputeCapability(v: unknown): [number, number] {
  let parts: unknown[];
  if (typeof v === "number") parts = (Number.isInteger(v) ? `${v}.0` : String(v)).split(".");
  else if (typeof v === "string") parts = v.trim().split(".");
  else if (Array.isArray(v)) parts = v;
  else throw new GrammarError(`invalid compute capability ${show(v)}: expected major.minor, e.g. 7.5`);
  if (parts.length !== 2) throw new GrammarError(`invalid compute capability ${show(v)}: expected major.minor, e.g. 7.5`);
  const nums = parts.map((p) => (typeof p === "number" ? p : typeof p === "string" && /^\d+$/.test(p) ? Number(p) : NaN));
  if (nums.some((n) => !Number.isInteger(n) || n < 0)) throw new GrammarError(`invalid compute capability ${show(v)}: expected major.minor, e.g. 7.5`);
  if (nums.some((n) => n > MAX_COMPUTE_CAPABILITY_PART)) {
    throw new BoundError(`compute capability ${show(v)} is too large: expected major.minor of at most ${MAX_COMPUTE_CAPABILITY_PART} each`, "e.g. 7.5, 8.0 or 9.0");
  }
  return [nums[0]!, nums[1]!];
}

function gpuFromString(text: string): GpuParts {
  const spec: GpuParts = {};
  const s = text.replace(/\s+/g, "");
  if (!s) throw new GrammarError("the GPU spec is empty", "e.g. A100, 24GB.., A100:80GB:2 or H100:1..8");
  for (const token of s.split(":")) {
    if (!token) throw new GrammarError(`GPU spec ${show(text)} has an empty token`, "tokens are separated by a single colon, e.g. A100:80GB:2");
    const vendor = vendorFromString(token);
    if (vendor) {
      if (spec.vendor) throw new GrammarError(`GPU spec ${show(text)}: vendor ${show(token)} conflicts with vendor ${show(spec.vendor)}`);
      spec.vendor = vendor;
    } else if (/^[a-z]/i.test(token)) {
      if (spec.name) throw new GrammarError(`GPU spec ${show(text)}: name ${show(token)} conflicts with name ${show(spec.name.join(","))}`, "list several names with commas: A10G,A100");
      spec.name = parseGpuNames(token);
    } else if (/[a-z]/i.test(token)) {
      if (spec.memory) throw new GrammarError(`GPU spec ${show(text)}: memory ${show(token)} conflicts with an earlier memory token`);
      try {
        spec.memory = parseMemoryRange(token);
      } catch (e) {
        if (e instanceof BoundError) throw within(`GPU spec ${show(text)}`, e);
        throw new GrammarError(`GPU spec ${show(text)}: invalid memory token ${show(token)}`, e instanceof GrammarError ? e.hint ?? e.message : undefined);
      }
    } else {
      if (spec.count) throw new GrammarError(`GPU spec ${show(text)}: count ${show(token)} conflicts with an earlier count token`);
      try {
        spec.count = parseCountRange(token, MAX_GPU_COUNT, "GPU count");
      } catch (e) {
        if (e instanceof BoundError) throw within(`GPU spec ${show(text)}`, e);
        throw new GrammarError(`GPU spec ${show(text)}: invalid count token ${show(token)}`, e instanceof GrammarError ? e.hint ?? e.message : undefined);
      }
    }
  }
  return spec;
}

const GPU_OBJECT_KEYS = ["vendor", "name", "count", "memory", "total_memory", "compute_capability"];

function gpuFromObject(v: Record<string, unknown>): GpuParts {
  const spec: GpuParts = {};
  for (const k of Object.keys(v)) {
    if (k === "min" || k === "max") throw new GrammarError(`unknown GPU property ${show(k)}`, "a range of GPUs goes under count, e.g. gpu: {count: {min: 1, max: 2}}");
    if (!GPU_OBJECT_KEYS.includes(k)) throw new GrammarError(`unknown GPU property ${show(k)}`, `GPU properties: ${GPU_OBJECT_KEYS.join(", ")}`);
  }
  if (v.vendor !== undefined && v.vendor !== null) {
    const vendor = typeof v.vendor === "string" ? vendorFromString(v.vendor) : undefined;
    if (!vendor) throw new GrammarError(`invalid GPU vendor ${show(v.vendor)}`, "vendors: nvidia, amd, intel, google (tpu), tenstorrent (tt)");
    spec.vendor = vendor;
  }
  if (v.name !== undefined && v.name !== null) spec.name = parseGpuNames(v.name);
  if (v.count !== undefined && v.count !== null) spec.count = parseCountRange(v.count, MAX_GPU_COUNT, "GPU count");
  if (v.memory !== undefined && v.memory !== null) spec.memory = parseMemoryRange(v.memory);
  if (v.total_memory !== undefined && v.total_memory !== null) spec.total_memory = parseMemoryRange(v.total_memory);
  if (v.compute_capability !== undefined && v.compute_capability !== null) spec.compute_capability = parseComputeCapability(v.compute_capability);
  return spec;
}

/**
 * dstack's GPU spec: a string of `:`-separated tokens (vendor, name list, memory range,
 * count range), a bare count (`gpu: 2`), or the object form. Without a count the count is
 * `1..`. The vendor is inferred from the names when not given (`v5p-8` is a TPU).
 */
export function parseGpuSpec(v: unknown): GpuSpec {
  let parts: GpuParts;
  if (typeof v === "number") {
    // as in dstack, a bare number is a count (gpu: 2), never a name: a GPU named by digits is
    // written in the object form, gpu: {name: 4090}
    try {
      parts = { count: parseCountRange(v, MAX_GPU_COUNT, "GPU count") };
    } catch (e) {
      if (e instanceof BoundError) throw new BoundError(e.message, `a bare number is a GPU count; to ask for a GPU by name write gpu: {name: ${show(v)}}`);
      throw e;
    }
  } else if (typeof v === "string") {
    parts = gpuFromString(v);
  } else if (isRecord(v)) {
    parts = gpuFromObject(v);
  } else {
    throw new GrammarError(`invalid GPU spec ${show(v)}`, "e.g. A100, 24GB.., A100:80GB:2, H100:1..8, or {name, count, memory}");
  }
  let names = parts.name ?? null;
  let vendor = parts.vendor ?? null;
  if (names) {
    // the deprecated `tpu-` prefix (tpu-v2-8) means vendor google
    if (names.some((n) => /^tpu-/i.test(n))) {
      names = names.map((n) => n.replace(/^tpu-/i, ""));
      vendor ??= "google";
    }
    if (!vendor) {
      const inferred = new Set(names.map(inferVendor));
      if (inferred.size === 1) vendor = [...inferred][0] ?? null;
    }
  }
  return {
    vendor,
    name: names,
    count: parts.count ?? { min: 1, max: null },
    memory: parts.memory ?? null,
    total_memory: parts.total_memory ?? null,
    compute_capability: parts.compute_capability ?? null,
  };
}

// ---------------------------------------------------------------------------------------------
// CPU and disk
// ---------------------------------------------------------------------------------------------

function archFromString(s: string): CpuArch | undefined {
  const a = s.toLowerCase();
  if (a === "x86" || a === "x86_64" || a === "amd64") return "x86";
  if (a === "arm" || a === "arm64" || a === "aarch64") return "arm";
  return undefined;
}

/** `cpu: 4`, `2..`, `x86:8..`, `arm:4..16`, or `{arch, count}`. */
export function parseCpuSpec(v: unknown): { arch: CpuArch | null; count: Range } {
  if (typeof v === "number") return { arch: null, count: parseCountRange(v, MAX_CPU_COUNT, "CPU count") };
  if (typeof v === "string") {
    let arch: CpuArch | null = null;
    let count: Range | null = null;
    const s = v.replace(/\s+/g, "");
    if (!s) throw new GrammarError("the CPU spec is empty", "e.g. 4, 2.., x86:8..");
    for (const token of s.split(":")) {
      if (!token) throw new GrammarError(`CPU spec ${show(v)} has an empty token`);
      const a = archFromString(token);
      if (a) {
        if (arch) throw new GrammarError(`CPU spec ${show(v)}: arch ${show(token)} conflicts with arch ${show(arch)}`);
        arch = a;
      } else if (/[a-z]/i.test(token)) {
        throw new GrammarError(`CPU spec ${show(v)}: unknown token ${show(token)}`, "the CPU arch is x86 or arm; the count is a number or a range");
      } else {
        if (count) throw new GrammarError(`CPU spec ${show(v)}: count ${show(token)} conflicts with an earlier count`);
        count = parseCountRange(token, MAX_CPU_COUNT, "CPU count");
      }
    }
    return { arch, count: count ?? { min: 2, max: null } };
  }
  if (isRecord(v)) {
    // a range mapping is the count, as in dstack: cpu: {min: 4, max: 16}
    const keys = Object.keys(v);
    if (keys.length && keys.every((k) => k === "min" || k === "max")) return { arch: null, count: parseCountRange(v, MAX_CPU_COUNT, "CPU count") };
    for (const k of keys) {
      if (k === "min" || k === "max") throw new GrammarError(`unknown CPU property ${show(k)}`, "with arch, the range goes under count: {arch: x86, count: {min: 4}}");
      if (k !== "arch" && k !== "count") throw new GrammarError(`unknown CPU property ${show(k)}`, "CPU properties: arch, count");
    }
    let arch: CpuArch | null = null;
    if (v.arch !== undefined && v.arch !== null) {
      const a = typeof v.arch === "string" ? archFromString(v.arch) : undefined;
      if (!a) throw new GrammarError(`invalid CPU arch ${show(v.arch)}`, "arch is x86 or arm");
      arch = a;
    }
    const count = v.count === undefined || v.count === null ? { min: 2, max: null } : parseCountRange(v.count, MAX_CPU_COUNT, "CPU count");
    return { arch, count };
  }
  throw new GrammarError(`invalid CPU spec ${show(v)}`, "e.g. 4, 2.., x86:8.., or {arch, count}");
}

/** `disk: 100GB`, `100GB..`, or `{size: ...}`. */
export function parseDiskSpec(v: unknown): { size: Range } {
  if (isRecord(v)) {
    for (const k of Object.keys(v)) {
      if (k === "min" || k === "max") throw new GrammarError(`unknown disk property ${show(k)}`, "as in dstack, a disk range goes under size: disk: {size: {min: 100GB}}, or write disk: 100GB..");
      if (k !== "size") throw new GrammarError(`unknown disk property ${show(k)}`, "the disk object has only size");
    }
    if (v.size === undefined || v.size === null) throw new GrammarError("the disk object needs a size", "e.g. disk: {size: 100GB..}");
    return { size: parseMemoryRange(v.size) };
  }
  return { size: parseMemoryRange(v) };
}
