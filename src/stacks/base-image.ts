/**
 * dstack's local base images: Debian (debootstrap minbase) with openssh-server, python3 with
 * pip and venv (`python` → python3), git, curl and ca-certificates, built by
 * scripts/build-base-image.sh and loaded with `docker import`.
 *
 * One image per Debian suite, each with its own Python (BASE_SUITES): bookworm (3.11) is the
 * default, built by `dstack setup`; `dstack setup --python 3.13` (trixie) or `--python 3.9`
 * (bullseye) builds another, from the same mirror. A run's `python:` picks the image
 * (`suiteForPython`); a version no suite has is E4112, naming those there are.
 *
 * Tagged by content: `dstack-base:<hash>` where the hash covers the build script's recipe
 * (packages, clean-up steps) and the suite, plus `dstack-base:latest` for the default suite.
 * So the reference the plan uses (`baseImageRef()`, PlanContext.baseImage) is known without
 * asking Docker, a changed recipe is a new tag (that `dstack setup` builds, leaving the old
 * image to the runs that use it), and an image is built once: `ensureBaseImage()` is a single
 * `docker image inspect` when it exists.
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

export interface BaseSuite {
  suite: string;
  /** The Python (major.minor) the suite's python3 is. */
  python: string;
}

/** The Debian suites a local base image can be built from, oldest first. */
export const BASE_SUITES: readonly BaseSuite[] = [
  { suite: "bullseye", python: "3.9" },
  { suite: "bookworm", python: "3.11" },
  { suite: "trixie", python: "3.13" },
];

/** The default suite (DSTACK_DEBIAN_SUITE, else bookworm): what `dstack setup` builds. */
export function defaultSuite(env: NodeJS.ProcessEnv = process.env): string {
  return env.DSTACK_DEBIAN_SUITE ?? "bookworm";
}

function majorMinor(v: string): string {
  const m = /^(\d+)(?:\.(\d+))?/.exec(v.trim());
  return m ? (m[2] !== undefined ? `${m[1]}.${m[2]}` : m[1]) : v.trim();
}

/**
 * The suite whose python3 is `python` (3.11, 3.11.4; a bare `3` or null: the default suite),
 * or null when no suite has it.
 */
export function suiteForPython(python: string | null, env: NodeJS.ProcessEnv = process.env): string | null {
  const want = python === null ? "3" : majorMinor(python);
  if (want === "3") return defaultSuite(env);
  return BASE_SUITES.find((s) => s.python === want)?.suite ?? null;
}

/** `3.9 (bullseye), 3.11 (bookworm), 3.13 (trixie)`: what the local base images offer. */
export function offeredPythons(): string {
  return BASE_SUITES.map((s) => `${s.python} (${s.suite})`).join(", ");
}

const cachedRefs = new Map<string, string>();

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

/** `dstack-base:<12 hex of sha256(recipe, suite)>`: the base image of a suite (default: the default image of local runs). */
export function baseImageRef(suite: string = defaultSuite()): string {
  const hit = cachedRefs.get(suite);
  if (hit) return hit;
  const h = createHash("sha256").update(baseImageRecipe()).update(suite);
  const ref = `${BASE_IMAGE_REPO}:${h.digest("hex").slice(0, 12)}`;
  cachedRefs.set(suite, ref);
  return ref;
}

/** Whether `ref` is one of the local base images (of any suite). */
export function isBaseImageRef(ref: string): boolean {
  if (!ref.startsWith(`${BASE_IMAGE_REPO}:`)) return false;
  return ref === baseImageRef() || BASE_SUITES.some((s) => baseImageRef(s.suite) === ref);
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
export async function ensureBaseImage(docker: Docker, onLog: (line: string) => void = () => undefined, suite: string = defaultSuite()): Promise<BaseImageResult> {
  const ref = baseImageRef(suite);
  const found = await baseImageInfo(docker, ref);
  if (found.present) return { ...found, built: false, timings: {} };
  // One build at a time per DSTACK_HOME: a second `dstack setup` waits, then finds the image.
  const lock = path.join(homePaths().cache, `base-image-${suite}.lock`);
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
    return await buildBaseImage(docker, ref, suite, onLog);
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

async function buildBaseImage(docker: Docker, ref: string, suite: string, onLog: (line: string) => void): Promise<BaseImageResult> {
  const started = Date.now();
  const timings: Record<string, number> = {};
  const aliases = suite === defaultSuite() ? [`${BASE_IMAGE_REPO}:latest`] : [];
  const { code, tail } = await runScript(baseImageScript(), [ref, ...aliases], {
    env: { ...process.env, DSTACK_DEBIAN_SUITE: suite },
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
