/**
 * The local Python version, the default for `python:` when neither `python` nor `image` is
 * set. Detected without spawning when possible (the `python3` on PATH is often a symlink to
 * `python3.X`); otherwise `python3` is run once and the answer cached under
 * DSTACK_HOME/cache/local-python.json, keyed by the executable's path, size and mtime.
 * `DSTACK_LOCAL_PYTHON=3.12` overrides detection. Falls back to 3.11.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { homePaths, writeFileAtomic } from "../paths";
import { PYTHON_VERSIONS } from "./schema/definitions";

export const FALLBACK_PYTHON = "3.11";

function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

function supported(v: string | undefined): string | undefined {
  return v && PYTHON_VERSIONS.includes(v) ? v : undefined;
}

const memo = new Map<string, string>();

/** The local `major.minor` Python version if dstack supports it, else 3.11. */
export function localPythonVersion(env: NodeJS.ProcessEnv = process.env): string {
  const forced = env.DSTACK_LOCAL_PYTHON;
  if (forced) return supported(forced) ?? FALLBACK_PYTHON;
  const exe = findOnPath("python3", env) ?? findOnPath("python", env);
  if (!exe) return FALLBACK_PYTHON;
  let real = exe;
  try {
    real = fs.realpathSync(exe);
  } catch {
    // keep exe
  }
  const fromName = /python(3\.\d+)$/.exec(path.basename(real))?.[1];
  if (fromName) return supported(fromName) ?? FALLBACK_PYTHON;

  // a shim (pyenv, asdf) or a plain binary: ask it once, cache the answer
  let st: fs.Stats;
  try {
    st = fs.statSync(real);
  } catch {
    return FALLBACK_PYTHON;
  }
  const key = `${real}|${st.size}|${st.mtimeMs}|${env.PYENV_VERSION ?? ""}`;
  const hit = memo.get(key);
  if (hit) return hit;
  const cacheFile = path.join(homePaths(env).cache, "local-python.json");
  try {
    const cached = JSON.parse(fs.readFileSync(cacheFile, "utf8")) as { key?: string; version?: string };
    if (cached.key === key && typeof cached.version === "string") {
      memo.set(key, cached.version);
      return cached.version;
    }
  } catch {
    // no cache yet
  }
  const r = spawnSync(exe, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], { encoding: "utf8", timeout: 5000, env });
  const version = supported(r.status === 0 ? r.stdout.trim() : undefined) ?? FALLBACK_PYTHON;
  memo.set(key, version);
  try {
    fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
    writeFileAtomic(cacheFile, JSON.stringify({ key, version }) + "\n"); // shared by concurrent commands
  } catch {
    // a read-only home is fine: we just ask again next time
  }
  return version;
}
