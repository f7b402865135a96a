/**
 * An offer as text: every command that prints an offer takes its words from here. dstack
 * itself writes an offer in two notations, and the CLI keeps both:
 * - the offers table of `dstack offer`: `cpu=x86:2 mem=8GB disk=100GB gpu=A100:40GB:8` and
 *   `$0.0052` (`resourcesColumn`, `priceColumn`);
 * - a run's resources line, in `dstack up`'s plan table, `dstack ps` and the run record:
 *   `4xCPU, 16GB, 1xA100 (80GB), 100GB (disk)` and `$0.0052` (`offerResources`, `formatPrice`);
 * - in a sentence (diagnostics): `aws p5.48xlarge in us-east-1 at $55.04/h` (`describeOffer`).
 * Pure: no I/O.
 */
import type { Offer } from "./offer";

/** The resource facts of an offer that its text shows. */
export type OfferResources = Pick<Offer, "cpu" | "memory" | "disk" | "gpu_count" | "gpu_name" | "gpu_memory">;

/** A size in the offers table: whole numbers as they are, else at most 3 decimals. */
function tableNumber(x: number): string {
  return String(Number.isInteger(x) ? x : Number(x.toFixed(3)));
}

/** A size in a resources line: `16GB`, `15.6GB`. */
function lineGb(n: number): string {
  return Number.isInteger(n) ? `${n}GB` : `${n.toFixed(1)}GB`;
}

/** `cpu=x86:2 mem=8GB disk=100GB gpu=A100:40GB:8` (the RESOURCES column of `dstack offer`). */
export function resourcesColumn(o: OfferResources & Pick<Offer, "cpu_arch">): string {
  const parts = [`cpu=${o.cpu_arch}:${o.cpu}`, `mem=${tableNumber(o.memory)}GB`];
  if (o.disk !== null) parts.push(`disk=${tableNumber(o.disk)}GB`);
  if (o.gpu_count > 0) parts.push(`gpu=${o.gpu_name}:${o.gpu_memory === null ? "?" : tableNumber(o.gpu_memory)}GB:${o.gpu_count}`);
  return parts.join(" ");
}

/** `$0.0052`: the price in the offers table, as precise as the catalog (up to 6 decimals). */
export function priceColumn(p: number): string {
  return `$${Number(p.toFixed(6))}`;
}

/** dstack's resources line: `4xCPU, 16GB, 1xA100 (80GB), 100GB (disk)`. */
export function offerResources(o: OfferResources): string {
  const parts = [`${o.cpu}xCPU`, lineGb(o.memory)];
  if (o.gpu_count > 0) parts.push(`${o.gpu_count}x${o.gpu_name ?? "GPU"}${o.gpu_memory ? ` (${lineGb(o.gpu_memory)})` : ""}`);
  if (o.disk != null) parts.push(`${lineGb(o.disk)} (disk)`);
  return parts.join(", ");
}

/** `$0.000` per hour, or `-`. */
export function formatPrice(price: number | null): string {
  return price == null ? "-" : `$${price.toFixed(price < 1 ? 4 : 3).replace(/0+$/, "").replace(/\.$/, ".0")}`;
}

/** `aws p5.48xlarge in us-east-1 at $55.04/h`, `local (this machine)`. */
export function describeOffer(o: Offer): string {
  if (o.backend === "local") return "local (this machine)";
  return `${o.backend} ${o.instance_type}${o.spot ? " (spot)" : ""} in ${o.zone ?? o.region} at $${o.price}/h`;
}
