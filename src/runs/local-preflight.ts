/**
 * The local backend's checks before the engine runs, so that a doomed `dstack up` changes
 * nothing and says what to do (`dstack up` / `dstack preview` through `prepareRun`, and
 * `dstack build`): the plan-only checks of the compiler (src/compiler/backends/local/preflight.ts),
 * then Docker queries — base image present, `python:` among those the base image provides,
 * prebuilt image present. The prebuilt image follows one rule in every command:
 *
 *   no flag          reuse it; missing: E4111 (run `dstack build` or add --build)
 *   --build          reuse it; missing: build it
 *   --force-build    build it again even when it exists
 *
 * With `defer`, a build that is due is not made but returned (`pending`), for `up` to make
 * after the plan and the confirmation (`buildPending`); without, it is made here, streaming
 * Docker's output to `onBuildOutput`. Returns the image the container will use.
 *
 * Codes: E4110 base image missing, E4111 prebuilt image missing (run `dstack build` or add
 * `--build`), E4112 python version not provided, E4113 nvcc on the local base image, E4114 the
 * build failed.
 */
import type Docker from "dockerode";
import type { Plan } from "../compiler/plan";
import { checkLocalPlanStatic, derivesFromBase, pythonProvided } from "../compiler/backends/local/preflight";
import { DstackError, ExitCode } from "../diagnostics";
import { BASE_SUITES, baseImageInfo, baseImageRef, defaultSuite, isBaseImageRef, offeredPythons, suiteForPython } from "../stacks/base-image";
import { dockerClient, imageIdOf } from "../stacks/docker";
import { buildPrebuiltImage, prebuiltBuildOf, type PrebuiltBuild } from "./image-build";

export interface PreflightOptions {
  /** RunSpec.python (the Plan keeps it only for prebuilt images). */
  python?: string | null;
  /** `--build`: build a missing prebuilt image. */
  buildMissing?: boolean;
  /** `--force-build` (`dstack build --force`): build the prebuilt image even when it exists. */
  rebuild?: boolean;
  /** Do not build now: return the due build as `pending` (`up` builds after the confirmation). */
  defer?: boolean;
  onBuildOutput?: (line: string) => void;
  docker?: Docker;
}

export interface PreflightResult {
  image: string;
  /** The image's id; "" when it is still to be built (pending) or pulled by the engine. */
  image_id: string;
  /** The prebuilt image was built by this call. */
  built: boolean;
  /** Build seconds when built. */
  build_seconds: number | null;
  /** With `defer`: the build that is due (`buildPending` makes it). */
  pending: PrebuiltBuild | null;
}

/** Makes a build `localPreflight` deferred; E4114 when it fails. */
export async function buildPending(b: PrebuiltBuild, onLine: (line: string) => void = () => undefined, docker?: Docker): Promise<PreflightResult> {
  const started = Date.now();
  try {
    const id = await buildPrebuiltImage(b, onLine, docker);
    return { image: b.ref, image_id: id, built: true, build_seconds: (Date.now() - started) / 1000, pending: null };
  } catch (e) {
    throw new DstackError(
      { code: "E4114", severity: "error", message: (e as Error).message, hint: "fix the build: commands (the output above shows the failing step)" },
      ExitCode.Provisioning,
    );
  }
}

/** The local base image a plan's image is, or is built on; null for a user image. */
function baseRefOf(plan: Plan): string | null {
  const ref = plan.image.kind === "prebuilt" ? (plan.image.build?.from ?? null) : plan.image.kind === "base" ? plan.image.ref : null;
  return ref !== null && isBaseImageRef(ref) ? ref : null;
}

export async function localPreflight(plan: Plan, opts: PreflightOptions = {}): Promise<PreflightResult> {
  const docker = opts.docker ?? (await dockerClient());
  const baseRef = baseRefOf(plan) ?? baseImageRef();
  const errors = checkLocalPlanStatic(plan, baseRef);
  if (errors.length) throw new DstackError(errors, ExitCode.Usage);

  if (derivesFromBase(plan, baseRef)) {
    const python = plan.image.build?.python ?? opts.python ?? null;
    const suite = suiteForPython(python);
    if (python && suite === null) {
      throw new DstackError(
        {
          code: "E4112",
          severity: "error",
          message: `python: ${python} is not available on local: the local base images provide python ${offeredPythons()}`,
          hint:
            `use one of those (e.g. python: "${BASE_SUITES.find((s) => s.suite === defaultSuite())?.python ?? "3.11"}"), or set image: to an image with Python ${python}` +
            ` (without python: in the configuration it defaults to this machine's python3; DSTACK_LOCAL_PYTHON overrides that)`,
        },
        ExitCode.Usage,
      );
    }
    const base = await baseImageInfo(docker, baseRef);
    if (!base.present) {
      const own = suite && suite !== defaultSuite() ? ` --python ${BASE_SUITES.find((s) => s.suite === suite)?.python}` : "";
      throw new DstackError(
        {
          code: "E4110",
          severity: "error",
          message: `the local base image ${baseRef}${own ? ` (Debian ${suite}, python${own.slice("--python".length + 1)})` : ""} is not built yet`,
          hint: `run \`dstack setup${own}\``,
        },
        ExitCode.Prerequisite,
      );
    }
    if (python && !pythonProvided(python, base.python)) {
      throw new DstackError(
        {
          code: "E4112",
          severity: "error",
          message: `python: ${python} is not available on the local base image ${baseRef} (it provides ${base.python.join(", ") || "none"}); the local base images provide python ${offeredPythons()}`,
          hint: `use one of those, or set image: to an image with Python ${python}`,
        },
        ExitCode.Usage,
      );
    }
  }

  const ref = plan.image.ref;
  const existing = opts.rebuild && plan.image.kind === "prebuilt" ? null : await imageIdOf(docker, ref);
  if (existing) return { image: ref, image_id: existing, built: false, build_seconds: null, pending: null };
  const build = prebuiltBuildOf(plan);
  if (!build) {
    // `base` was checked above; a `user` image is pulled by the engine (LocalImage).
    return { image: ref, image_id: "", built: false, build_seconds: null, pending: null };
  }
  if (!opts.buildMissing && !opts.rebuild) {
    throw new DstackError(
      {
        code: "E4111",
        severity: "error",
        message: `the configuration has build: commands and its prebuilt image ${ref} does not exist`,
        hint: "run `dstack build` first, or add --build to build it now",
      },
      ExitCode.Usage,
    );
  }
  if (opts.defer) return { image: ref, image_id: "", built: false, build_seconds: null, pending: build };
  return buildPending(build, opts.onBuildOutput, docker);
}
