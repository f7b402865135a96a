/**
 * Preparing a run: the one use case under `dstack up`, `preview`, `compile` and `build`.
 *
 *   configuration (src/config) → offers (src/offers) → plan (src/compiler) → preflight → warnings
 *
 * Every purpose takes these steps in this order, each with its own rule:
 *
 *   purpose  offers                                         plan                             preflight
 *   up       configured backends; cheapest provisionable    planRun: the run's key, its      local checks; a build --build /
 *            one, and the next three                        previous outputs                 --force-build make due is returned
 *                                                                                            (`pendingBuild`), made by `up` after
 *                                                                                            the confirmation; none when unchanged
 *   preview  as up                                          as up                            as up (never builds)
 *   compile  every catalog, backends with a program; N-th   plan() with the run's key if     none (runs under the mock engine)
 *                                                           any; the backend's settings
 *   build    this machine                                   plan() without a key             builds the prebuilt image
 *
 * `up` and `preview` narrow the offers to where the run's volumes live (their volume stacks:
 * ./volumes.ts) and give the program their ids; `compile` gives it their ids, or placeholders.
 *
 * `--build` means one thing everywhere: reuse the prebuilt image, build it when missing;
 * `--force-build` builds it again. A prebuilt image's hash covers the repo's files
 * (src/runs/repo-files.ts), which its `build:` commands see.
 *
 * `up`, `preview` and `build` also replace a defaulted python the local base image lacks
 * (resolveLocalPython), and `up` / `preview` refuse what the backend cannot honour
 * (unsupportedDiagnostics). Warnings go to `onWarning` when they arise; the CLI prints them.
 * Nothing here prints.
 */
import { loadRunSpec, type LoadOptions } from "../config";
import type { RunSpec, VolumeSpec } from "../config/runspec";
import type { VolumeOutputs } from "../compiler/backends/volume";
import { knownBackends } from "../compiler/backends/index";
import { plan as makePlan, type Plan } from "../compiler/plan";
import { ConfigError, DstackError, ExitCode } from "../diagnostics";
import { backendSettings } from "../offers/backends-config";
import { findOffers, noOffersError } from "../offers/find";
import { localDiskWarning } from "../offers/local";
import { configuredKube, kubernetesOffers } from "../offers/kubernetes";
import type { Offer } from "../offers/offer";
import { readRunKey } from "../ssh/keys";
import { diyStacksDir, prefetchEngine } from "../stacks/workspace";
import { unsupportedDiagnostics } from "./choose";
import { checkCost } from "./cost";
import { baseImageFor, machineOffer, offersFor, preflight, programSettings, resolveLocalPython } from "./inputs";
import { discardNewRun, isUnchanged, openRunStack, ownerName, planRun, probeInstance, type PlannedRun } from "./lifecycle";
import type { PrebuiltBuild } from "./image-build";
import { localPreflight, type PreflightResult } from "./local-preflight";
import { repoFilesHash } from "./repo-files";
import { mark } from "../trace";
import { pendingVolumes, withVolumeRefs } from "./volume-refs";
import { existingRunVolumes, runSpecForVolumes } from "./volumes";

/** Public key planned when the run has no key yet (`compile`; `dstack up` creates the run's own). */
const PLACEHOLDER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0cUPhs9r0UJHo8hJBk5pq4WmrS5hUjU2dCyZbTbQX dstack-compile-placeholder";

export interface PrepareUp {
  purpose: "up";
  /** A warning to show now (e.g. the base image's python replaces this machine's). */
  onWarning?: (message: string) => void;
  /**
   * Called with the run's name once the configuration and the offer are settled, before the
   * run's state is read (planning): where `up` takes the run's lock.
   */
  beforePlan?: (runName: string) => Promise<void>;
  /**
   * A new run's stack may be created while the preflight runs (`up -y`: nothing is asked
   * first). An existing run's stack is always opened then; either way a failed preflight of a
   * new run removes what was created.
   */
  openStackEarly?: boolean;
}

export interface PreparePreview {
  purpose: "preview";
  onWarning?: (message: string) => void;
}

export interface PrepareCompile {
  purpose: "compile";
  /** The N-th cheapest matching offer on a backend with a program (1 = the cheapest). */
  offer: number;
}

export interface PrepareBuild {
  purpose: "build";
  /** Build the prebuilt image even when it exists (`dstack build --force`). */
  rebuild?: boolean;
  onWarning?: (message: string) => void;
  onBuildOutput?: (line: string) => void;
}

export type PrepareOptions = PrepareUp | PreparePreview | PrepareCompile | PrepareBuild;

/** What every purpose returns: the RunSpec as it will run, the offer, and the plan. */
export interface PreparedRun {
  spec: RunSpec;
  offer: Offer;
  plan: Plan;
}

