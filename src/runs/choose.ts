/**
 * Pure decisions `dstack up` makes before touching anything: which offer to run on, and
 * whether the chosen backend can honour every property of the RunSpec.
 */
import { unsupportedDiagnostics as unsupportedInConfig } from "../config";
import type { RunSpec } from "../config/runspec";
import type { Diagnostic } from "../diagnostics";
import type { Offer } from "../offers/offer";

/**
 * Backends `dstack up` can provision from this machine: the local Docker engine, and the clouds
 * through their Pulumi programs (offers come only from backends configured in config.yml; their
 * credentials and provider plugins are checked before the engine runs: src/runs/cloud-preflight.ts).
 */
export const PROVISIONABLE_BACKENDS = ["local", "aws", "gcp", "azure", "kubernetes"];

/** Cheapest first; on a tie the local machine, then by backend / region / instance name (stable). */
export function rankForUp(offers: Offer[]): Offer[] {
  return [...offers].sort(
    (a, b) =>
      a.price - b.price ||
      Number(b.backend === "local") - Number(a.backend === "local") ||
      a.backend.localeCompare(b.backend) ||
      a.region.localeCompare(b.region) ||
      a.instance_type.localeCompare(b.instance_type),
  );
}

/**
 * The offer `dstack up` runs on: the cheapest on a backend it can provision (null when there is
 * none); and the next cheapest offers on any backend, for the plan table (the cheapest ones when
 * none was chosen).
 */
export function chooseOffer(offers: Offer[], alternatives = 3): { chosen: Offer | null; next: Offer[] } {
  const ranked = rankForUp(offers);
  const chosen = ranked.find((o) => PROVISIONABLE_BACKENDS.includes(o.backend)) ?? null;
  return { chosen, next: ranked.filter((o) => o !== chosen).slice(0, alternatives) };
}

/**
 * Properties the backend cannot honour: the RunSpec's `unsupported` list (accepted, validated,
 * honoured by no backend yet) plus backend limits (multi-node tasks on `local`). Each is an
 * error: silently ignoring `files:` or `nodes: 2` would give a run that is not what was asked.
 */
export function unsupportedDiagnostics(spec: RunSpec, backend: string): Diagnostic[] {
  const out: Diagnostic[] = unsupportedInConfig(spec, "error").map((d) => ({ ...d, message: `${d.message} (backend ${backend})` }));
  const listed = new Set(spec.unsupported.map((u) => u.property));
  if (spec.type === "task" && spec.nodes > 1 && backend === "local" && !listed.has("nodes")) {
    out.push({
      code: "E6101",
      severity: "error",
      message: `nodes: ${spec.nodes}: the local backend runs one node`,
      hint: "use `nodes: 1` (or remove it) to run on this machine",
      file: spec.configuration_path,
    });
  }
  return out;
}
