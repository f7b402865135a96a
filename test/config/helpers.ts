import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadConfiguration, loadRunSpec, type LoadOptions } from "../../src/config";
import type { Diagnostic } from "../../src/diagnostics";
import { ConfigError } from "../../src/diagnostics";
import type { DevEnvironmentRunSpec, RunSpec, TaskRunSpec, VolumeSpec } from "../../src/config/runspec";

export const repoRoot = path.resolve(__dirname, "..", "..");
export const sharedConfigs = path.join(repoRoot, "..", "shared", "dstack-configs");

/** A fresh temp working directory with the given files (relative path -> content). */
export function tempDir(files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-config-"));
  for (const [rel, text] of Object.entries(files)) {
    const p = path.join(dir, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, text);
  }
  return dir;
}

/** A caller environment isolated from the real one: DSTACK_HOME in a temp dir, a fixed local Python. */
export function testEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-home-"));
  return { DSTACK_HOME: home, DSTACK_LOCAL_PYTHON: "3.11", PATH: process.env.PATH, ...extra };
}

export type Opts = Omit<LoadOptions, "dir" | "cwd"> & { files?: Record<string, string> };

/** Loads `yaml` as DIR/.dstack.yml. */
export function load(yaml: string, opts: Opts = {}): RunSpec {
  const dir = tempDir({ ".dstack.yml": yaml, ...(opts.files ?? {}) });
  const { files: _files, ...rest } = opts;
  return loadRunSpec({ env: testEnv(), ...rest, dir, cwd: dir });
}

export function loadAny(yaml: string, opts: Opts = {}): RunSpec | VolumeSpec {
  const dir = tempDir({ ".dstack.yml": yaml, ...(opts.files ?? {}) });
  const { files: _files, ...rest } = opts;
  return loadConfiguration({ env: testEnv(), ...rest, dir, cwd: dir });
}

export function loadTask(yaml: string, opts: Opts = {}): TaskRunSpec {
  const s = load(yaml, opts);
  if (s.type !== "task") throw new Error(`expected a task, got ${s.type}`);
  return s;
}

export function loadDev(yaml: string, opts: Opts = {}): DevEnvironmentRunSpec {
  const s = load(yaml, opts);
  if (s.type !== "dev-environment") throw new Error(`expected a dev environment, got ${s.type}`);
  return s;
}

/** The diagnostics of a configuration that must fail with ConfigError. */
export function errorsOf(fn: () => unknown): Diagnostic[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.diagnostics;
    throw e;
  }
  throw new Error("expected a ConfigError, but it loaded");
}

export function loadErrors(yaml: string, opts: Opts = {}): Diagnostic[] {
  return errorsOf(() => loadAny(yaml, opts));
}

export const DEV = "type: dev-environment\nide: vscode\n";
export const TASK = "type: task\ncommands:\n  - echo hi\n";