/** A run for the engine (`up`, `preview`). */
export interface PreparedEngineRun extends PreparedRun {
  /** The next cheapest offers (any backend), for the plan table. */
  next: Offer[];
  planned: PlannedRun;
  /**
   * The run exists and its instance is not running (or its prebuilt image is to be built
   * again): the engine refreshes before it acts.
   */
  drifted: boolean;
  /** A prebuilt image `--build` / `--force-build` make due: `up` builds it (buildPending) after the confirmation. */
  pendingBuild: PrebuiltBuild | null;
  /**
   * The run's volumes by name (./volumes.ts): those with volume stacks, and those `up` creates
   * first, each as its own volume stack (a cloud run's names without one: `createRunVolumes`).
   */
  volumes: { existing: VolumeOutputs[]; create: VolumeSpec[] };
}

export interface PreparedUp extends PreparedEngineRun {
  /**
   * The run exists, was brought up with this very plan, and its instance runs: `up` needs no
   * engine run (no preflight was made, and `drifted` is false).
   */
  unchanged: boolean;
}

export interface PreparedCompile extends PreparedRun {
  /** Every matching offer on a backend with a program, cheapest first. */
  offers: Offer[];
  index: number;
  /** The backend's settings from its entry in DSTACK_HOME/config.yml (none for `local`). */
  settings: Record<string, unknown>;
}

export interface PreparedBuild extends PreparedRun {
  /** The prebuilt image (built now, or reused). */
  image: PreflightResult;
  /** Seconds the check and the build took. */
  seconds: number;
}

export function prepareRun(input: LoadOptions, o: PrepareUp): Promise<PreparedUp>;
export function prepareRun(input: LoadOptions, o: PreparePreview): Promise<PreparedEngineRun>;
export function prepareRun(input: LoadOptions, o: PrepareCompile): Promise<PreparedCompile>;
export function prepareRun(input: LoadOptions, o: PrepareBuild): Promise<PreparedBuild>;
export async function prepareRun(input: LoadOptions, o: PrepareOptions): Promise<PreparedUp | PreparedEngineRun | PreparedCompile | PreparedBuild> {
  const spec = loadRunSpec(input);
  mark("configuration");
  switch (o.purpose) {
    case "up":
      // Find the Pulumi CLI while offers and the plan are worked out.
      prefetchEngine();
      return prepareEngineRun(spec, input.env, o);
    case "preview":
      return prepareEngineRun(spec, input.env, o);
    case "compile":
      return prepareCompile(spec, input.env ?? process.env, o.offer);
    case "build":
      return prepareBuild(spec, o);
  }
}

async function prepareEngineRun(given: RunSpec, env: NodeJS.ProcessEnv | undefined, o: PrepareUp | PreparePreview): Promise<PreparedUp> {
  const warn = o.onWarning ?? (() => undefined);
  // volumes by name: the offers narrowed to where the run's existing volumes live (./volumes.ts)
  const placed = await runSpecForVolumes(given, { env });
  const { chosen, next } = await offersFor(placed.spec);
  mark("offers");
  const spec = await resolveLocalPython(placed.spec, chosen.backend, warn);
  const diskWarning = localDiskWarning(chosen, spec.resources.disk?.size.min ?? null);
  if (diskWarning) warn(diskWarning);
  const unsupported = unsupportedDiagnostics(spec, chosen.backend);
  if (unsupported.length) throw new ConfigError(unsupported);
  // the cost guard, before anything is locked, planned or created (E6300/E6301, exit 9)
  checkCost({ name: spec.name, price: chosen.price, max_duration: spec.max_duration, max_cost: spec.max_cost });

  if (o.purpose === "up") await o.beforePlan?.(spec.name);
  // a cloud program also gets its backend's settings from config.yml (ssh_ingress_cidrs, volumes, …);
  // clouds: `force_build` pushes the prebuilt image again even when the registry has its tag
  // and the ids of its volumes (their stacks' outputs); `preview` reads those `up` would create with an unknown id
  const settings = withVolumeRefs(programSettings(chosen.backend, { env, forceBuild: spec.force_build }), placed.volumes);
  const create = pendingVolumes(spec, placed.volumes, chosen, settings);
  const planned = await planRun(spec, chosen, {
    baseImage: baseImageFor(chosen.backend, spec),
    env,
    settings: o.purpose === "preview" ? withVolumeRefs(settings, [], create.map((v) => v.name)) : settings,
    buildContextHash: buildContextHash(spec),
  });
  if (planned.key.replaced) warn(planned.key.replaced);
  mark("plan");
  const prepared = { spec, offer: chosen, plan: planned.plan, next, planned, volumes: { existing: placed.volumes, create } };
  const rebuild = spec.force_build && planned.plan.image.kind === "prebuilt";
  if (o.purpose === "up" && !rebuild && (await isUnchanged(planned))) return { ...prepared, drifted: false, unchanged: true, pendingBuild: null };
  // `up` will need the stack: open it (a new run's `pulumi stack init`, the Automation API's load) while Docker is asked
  if (o.purpose === "up" && (planned.previous !== null || o.openStackEarly)) openRunStack(planned, env);

  let checked: PreflightResult | null;
  try {
    // both purposes defer the build: `preview` never builds, `up` builds after the confirmation
    checked = await preflight(planned.plan, { python: spec.python, buildMissing: spec.build_missing, rebuild: spec.force_build, defer: true, env, onNotice: o.onWarning });
  } catch (e) {
    await discardNewRun(planned); // a new run that fails its preflight leaves no key behind
    throw e;
  }
  const pendingBuild = checked?.pending ?? null;
  // a run whose instance stopped or vanished, or whose image is to be built, is brought up
  // (and previewed) with a refresh: the engine then sees the new image id
  const drifted = planned.previous !== null && (pendingBuild !== null || (await probeInstance(planned.previous)) !== "running");
  mark("preflight");
  return { ...prepared, drifted, unchanged: false, pendingBuild };
}

