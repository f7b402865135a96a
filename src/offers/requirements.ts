/**
 * What a RunSpec asks of an offer, resolved the way dstack resolves it before matching:
 * the GPU vendor inferred from names (A100 → nvidia, MI300X → amd, v5litepod-8 → google) or,
 * for a spec given only by count or memory without an `image`, nvidia; the CPU architecture
 * x86 unless `cpu` names one or an `image` is given; spot policy as a boolean filter.
 */
import type { CpuArch, GpuVendor, Range, RunSpec } from "../config/runspec";
import { normalizeBackendName } from "./backend-names";
import { ccNumber, normalizeGpuName, vendorOfNames } from "./gpus";

/** The part of a RunSpec that decides which offers match. `RunSpec` itself qualifies. */
export type OfferRequest = Pick<RunSpec, "resources" | "image" | "spot_policy" | "max_price" | "backends" | "regions" | "instance_types"> &
  Partial<Pick<RunSpec, "availability_zones">>;

export interface Requirements {
  cpuArch: CpuArch | null;
  cpu: Range;
  memory: Range;
  disk: Range | null;
  gpu: {
    vendor: GpuVendor | null;
    /** Lower-cased, `tpu-` prefix removed; `null` = any. */
    names: string[] | null;
    /** As written, for messages. */
    namesAsWritten: string[] | null;
    count: Range;
    memory: Range | null;
    totalMemory: Range | null;
    /** Minimum compute capability as major*100+minor; `null` = any. */
    cc: number | null;
    ccAsWritten: [number, number] | null;
  };
  /** `true` = spot only, `false` = on-demand only, `null` = both. */
  spot: boolean | null;
  maxPrice: number | null;
  /** dstack backend names; `null` = any. */
  backends: string[] | null;
  /** Lower-cased; `null` = any. */
  regions: string[] | null;
  zones: string[] | null;
  instanceTypes: string[] | null;
}

/** Resolves a spec's requirements (vendor inference, default architecture, spot policy). */
export function requirementsOf(spec: OfferRequest): Requirements {
  const r = spec.resources;
  const g = r.gpu;
  const names = g.name && g.name.length ? g.name : null;
  let vendor = g.vendor;
  if (!vendor && names) vendor = vendorOfNames(names);
  if (!vendor && !names && !spec.image && (g.count.min ?? 0) > 0) vendor = "nvidia";
  if (!vendor && !names && !spec.image && (g.memory || g.total_memory)) vendor = "nvidia";
  const lowerList = (xs: string[] | null | undefined) => (xs && xs.length ? xs.map((x) => x.trim().toLowerCase()) : null);
  return {
    cpuArch: r.cpu.arch ?? (spec.image ? null : "x86"),
    cpu: r.cpu.count,
    memory: r.memory,
    disk: r.disk ? r.disk.size : null,
    gpu: {
      vendor,
      names: names ? names.map(normalizeGpuName) : null,
      namesAsWritten: names,
      count: g.count,
      memory: g.memory,
      totalMemory: g.total_memory,
      cc: g.compute_capability ? ccNumber(g.compute_capability) : null,
      ccAsWritten: g.compute_capability,
    },
    spot: spec.spot_policy === "spot" ? true : spec.spot_policy === "on-demand" ? false : null,
    maxPrice: spec.max_price,
    backends: spec.backends && spec.backends.length ? spec.backends.map(normalizeBackendName) : null,
    regions: lowerList(spec.regions),
    zones: lowerList(spec.availability_zones),
    instanceTypes: lowerList(spec.instance_types),
  };
}

/** Whether a value lies in an inclusive range (open ends allowed). */
export function inRange(value: number, range: Range | null): boolean {
  if (!range) return true;
  return (range.min === null || value >= range.min) && (range.max === null || value <= range.max);
}

/** `2..`, `..8`, `1..4`, `8` (min = max). */
export function formatRange(range: Range, unit = ""): string {
  const f = (x: number) => `${Number.isInteger(x) ? x : Number(x.toFixed(3))}${unit}`;
  if (range.min !== null && range.min === range.max) return f(range.min);
  return `${range.min !== null ? f(range.min) : ""}..${range.max !== null ? f(range.max) : ""}`;
}

/** Whether the spec requires at least one GPU. */
export function requiresGpu(req: Requirements): boolean {
  return (req.gpu.count.min ?? 0) > 0;
}

/** A short description of the GPU requirement: `8×H200`, `1..×A100/H100:40GB..`, `nvidia GPU`. */
export function describeGpu(req: Requirements): string {
  const g = req.gpu;
  const parts: string[] = [];
  const count = g.count.min === 1 && (g.count.max === 1 || g.count.max === null) ? "" : `${formatRange(g.count)}×`;
  let what = g.namesAsWritten ? g.namesAsWritten.join("/") : g.vendor ? `${g.vendor} GPU` : "GPU";
  if (g.memory) what += `:${formatRange(g.memory, "GB")}`;
  parts.push(`${count}${what}`);
  if (g.totalMemory) parts.push(`total ${formatRange(g.totalMemory, "GB")}`);
  if (g.ccAsWritten) parts.push(`compute capability ${g.ccAsWritten[0]}.${g.ccAsWritten[1]}+`);
  return parts.join(", ");
}
