/**
 * One purchasable instance: a catalog row (or the local machine) under a dstack backend name.
 * The JSON of `dstack offer --json` is this object without `zone`, `flags` and `provider_data`.
 */
import type { CpuArch, GpuVendor } from "../config/runspec";

export interface Offer {
  /** dstack backend name: `local`, `aws`, `gcp`, `azure`, `lambda`, `runpod`, … */
  backend: string;
  /** Region (for GCP rows, the zone's region: `us-central1` for `us-central1-a`). */
  region: string;
  /** Zone when the catalog row is per-zone (GCP), else `null`. */
  zone: string | null;
  instance_type: string;
  /** USD per hour. */
  price: number;
  spot: boolean;
  cpu: number;
  cpu_arch: CpuArch;
  /** GB */
  memory: number;
  /** GB; `null` when the catalog does not report a disk (EBS-backed and the like). */
  disk: number | null;
  gpu_count: number;
  gpu_name: string | null;
  /** Per-GPU memory, GB. */
  gpu_memory: number | null;
  gpu_vendor: GpuVendor | null;
  flags: string[];
  provider_data: Record<string, unknown>;
}

/**
 * The JSON of an offer that dstack prints (`dstack offer --json`, the `offer` of
 * `dstack compile --json`): the Offer without `zone`, `flags` and `provider_data`.
 */
export type OfferJson = Omit<Offer, "zone" | "flags" | "provider_data">;

/** An offer's printed JSON, its keys always in this order. */
export function offerJson(o: Offer): OfferJson {
  return {
    backend: o.backend,
    region: o.region,
    instance_type: o.instance_type,
    price: o.price,
    spot: o.spot,
    cpu: o.cpu,
    cpu_arch: o.cpu_arch,
    memory: o.memory,
    disk: o.disk,
    gpu_count: o.gpu_count,
    gpu_name: o.gpu_name,
    gpu_memory: o.gpu_memory,
    gpu_vendor: o.gpu_vendor,
  };
}
