/**
 * Checks of a local run made before the Pulumi engine runs (so a doomed `dstack up` changes
 * nothing and says what to do), for `dstack up` / `dstack preview` (engine side) and
 * `dstack build`:
 * - `checkLocalPlanStatic(plan, python)` (pure): problems visible from the plan alone.
 * - `localPreflight(plan, opts)`: the static checks plus Docker queries — base image present,
 *   `python:` among those the base image provides, prebuilt image present; with
 *   `forceBuild` (`--build`) a missing prebuilt image is built here, streaming its output to
 *   `onBuildOutput`. Returns the image the container will use.
 *
 * Codes: E4110 base image missing, E4111 prebuilt image missing (run `dstack build` or add
 * `--build`), E4112 python version not provided, E4113 nvcc on the local base image, E4114 the
 * build failed.
 */
import type Docker from "dockerode";
import type { Plan } from "../../plan";
import { Diagnostic, DstackError, ExitCode } from "../../../diagnostics";

export interface PreflightOptions {
  /** RunSpec.python (the Plan keeps it only for prebuilt images). */
  python?: string | null;
  /** `--build` (RunSpec.force_build): build a missing prebuilt image. */
  forceBuild?: boolean;
  /** Build the prebuilt image even when it exists (`dstack build --force`). */
  rebuild?: boolean;
  onBuildOutput?: (line: string) => void;
  docker?: Docker;
}

export interface PreflightResult {
  image: string;
  image_id: string;
  /** The prebuilt image was built by this call. */
  built: boolean;
  /** Build seconds when built. */
  build_seconds: number | null;
}

/** The base image the plan's image derives from (the default image), or null for user images. */
function derivesFromBase(plan: Plan, baseRef: string): boolean {
  if (plan.image.kind === "base") return true;
  if (plan.image.kind === "prebuilt") return plan.image.build?.from === baseRef;
  return false;
}

/** Plan-only problems (no I/O). */
export function checkLocalPlanStatic(plan: Plan, baseRef: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  const nvcc = plan.image.build?.nvcc ?? false;
  if (nvcc && derivesFromBase(plan, baseRef)) {
    out.push({
      code: "E4113",
      severity: "error",
      message: "nvcc: true needs a CUDA image; the local base image has no CUDA toolkit",
      hint: "set image: to a CUDA devel image present in your Docker engine, or drop nvcc",
    });
  }
  return out;
}

function majorMinor(v: string): string {
  const m = /^(\d+)(?:\.(\d+))?/.exec(v.trim());
  return m ? (m[2] !== undefined ? `${m[1]}.${m[2]}` : m[1]) : v.trim();
}

/** Whether a requested `python:` (3, 3.11, 3.11.4) is provided by one of `available` (major.minor). */
export function pythonProvided(requested: string, available: string[]): boolean {
  const want = majorMinor(requested);
  return available.some((a) => a === want || a.startsWith(want + "."));
}

export async function localPreflight(plan: Plan, opts: PreflightOptions = {}): Promise<PreflightResult> {
  const { dockerClient, imageIdOf } = await import("../../../stacks/docker");
  const { baseImageInfo, baseImageRef } = await import("../../../stacks/base-image");
  const docker = opts.docker ?? (await dockerClient());
  const baseRef = baseImageRef();
  const errors = checkLocalPlanStatic(plan, baseRef);
  if (errors.length) throw new DstackError(errors, ExitCode.Usage);

  if (derivesFromBase(plan, baseRef)) {
    const base = await baseImageInfo(docker, baseRef);
    if (!base.present) {
      throw new DstackError(
        { code: "E4110", severity: "error", message: `the local base image ${baseRef} is not built yet`, hint: "run `dstack setup`" },
        ExitCode.Prerequisite,
      );
    }
    const python = plan.image.build?.python ?? opts.python ?? null;
    if (python && !pythonProvided(python, base.python)) {
      throw new DstackError(
        {
          code: "E4112",
          severity: "error",
          message: `python: ${python} is not available on the local base image (it provides ${base.python.join(", ") || "none"})`,
          hint:
            `use python: "${base.python[0] ?? "3.11"}", or set image: to an image with Python ${python}` +
            ` (without python: in the configuration it defaults to this machine's python3; DSTACK_LOCAL_PYTHON=${base.python[0] ?? "3.11"} overrides that)`,
        },
        ExitCode.Usage,
      );
    }
  }

  const ref = plan.image.ref;
  const existing = opts.rebuild && plan.image.kind === "prebuilt" ? null : await imageIdOf(docker, ref);
  if (existing) return { image: ref, image_id: existing, built: false, build_seconds: null };
  if (plan.image.kind !== "prebuilt" || !plan.image.build) {
    // `base` was checked above; a `user` image is pulled by the engine (LocalImage).
    return { image: ref, image_id: "", built: false, build_seconds: null };
  }
  if (!opts.forceBuild && !opts.rebuild) {
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
  const { buildPrebuiltImage } = await import("./image");
  const started = Date.now();
  try {
    const id = await buildPrebuiltImage({ ...plan.image.build, ref }, opts.onBuildOutput ?? (() => undefined));
    return { image: ref, image_id: id, built: true, build_seconds: (Date.now() - started) / 1000 };
  } catch (e) {
    throw new DstackError(
      { code: "E4114", severity: "error", message: (e as Error).message, hint: "fix the build: commands (the output above shows the failing step)" },
      ExitCode.Provisioning,
    );
  }
}
