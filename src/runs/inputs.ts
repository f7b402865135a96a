/**
 * What `dstack up` / `dstack preview` gather from the other stages before planning: the ranked
 * offers (catalogs plus this machine), the chosen provisionable one, the default image of its
 * backend, and the backend's preflight checks. Thin glue over src/offers and the local backend.
 */
import type { RunSpec } from "../config/runspec";
import type { Plan } from "../compiler/plan";
import { DstackError, ExitCode, type Diagnostic } from "../diagnostics";
import type { Offer } from "../offers/offer";
import { chooseOffer } from "./choose";

/** This machine's offer (src/offers/local.ts). */
export async function machineOffer(): Promise<Offer> {
  const { localOffer } = await import("../offers/local");
  return localOffer();
}

/**
 * The local backend runs the base image's Python. When the configuration did not name a
 * `python` (it defaulted to this machine's python3) and the base image lacks that version,
 * use the base image's own and say so, rather than refusing a configuration that asked
 * for nothing. An explicit `python:` that the image lacks stays an error (E4112 in preflight).
 */
export async function resolveLocalPython(spec: RunSpec, backend: string, warn: (message: string) => void): Promise<RunSpec> {
  if (backend !== "local" || !spec.python_defaulted || !spec.python) return spec;
  const { dockerClient } = await import("../stacks/docker");
  const { baseImageInfo, baseImageRef } = await import("../stacks/base-image");
  const { pythonProvided } = await import("../compiler/backends/local/preflight");
  const base = await baseImageInfo(await dockerClient(), baseImageRef());
  if (!base.present || base.python.length === 0 || pythonProvided(spec.python, base.python)) return spec;
  warn(
    `python ${spec.python} (this machine's) is not on the local base image; using its python ${base.python[0]} ` +
      `(set python: in the configuration to choose)`,
  );
  return { ...spec, python: base.python[0] };
}

export interface OfferChoice {
  chosen: Offer;
  /** The next cheapest offers (any backend), for the plan table. */
  next: Offer[];
  warnings: Diagnostic[];
}

/** The cheapest offer on a backend this machine can provision, and the next few offers. */
export async function offersFor(spec: RunSpec): Promise<OfferChoice> {
  const { findOffers, noOffersError, offerViolations } = await import("../offers/find");
  const { configuredBackends } = await import("../offers/backends-config");
  const local = await machineOffer();
  // only the backends configured in DSTACK_HOME/config.yml (local always is), as `dstack offer`
  const result = findOffers(spec, { local, limit: 50, ...configuredBackends() });
  if (result.total === 0) throw noOffersError(result);
  const { chosen, next } = chooseOffer(result.offers);
  if (!chosen) {
    const cheapest = next[0];
    const breaks = offerViolations(spec, local);
    const { offerResources } = await import("../offers/format");
    throw new DstackError(
      {
        code: "E6105",
        severity: "error",
        message:
          `this machine (${offerResources(local)}) does not meet the run's ${breaks.join(", ") || "requirements"} requirement${breaks.length > 1 ? "s" : ""}, ` +
          `and no other backend can be provisioned from here; the cheapest match is ${cheapest.backend} ${cheapest.instance_type} in ${cheapest.region} at $${cheapest.price}/h`,
        hint: `relax ${breaks.length ? breaks.map((b) => `resources.${b}`).join(" and ") : "the resources"} to fit this machine (e.g. \`--disk 10GB..\`; \`dstack offer -b local\` shows its offer)`,
      },
      ExitCode.NoOffers,
    );
  }
  return { chosen, next, warnings: result.warnings };
}

/** The default image of a backend's runs (the local base image for `local`). */
export async function baseImageFor(backend: string): Promise<string> {
  if (backend === "local") {
    const { baseImageRef } = await import("../stacks/base-image");
    return baseImageRef();
  }
  return "dstackai/base:py3.12-0.7-cuda-12.1";
}

/**
 * The backend's checks before the engine runs (local: base image present, python available,
 * prebuilt image present or built with `--build`). Throws a DstackError with what to do.
 */
export async function preflight(p: Plan, o: { python?: string | null; forceBuild?: boolean; onLog?: (line: string) => void }): Promise<void> {
  if (p.backend !== "local") return;
  const { localPreflight } = await import("../compiler/backends/local/preflight");
  await localPreflight(p, { python: o.python ?? null, forceBuild: o.forceBuild, onBuildOutput: o.onLog });
}
