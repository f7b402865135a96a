/**
 * dstack's local base image: Debian bookworm (debootstrap minbase) with openssh-server,
 * python3, git, curl and ca-certificates, built by scripts/build-base-image.sh and loaded
 * with `docker import`.
 *
 * Tagged by content: `dstack-base:<recipe hash>` where the hash covers the build script
 * (packages, suite, clean-up steps), plus `dstack-base:latest`. So the reference the plan uses
 * (`baseImageRef()`, PlanContext.baseImage) is known without asking Docker, and the image is
 * built once: `ensureBaseImage()` is a single `docker image inspect` when it exists.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type Docker from "dockerode";
import { DstackError, ExitCode } from "../diagnostics";
import { homePaths, packageRoot } from "../paths";
import { runScript } from "./script";

export const BASE_IMAGE_REPO = "dstack-base";

export function baseImageScript(): string {
  return path.join(packageRoot(), "scripts", "build-base-image.sh");
}

let cachedRef: string | undefined;

/**
 * The lines of the build script that decide the image's contents: those between
 * `# --- recipe begin` and `# --- recipe end` markers (packages, debootstrap, clean-up, import).
 * Comments, mirror detection and checks may change without a rebuild.
 */
export function baseImageRecipe(script = fs.readFileSync(baseImageScript(), "utf8")): string {
  const out: string[] = [];
  let inside = false;
  for (const line of script.split("\n")) {
    if (line.startsWith("# --- recipe begin")) inside = true;
    else if (line.startsWith("# --- recipe end")) inside = false;
    else if (inside && line.trim() && !line.trimStart().startsWith("#")) out.push(line);
  }
  if (out.length === 0) throw new Error(`no recipe markers in ${baseImageScript()}`);
  return out.join("\n");
}

/** `dstack-base:<12 hex of sha256(recipe, suite)>`: the default image of local runs. */
export function baseImageRef(): string {
  if (cachedRef) return cachedRef;
  const h = createHash("sha256").update(baseImageRecipe()).update(process.env.DSTACK_DEBIAN_SUITE ?? "bookworm");
  return (cachedRef = `${BASE_IMAGE_REPO}:${h.digest("hex").slice(0, 12)}`);
}

export interface BaseImageInfo {
  ref: string;
  present: boolean;
  id: string | null;
  /** Python versions the image provides (major.minor), from its dstack.python label. */
  python: string[];
}

export async function baseImageInfo(docker: Docker, ref = baseImageRef()): Promise<BaseImageInfo> {
  try {
    const info = await docker.getImage(ref).inspect();
    const py = info.Config?.Labels?.["dstack.python"];
    return { ref, present: true, id: info.Id, python: py ? py.split(/[ ,]+/).filter(Boolean) : [] };
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return { ref, present: false, id: null, python: [] };
    throw e;
  }
}

export interface BaseImageResult extends BaseImageInfo {
  built: boolean;
  /** Seconds, when built: total, debootstrap and `docker import`. */
  timings: Record<string, number>;
}

/**
 * The base image, built when absent (root, debootstrap and the docker CLI needed). Progress
 * lines of the build go to `onLog`. Throws E4110 when the build fails or cannot run.
 */
export async function ensureBaseImage(docker: Docker, onLog: (line: string) => void = () => undefined): Promise<BaseImageResult> {
  const ref = baseImageRef();
  const found = await baseImageInfo(docker, ref);
  if (found.present) return { ...found, built: false, timings: {} };
  // One build at a time per DSTACK_HOME: a second `dstack setup` waits, then finds the image.
  const lock = path.join(homePaths().cache, "base-image.lock");
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      if (Date.now() - fs.statSync(lock).mtimeMs > 30 * 60 * 1000) fs.rmSync(lock, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 2000));
      const again = await baseImageInfo(docker, ref);
      if (again.present) return { ...again, built: false, timings: {} };
    }
  }
  try {
    return await buildBaseImage(docker, ref, onLog);
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

async function buildBaseImage(docker: Docker, ref: string, onLog: (line: string) => void): Promise<BaseImageResult> {
  const started = Date.now();
  const timings: Record<string, number> = {};
  const { code, tail } = await runScript(baseImageScript(), [ref, `${BASE_IMAGE_REPO}:latest`], {
    tailLines: 20,
    onLine: (line) => {
      const m = /^timing (\S+) ([\d.]+)$/.exec(line);
      if (m) timings[m[1]] = Number(m[2]);
      onLog(line);
    },
  });
  if (code !== 0) {
    throw new DstackError(
      {
        code: "E4110",
        severity: "error",
        message: `building the base image ${ref} failed (exit ${code}): ${tail.slice(-3).join(" | ")}`,
        hint: "build it as root with debootstrap and the docker CLI installed: sudo dstack setup (or scripts/build-base-image.sh " + ref + ")",
      },
      code === 5 ? ExitCode.Prerequisite : ExitCode.Failure,
    );
  }
  timings.total = (Date.now() - started) / 1000;
  const info = await baseImageInfo(docker, ref);
  return { ...info, built: true, timings };
}