async function prepareCompile(spec: RunSpec, env: NodeJS.ProcessEnv, index: number): Promise<PreparedCompile> {
  const programs = new Set(knownBackends());
  const wantsLocal = !spec.backends || spec.backends.includes("local");
  // every catalog: a cloud need not be configured to be reviewed
  // a configured cluster's nodes too (src/offers/kubernetes.ts)
  const cluster = await kubernetesOffers({ env, spec });
  const result = findOffers(spec, { allBackends: true, local: wantsLocal ? await machineOffer() : undefined, extra: cluster.offers });
  if (result.total === 0) throw noOffersError(result);
  const offers = result.offers.filter((o) => programs.has(o.backend));
  if (offers.length === 0) {
    throw new DstackError(
      {
        code: "E3021",
        severity: "error",
        message: `no matching offer is on a backend with a program (${[...programs].join(", ")}); the cheapest is ${result.offers[0].backend} ${result.offers[0].instance_type}`,
        hint: "add --backend aws (or gcp, azure, local)",
      },
      ExitCode.NoOffers,
    );
  }
  if (index > offers.length)
    throw new DstackError({ code: "E3020", severity: "error", message: `--offer ${index}: only ${offers.length} offer(s) match`, hint: `use --offer 1..${offers.length}` }, ExitCode.Usage);
  const offer = offers[index - 1];

  const key = readRunKey(spec.name, env)?.publicKey ?? PLACEHOLDER_KEY;
  const plan = makePlan(spec, offer, { sshPublicKey: key, owner: ownerName(), now: Date.now(), baseImage: baseImageFor(offer.backend, spec), buildContextHash: buildContextHash(spec) });
  let settings: Record<string, unknown> = {};
  if (offer.backend !== "local") {
    settings = offer.backend === "kubernetes" ? { ...configuredKube({ env }) } : backendSettings(offer.backend, { env });
    // `--force-build`: the program builds the prebuilt image even when the registry has it
    // (without, it reuses the registry's image or builds a missing one: build-or-reuse)
    if (spec.force_build) settings = { ...settings, force_build: true };
  }
  // the run's volumes: their stacks' ids when the state has them, else a placeholder (`up` creates them first)
  // (read only from the file backend's state: compile needs no engine)
  const existing = diyStacksDir(env) !== null ? await existingRunVolumes(spec, { env }).catch(() => []) : [];
  settings = withVolumeRefs(settings, existing);
  const placeholders = pendingVolumes(spec, existing, offer, settings).map((v) => ({ ...v, backend: offer.backend, region: offer.region, zone: v.availability_zone, volume_id: `pending-${v.name}`, size: v.size, kind: "volume" as const, external: false, created_at: plan.created_at }));
  settings = withVolumeRefs(settings, placeholders);
  return { spec, offer, plan, offers, index, settings };
}

async function prepareBuild(given: RunSpec, o: PrepareBuild): Promise<PreparedBuild> {
  const spec = await resolveLocalPython(given, "local", o.onWarning ?? (() => undefined));
  if (spec.build.length === 0) {
    throw new ConfigError({
      code: "E4115",
      severity: "error",
      message: `nothing to build: ${spec.configuration_path} has no build: commands`,
      hint: "add build: commands (run once into a prebuilt image), or use setup:/init: for per-run commands",
      file: spec.configuration_path,
    });
  }
  const offer = await machineOffer();
  const plan = makePlan(spec, offer, { sshPublicKey: "", owner: ownerName(), now: Date.now(), baseImage: baseImageFor("local", spec), buildContextHash: buildContextHash(spec) });
  const started = Date.now();
  const image = await localPreflight(plan, { python: spec.python, buildMissing: true, rebuild: o.rebuild, onBuildOutput: o.onBuildOutput });
  return { spec, offer, plan, image, seconds: (Date.now() - started) / 1000 };
}

/** The repo files' hash when the configuration has `build:` commands (they see those files), else undefined. */
function buildContextHash(spec: RunSpec): string | undefined {
  return spec.build.length > 0 ? repoFilesHash(spec.repo_dir) : undefined;
}
