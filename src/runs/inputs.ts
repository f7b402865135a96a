/**
 * What `dstack up` / `dstack preview` gather from the other stages before planning: the ranked
 * offers (catalogs plus this machine), the chosen provisionable one, the default image of its
 * backend, and the backend's preflight checks. Thin glue over src/offers and the local backend.
 */
import * as fs from "fs";
import * as os from "os";
import type { RunSpec } from "../config/runspec";
import type { Plan } from "../compiler/plan";
import { DstackError, ExitCode, type Diagnostic } from "../diagnostics";
import type { Offer } from "../offers/offer";
import { PROVISIONABLE_BACKENDS, rankForUp } from "./choose";

/**
 * This machine's offer. Uses `localOffer()` from src/offers when present; otherwise the
 * machine's CPUs, memory and the size of the root filesystem (no GPUs).
 */
export async function machineOffer(): Promise<Offer> {
  try {
    const mod = require("../offers/local") as { localOffer?: () => Offer | Promise<Offer> };
    if (typeof mod.localOffer === "function") return await mod.localOffer();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw e;
  }
  let disk: number | null;
  try {
    const st = fs.statfsSync("/");
    disk = Math.floor((st.blocks * st.bsize) / 1e9);
  } catch {
    disk = null;
  }
  return {
    backend: "local",
    region: "local",
    zone: null,
    instance_type: os.hostname() || "local",
    price: 0,
    spot: false,
    cpu: os.cpus().length,
    cpu_arch: os.arch() === "arm64" ? "arm" : "x86",
    memory: Math.floor(os.totalmem() / 2 ** 30),
    disk,
    gpu_count: 0,
    gpu_name: null,
    gpu_memory: null,
    gpu_vendor: null,
    flags: [],
    provider_data: {},
  };
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
  const local = await machineOffer();
  const result = findOffers(spec, { local, limit: 50 });
  if (result.total === 0) throw noOffersError(result);
  const ranked = rankForUp(result.offers);
  const chosen = ranked.find((o) => PROVISIONABLE_BACKENDS.includes(o.backend));
  if (!chosen) {
    const cheapest = ranked[0];
    const breaks = offerViolations(spec, local);
    const { offerResources } = await import("./record");
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
  return { chosen, next: ranked.filter((o) => o !== chosen).slice(0, 3), warnings: result.warnings };
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
