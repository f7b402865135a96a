/**
 * What a run gathers from the other stages before planning: this machine's offer, the ranked
 * offers (catalogs plus this machine) and the chosen provisionable one, the default image of
 * its backend, and the backend's preflight checks. Thin glue over src/offers, src/stacks and
 * the local backend; `prepareRun` (prepare.ts) composes these steps.
 */
import type { RunSpec } from "../config/runspec";
import type { Plan } from "../compiler/plan";
import { cloudDefaultImage } from "../compiler/backends/cloud/images";
import { backendSettings } from "../offers/backends-config";
import { pythonProvided } from "../compiler/backends/local/preflight";
import { DstackError, ExitCode, type Diagnostic } from "../diagnostics";
import { configuredBackends } from "../offers/backends-config";
import { findOffers, noOffersError, offerViolations } from "../offers/find";
import { localOffer } from "../offers/local";
import { kubernetesOffers } from "../offers/kubernetes";
import { offerResources } from "../offers/format";
import type { Offer } from "../offers/offer";
import { baseImageInfo, baseImageRef, defaultSuite, suiteForPython } from "../stacks/base-image";
import { dockerClient } from "../stacks/docker";
import { isCloudBackend } from "../compiler/backends/cloud/prerequisites";
import { chooseOffer } from "./choose";
import { cloudPreflight } from "./cloud-preflight";
import { localPreflight, type PreflightResult } from "./local-preflight";
import { kubePreflight } from "./kube-preflight";
import { configuredKube } from "../offers/kubernetes";

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
  const docker = await dockerClient();
  const suite = suiteForPython(spec.python);
  if (suite && suite !== defaultSuite()) {
    // this machine's python has a base image of its own: use it when it is built
    const own = await baseImageInfo(docker, baseImageRef(suite));
    if (own.present && pythonProvided(spec.python, own.python)) return spec;
  }
  const base = await baseImageInfo(docker, baseImageRef());
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
  /** Every matching offer, cheapest first (for the attempts over cloud offers). */
  offers: Offer[];
  warnings: Diagnostic[];
}

/** The cheapest offer on a backend this machine can provision, and the next few offers. */
export async function offersFor(spec: RunSpec): Promise<OfferChoice> {
  const [local, cluster] = await Promise.all([machineOffer(), kubernetesOffers({ spec })]);
  // only the backends configured in DSTACK_HOME/config.yml (local always is), as `dstack offer`
  const result = findOffers(spec, { local, extra: cluster.offers, limit: 50, ...configuredBackends() });
  result.warnings.push(...cluster.warnings);
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
  return { chosen, next, offers: result.offers, warnings: result.warnings };
}

/**
 * The default image of a backend's runs: for `local`, the base image of the suite whose Python
 * is the run's `python:` (the default suite's when none has it: preflight then names the
 * versions there are, E4112); for a cloud, dstack's base image for the run's python and nvcc
 * (`dstackai/dind` with `docker: true`).
 */
export function baseImageFor(backend: string, spec?: Pick<RunSpec, "python" | "nvcc"> & Partial<Pick<RunSpec, "docker">>): string {
  if (backend === "kubernetes") return kubeDefaultImage(spec);
  return backend === "local" ? baseImageRef(suiteForPython(spec?.python ?? null) ?? defaultSuite()) : cloudDefaultImage(spec?.python ?? null, spec?.nvcc ?? false, spec?.docker === true);
}

/** The settings a backend's program gets: a cloud's entry of config.yml (ssh_ingress_cidrs, volumes, …), then dstack's own. */
export function programSettings(backend: string, o: { env?: NodeJS.ProcessEnv; forceBuild?: boolean } = {}): Record<string, unknown> {
  const own = backend === "local" ? {} : backend === "kubernetes" ? kubeProgramSettings(o.env) : backendSettings(backend, { env: o.env });
  return { delete_volumes: false, ...own, force_build: o.forceBuild ?? false };
}

export interface RunPreflightOptions {
  python?: string | null;
  /** `--build`: build a missing prebuilt image. */
  buildMissing?: boolean;
  /** `--force-build`: build the prebuilt image even when it exists. */
  rebuild?: boolean;
  /** Return a due build as `pending` instead of making it (see local-preflight.ts). */
  defer?: boolean;
  onBuildOutput?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Told before a long step starts (a provider plugin's download). */
  onNotice?: (message: string) => void;
}

/**
 * The backend's checks before the engine runs (local: base image present, python available,
 * prebuilt image present, or due to be built with `--build` / `--force-build`; see local-preflight.ts). Throws a DstackError
 * with what to do. Returns the image the run will use, or null for backends without checks.
 */
export async function preflight(p: Plan, o: RunPreflightOptions = {}): Promise<PreflightResult | null> {
  if (isCloudBackend(p.backend)) {
    await cloudPreflight(p, { env: o.env, onNotice: o.onNotice });
    return null;
  }
  if (p.backend === "kubernetes") {
    await kubePreflight(programSettings(p.backend, { env: o.env }), { env: o.env });
    return null;
  }
  if (p.backend !== "local") return null;
  return localPreflight(p, { python: o.python ?? null, buildMissing: o.buildMissing, rebuild: o.rebuild, defer: o.defer, onBuildOutput: o.onBuildOutput });
}

/** The kubernetes program's settings: config.yml's entry, checked, its kubeconfig's path made absolute. */
function kubeProgramSettings(env?: NodeJS.ProcessEnv): Record<string, unknown> {
  return { ...(configuredKube({ env }) ?? {}) };
}

/** The image of a kubernetes run without `image:`: config.yml's `image`, else dstack's default image. */
function kubeDefaultImage(spec?: Pick<RunSpec, "python" | "nvcc">): string {
  return configuredKube()?.image ?? cloudDefaultImage(spec?.python ?? null, spec?.nvcc ?? false);
}
