/**
 * What a run gathers from the other stages before planning: this machine's offer, the ranked
 * offers (catalogs plus this machine) and the chosen provisionable one, the default image of
 * its backend, and the backend's preflight checks. Thin glue over src/offers, src/stacks and
 * the local backend; `prepareRun` (prepare.ts) composes these steps.
 */
import type { RunSpec } from "../config/runspec";
import type { Plan } from "../compiler/plan";
import { CLOUD_DEFAULT_IMAGE } from "../compiler/backends/cloud/images";
import { pythonProvided } from "../compiler/backends/local/preflight";
import { DstackError, ExitCode, type Diagnostic } from "../diagnostics";
import { configuredBackends } from "../offers/backends-config";
import { findOffers, noOffersError, offerViolations } from "../offers/find";
import { localOffer } from "../offers/local";
import { offerResources } from "../offers/format";
import type { Offer } from "../offers/offer";
import { baseImageInfo, baseImageRef } from "../stacks/base-image";
import { dockerClient } from "../stacks/docker";
import { chooseOffer } from "./choose";
import { localPreflight, type PreflightResult } from "./local-preflight";

/** This machine's offer (src/offers/local.ts). */
export async function machineOffer(): Promise<Offer> {
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
  const local = await machineOffer();
  // only the backends configured in DSTACK_HOME/config.yml (local always is), as `dstack offer`
  const result = findOffers(spec, { local, limit: 50, ...configuredBackends() });
  if (result.total === 0) throw noOffersError(result);
  const { chosen, next } = chooseOffer(result.offers);
  if (!chosen) {
    const cheapest = next[0];
    const breaks = offerViolations(spec, local);
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
export function baseImageFor(backend: string): string {
  return backend === "local" ? baseImageRef() : CLOUD_DEFAULT_IMAGE;
}

export interface RunPreflightOptions {
  python?: string | null;
  /** `--build`: build a missing prebuilt image. */
  forceBuild?: boolean;
  /** Build the prebuilt image even when it exists (`dstack build --force`). */
  rebuild?: boolean;
  onBuildOutput?: (line: string) => void;
}

/**
 * The backend's checks before the engine runs (local: base image present, python available,
 * prebuilt image present or built with `--build`; see local-preflight.ts). Throws a DstackError
 * with what to do. Returns the image the run will use, or null for backends without checks.
 */
export async function preflight(p: Plan, o: RunPreflightOptions = {}): Promise<PreflightResult | null> {
  if (p.backend !== "local") return null;
  return localPreflight(p, { python: o.python ?? null, forceBuild: o.forceBuild, rebuild: o.rebuild, onBuildOutput: o.onBuildOutput });
}
