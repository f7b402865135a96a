/**
 * What dstack knows about accelerators by name: vendor and (for NVIDIA) compute capability.
 * Used to infer the vendor of a spec that names GPUs, and to compare compute capability
 * (which catalogs do not carry). Names are compared case-insensitively.
 */
import type { GpuVendor } from "../config/runspec";

interface KnownAccelerator {
  vendor: GpuVendor;
  /** NVIDIA only: [major, minor]. */
  cc?: [number, number];
}

const NVIDIA: Record<string, [number, number]> = {
  K80: [3, 7],
  M60: [5, 2],
  P4: [6, 1],
  P40: [6, 1],
  P100: [6, 0],
  V100: [7, 0],
  T4: [7, 5],
  RTX6000: [7, 5],
  RTX8000: [7, 5],
  RTX2080Ti: [7, 5],
  A2: [8, 6],
  A10: [8, 6],
  A10G: [8, 6],
  A16: [8, 6],
  A30: [8, 0],
  A40: [8, 6],
  A100: [8, 0],
  A4000: [8, 6],
  A4500: [8, 6],
  A5000: [8, 6],
  A6000: [8, 6],
  RTX3060: [8, 6],
  RTX3060Ti: [8, 6],
  RTX3070: [8, 6],
  RTX3070Ti: [8, 6],
  RTX3080: [8, 6],
  RTX3080Ti: [8, 6],
  RTX3090: [8, 6],
  RTX3090Ti: [8, 6],
  L4: [8, 9],
  L40: [8, 9],
  L40S: [8, 9],
  RTX4060Ti: [8, 9],
  RTX4070: [8, 9],
  RTX4070Ti: [8, 9],
  RTX4070TiSUPER: [8, 9],
  RTX4080: [8, 9],
  RTX4080SUPER: [8, 9],
  RTX4090: [8, 9],
  RTX2000Ada: [8, 9],
  RTX4000Ada: [8, 9],
  RTX4500Ada: [8, 9],
  RTX5000Ada: [8, 9],
  RTX5880Ada: [8, 9],
  RTX6000Ada: [8, 9],
  H100: [9, 0],
  H100NVL: [9, 0],
  H200: [9, 0],
  H200NVL: [9, 0],
  GH200: [9, 0],
  B200: [10, 0],
  GB200: [10, 0],
  B300: [10, 3],
  GB300: [10, 3],
  RTX5070: [12, 0],
  RTX5080: [12, 0],
  RTX5090: [12, 0],
  RTXPRO6000: [12, 0],
};

const AMD = ["MI100", "MI210", "MI250", "MI250X", "MI300A", "MI300X", "MI308X", "MI325X", "MI355X"];
const INTEL = ["Gaudi", "Gaudi2", "Gaudi3"];
const TENSTORRENT = ["n150", "n300", "p100a", "p150a", "p150b", "p300c", "galaxy"];
/** TPU versions as gpuhunt writes them (`v5litepod` is v5e). */
const TPU_VERSIONS = ["v2", "v3", "v4", "v5p", "v5litepod", "v5e", "v6e"];

const table = new Map<string, KnownAccelerator>();
for (const [name, cc] of Object.entries(NVIDIA)) table.set(name.toLowerCase(), { vendor: "nvidia", cc });
for (const name of AMD) table.set(name.toLowerCase(), { vendor: "amd" });
for (const name of INTEL) table.set(name.toLowerCase(), { vendor: "intel" });
for (const name of TENSTORRENT) table.set(name.toLowerCase(), { vendor: "tenstorrent" });

/** `v5litepod-8`, `v2-8`, optionally written `tpu-v5litepod-8`. */
export function isTpuName(name: string): boolean {
  const parts = normalizeGpuName(name).split("-");
  return parts.length === 2 && TPU_VERSIONS.includes(parts[0]) && /^\d+$/.test(parts[1]);
}

/** Lower-cased, with the `tpu-` prefix dstack accepts removed. */
export function normalizeGpuName(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.startsWith("tpu-") ? lower.slice(4) : lower;
}

/** The vendor of a known accelerator name, else `null`. */
export function vendorOfGpu(name: string): GpuVendor | null {
  if (isTpuName(name)) return "google";
  return table.get(normalizeGpuName(name))?.vendor ?? null;
}

/** NVIDIA compute capability of a known GPU name, else `null`. */
export function computeCapabilityOf(name: string): [number, number] | null {
  return table.get(normalizeGpuName(name))?.cc ?? null;
}

/** Compute capability as one comparable number: 8.6 → 806, 10.0 → 1000 (so 10.0 > 8.6). */
export function ccNumber(cc: [number, number]): number {
  return cc[0] * 100 + cc[1];
}

/**
 * The vendor implied by a list of names: the common vendor when every name is known and they
 * agree, else `null` (a mixed or unknown list constrains nothing beyond the names themselves).
 */
export function vendorOfNames(names: string[]): GpuVendor | null {
  let vendor: GpuVendor | null = null;
  for (const n of names) {
    const v = vendorOfGpu(n);
    if (!v) return null;
    if (vendor && v !== vendor) return null;
    vendor = v;
  }
  return vendor;
}
