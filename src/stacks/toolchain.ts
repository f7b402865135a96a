/**
 * The Pulumi toolchain: the CLI and the nodejs dynamic-provider plugin the local backend needs.
 *
 * Finding the CLI (`ensurePulumi`), first that works:
 *  1. `$DSTACK_HOME/pulumi/bin/pulumi`, then `~/.dstack/pulumi/bin/pulumi` (a relocated
 *     DSTACK_HOME, e.g. in tests, reuses the user's build), then `pulumi` on PATH — each only
 *     when `pulumi version` ≥ PINNED_PULUMI_VERSION;
 *  2. with the Go toolchain: scripts/build-pulumi.sh (the pinned version from the Go module
 *     proxy, into $DSTACK_HOME/pulumi/bin; minutes the first time, Go caches reused);
 *  3. with internet: `PulumiCommand.install()` into $DSTACK_HOME/pulumi.
 *
 * The plugin: `pulumi-resource-pulumi-nodejs` is written into $DSTACK_HOME/pulumi/bin. The copy
 * shipped in @pulumi/pulumi runs `node -e "require.resolve('@pulumi/pulumi/cmd/dynamic-provider')"`,
 * which resolves from the engine's working directory and so fails outside a project folder;
 * dstack's wrapper runs this Node (process.execPath) on the absolute path of dstack's own
 * @pulumi/pulumi dynamic provider instead, so dynamic providers work from any directory. It is
 * rewritten whenever its content differs (dstack moved or upgraded).
 *
 * dstack's own provider plugin, `pulumi-resource-dstack` (the local backend's resources), is
 * installed into PULUMI_HOME's plugins folder at the same time (src/stacks/dstack-plugin.ts).
 *
 * `pulumi version` runs once per binary: its answer is cached in $DSTACK_HOME/pulumi/versions.json
 * under the binary's real path, valid while its size and mtime are unchanged (`doctor` asks afresh).
 *
 * What was found is returned (`PulumiBinary`: the binary, its folder, the plugin's path), never
 * kept aside: `engineEnv(bin)` in src/stacks/state.ts turns it into the engine's environment.
 *
 * The Automation API (`@pulumi/pulumi/automation`, about 2 s to load here) is imported only
 * inside `ensurePulumi` and the install path: `dstack setup` and `doctor` use this module
 * through `ensurePulumiBinary` and must not pay for it.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { PulumiCommand } from "@pulumi/pulumi/automation";
import { DstackError, ExitCode } from "../diagnostics";
import { findOnPath, homePaths, packageRoot, writeFileAtomic, writeFileAtomicIfDifferent } from "../paths";
import { enginePulumiHome, installDstackPlugin } from "./dstack-plugin";
import { runScript } from "./script";
import { installEngineGuard } from "./engine-guard";

export const PINNED_PULUMI_VERSION = "3.248.0";
export const NODEJS_PLUGIN = "pulumi-resource-pulumi-nodejs";

/** Compares dotted versions (`v3.248.0`, `3.250.1-dev`): negative, 0, positive. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => v.replace(/^v/, "").split(/[-+]/)[0].split(".").map((x) => Number(x) || 0);
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** `pulumi version` of a binary, or null when it does not run. */
export function pulumiVersionOf(binary: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(binary, ["version"], { env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" }, timeout: 20000 }, (err, stdout) => {
      if (err) return resolve(null);
      const v = stdout.trim().split(/\s+/)[0];
      resolve(/^v?\d+\.\d+/.test(v) ? v.replace(/^v/, "") : null);
    });
  });
}

export interface PulumiCandidate {
  binary: string;
  version: string | null;
  /** Version ≥ pinned. */
  ok: boolean;
  source: "dstack-home" | "user-home" | "path";
}

/**
 * The version cache, $DSTACK_HOME/pulumi/versions.json: `pulumi version` of each binary dstack
 * has run, keyed by its real path and valid while its size and mtime are unchanged, so that a
 * known toolchain costs a stat instead of a process (0.25 s) per command.
 */
interface VersionCache {
  [realPath: string]: { size: number; mtimeMs: number; version: string | null };
}

function versionCacheFile(env: NodeJS.ProcessEnv): string {
  return path.join(path.dirname(homePaths(env).pulumiBin), "versions.json");
}

function readVersionCache(env: NodeJS.ProcessEnv): VersionCache {
  try {
    const doc = JSON.parse(fs.readFileSync(versionCacheFile(env), "utf8")) as unknown;
    return doc && typeof doc === "object" ? (doc as VersionCache) : {};
  } catch {
    return {};
  }
}

/** `pulumi version` of a binary, from the cache when its size and mtime match, else run (and cached). */
export async function cachedPulumiVersion(binary: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  let real: string;
  let st: fs.Stats;
  try {
    real = fs.realpathSync(binary);
    st = fs.statSync(real);
  } catch {
    return null;
  }
  const hit = readVersionCache(env)[real];
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs && hit.version !== null) return hit.version;
  const version = await pulumiVersionOf(binary);
  if (version !== null) {
    try {
      const file = versionCacheFile(env);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      writeFileAtomic(file, JSON.stringify({ ...readVersionCache(env), [real]: { size: st.size, mtimeMs: st.mtimeMs, version } }, null, 2) + "\n");
    } catch {
      // a cache that cannot be written only costs the next command a `pulumi version`
    }
  }
  return version;
}

/**
 * Every Pulumi CLI dstack could use, in order of preference (no building, no installing).
 * Versions come from the version cache unless `fresh` (doctor runs each binary).
 */
export async function findPulumiCandidates(env: NodeJS.ProcessEnv = process.env, o: { fresh?: boolean } = {}): Promise<PulumiCandidate[]> {
  const seen = new Set<string>();
  const list: { binary: string; source: PulumiCandidate["source"] }[] = [];
  const add = (binary: string | undefined, source: PulumiCandidate["source"]) => {
    if (!binary || !fs.existsSync(binary)) return;
    const real = fs.realpathSync(binary);
    if (seen.has(real)) return;
    seen.add(real);
    list.push({ binary, source });
  };
  add(path.join(homePaths(env).pulumiBin, "pulumi"), "dstack-home");
  add(path.join(os.homedir(), ".dstack", "pulumi", "bin", "pulumi"), "user-home");
  add(findOnPath("pulumi", env), "path");
  const out: PulumiCandidate[] = [];
  for (const c of list) {
    const version = o.fresh ? await pulumiVersionOf(c.binary) : await cachedPulumiVersion(c.binary, env);
    out.push({ ...c, version, ok: version !== null && compareVersions(version, PINNED_PULUMI_VERSION) >= 0 });
    if (out[out.length - 1].ok) break; // the first usable one wins; no need to run the others
  }
  return out;
}

/** The dynamic-provider entry of dstack's own @pulumi/pulumi. */
export function dynamicProviderScript(): string {
  return require.resolve("@pulumi/pulumi/cmd/dynamic-provider", { paths: [packageRoot()] });
}

/**
 * Preloaded into the provider process. It makes the engine's log reachable: the engine passes
 * its address as the plugin's first argument, and PULUMI_NODEJS_ENGINE (the variable Pulumi's
 * language host sets for a program; Pulumi's own component-provider server does the same with
 * that argument) lets `pulumi.log` inside a dynamic provider send diagnostics to the engine,
 * which streams them as engine events (src/compiler/backends/local/image.ts logs its build
 * output so). And it makes `require("typescript")` lazy. @pulumi/pulumi's
 * runtime loads TypeScript (for closure serialization, which only the program's process does)
 * at start; in the provider process that is 1.5 s of a 2.2 s start on this machine, paid by
 * every up / preview / destroy that touches a dynamic resource. The real module is loaded on
 * first use, so nothing changes if it is ever needed.
 */
export const PROVIDER_PRELOAD = `"use strict";
// Written by dstack (src/stacks/toolchain.ts): the engine's address for pulumi.log, and defer
// loading TypeScript in the dynamic-provider process.
if (process.argv[2]) process.env.PULUMI_NODEJS_ENGINE = process.argv[2];
const Module = require("module");
const path = require("path");
try {
  const shimDir = path.dirname(process.env.DSTACK_DYNAMIC_PROVIDER || "");
  const tsPath = require.resolve("typescript", { paths: [path.join(shimDir, "..", "..")] });
  let real;
  const load = () => {
    if (!real) {
      delete require.cache[tsPath];
      real = Module._load(tsPath, null, false);
      require.cache[tsPath] = { id: tsPath, filename: tsPath, loaded: true, exports: real };
    }
    return real;
  };
  const lazy = new Proxy({}, {
    get: (_t, k) => load()[k],
    has: (_t, k) => k in load(),
    ownKeys: () => Reflect.ownKeys(load()),
    getOwnPropertyDescriptor: (_t, k) => Object.getOwnPropertyDescriptor(load(), k),
  });
  require.cache[tsPath] = { id: tsPath, filename: tsPath, loaded: true, exports: lazy };
} catch (e) {
  // no TypeScript next to @pulumi/pulumi: its vendored copy is used as usual
}
`;

export function nodejsPluginWrapper(preloadPath: string): string {
  const script = dynamicProviderScript();
  return [
    "#!/bin/sh",
    "# Written by dstack (src/stacks/toolchain.ts): the nodejs dynamic-provider plugin, with absolute",
    "# paths so that it works from any working directory. Rewritten when dstack moves.",
    `DSTACK_DYNAMIC_PROVIDER=${shellQuote(script)} exec ${shellQuote(process.execPath)} -r ${shellQuote(preloadPath)} ${shellQuote(script)} "$@"`,
    "",
  ].join("\n");
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function writeIfDifferent(target: string, content: string, mode: number): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  writeFileAtomicIfDifferent(target, content, mode);
}

/** The plugin wrapper's contents expected in dir (for doctor). */
export function expectedNodejsPlugin(dir: string): string {
  return nodejsPluginWrapper(path.join(dir, `${NODEJS_PLUGIN}.preload.js`));
}

/** Writes the plugin wrapper (and its preload) into dir when missing or different; returns its path. */
export function installNodejsPlugin(dir: string): string {
  const target = path.join(dir, NODEJS_PLUGIN);
  const preload = path.join(dir, `${NODEJS_PLUGIN}.preload.js`);
  writeIfDifferent(preload, PROVIDER_PRELOAD, 0o644);
  writeIfDifferent(target, nodejsPluginWrapper(preload), 0o755);
  return target;
}

export interface PulumiBinary {
  /** Absolute path of the pulumi binary. */
  binary: string;
  /** Folder of the pulumi binary. */
  binDir: string;
  version: string;
  /** How it was obtained this time. */
  how: "found" | "built" | "installed";
  /** Where the nodejs plugin wrapper is. */
  plugin: string;
  /** The engine guard to start pulumi through (src/stacks/engine-guard.ts), in $DSTACK_HOME/pulumi/bin. */
  guard: string;
  /** dstack's provider plugin (src/stacks/dstack-plugin.ts), in PULUMI_HOME's plugins folder. */
  dstackPlugin: string;
}

export interface PulumiToolchain extends PulumiBinary {
  command: PulumiCommand;
}

/**
 * Memos of the two lookups, keyed by what the lookup reads from `env` (DSTACK_HOME's
 * pulumi/bin and PATH): the same inputs give the same toolchain, so it is found once per process.
 */
const binaries = new Map<string, Promise<PulumiBinary>>();
const toolchains = new Map<string, Promise<PulumiToolchain>>();

function memoKey(env: NodeJS.ProcessEnv): string {
  return JSON.stringify([homePaths(env).pulumiBin, env.PATH ?? ""]);
}

function memoized<T>(memo: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let p = memo.get(key);
  if (!p) {
    p = make();
    memo.set(key, p);
    // a failure is not remembered: the next call tries again
    p.catch(() => {
      if (memo.get(key) === p) memo.delete(key);
    });
  }
  return p;
}

export interface EnsureOptions {
  env?: NodeJS.ProcessEnv;
  /** Build / install output (minutes of Go build lines). */
  onLog?: (line: string) => void;
  /** Do not build or install: fail with E4201 instead (doctor, tests). */
  noInstall?: boolean;
}

/**
 * The Pulumi CLI (found, else built, else installed), the nodejs plugin beside it, and the
 * Automation API's PulumiCommand for it. Memoized per process and inputs. Throws E4201 when
 * none can be had. Used by the Automation API workspace (src/stacks/stack.ts).
 */
export function ensurePulumi(opts: EnsureOptions = {}): Promise<PulumiToolchain> {
  return memoized(toolchains, memoKey(opts.env ?? process.env), async () => {
    const bin = await ensurePulumiBinary(opts);
    // Lazy: the Automation API is heavy, and ensurePulumiBinary's users never need it (see the header).
    const { PulumiCommand } = await import("@pulumi/pulumi/automation");
    const command = await PulumiCommand.get({ root: path.dirname(bin.binDir), skipVersionCheck: true });
    // Every Automation API command runs pulumi through the engine guard (a killed dstack
    // leaves no engine behind). PulumiCommand's constructor is private; its `command` is
    // only read by run(), which spawns it and puts its folder first on PATH.
    (command as { command: string }).command = bin.guard;
    return { ...bin, command };
  });
}

/**
 * The same without loading the Automation API (`dstack setup` / `doctor` stay fast).
 * Memoized per process and inputs.
 */
export function ensurePulumiBinary(opts: EnsureOptions = {}): Promise<PulumiBinary> {
  return memoized(binaries, memoKey(opts.env ?? process.env), () => ensurePulumiBinaryUncached(opts));
}

async function ensurePulumiBinaryUncached(opts: EnsureOptions): Promise<PulumiBinary> {
  const env = opts.env ?? process.env;
  const log = opts.onLog ?? (() => undefined);
  const home = homePaths(env);
  let how: PulumiBinary["how"] = "found";
  let usable = (await findPulumiCandidates(env)).find((c) => c.ok);
  if (!usable && !opts.noInstall) {
    if (findOnPath("go", env) || fs.existsSync("/usr/local/go/bin/go")) {
      log(`building Pulumi v${PINNED_PULUMI_VERSION} from the Go module proxy (scripts/build-pulumi.sh; minutes the first time)`);
      await withBuildLock(home.pulumiBin, () => runBuildScript(env, log));
      how = "built";
    } else {
      log(`installing Pulumi v${PINNED_PULUMI_VERSION} (PulumiCommand.install) into ${path.dirname(home.pulumiBin)}`);
      // Lazy: only this install path (with internet) needs the Automation API, and the semver
      // it expects is @pulumi/pulumi's own copy, resolved from its folder.
      const { PulumiCommand } = await import("@pulumi/pulumi/automation");
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- @pulumi/pulumi's own semver, resolved from its folder
      const semver = require(require.resolve("semver", { paths: [path.dirname(dynamicProviderScript())] })) as typeof import("semver");
      await PulumiCommand.install({ root: path.dirname(home.pulumiBin), version: new semver.SemVer(PINNED_PULUMI_VERSION) });
      how = "installed";
    }
    usable = (await findPulumiCandidates(env)).find((c) => c.ok);
  }
  if (!usable || !usable.version) {
    throw new DstackError(
      {
        code: "E4201",
        severity: "error",
        message: `no Pulumi CLI ≥ v${PINNED_PULUMI_VERSION} (looked in ${home.pulumiBin}, ~/.dstack/pulumi/bin and PATH)`,
        hint: "run `dstack setup` (builds it with Go, or installs it with internet access)",
      },
      ExitCode.Prerequisite,
    );
  }
  const binDir = path.dirname(usable.binary);
  // The wrapper lives beside pulumi when that folder is dstack's, else in $DSTACK_HOME/pulumi/bin.
  const ours = usable.source !== "path";
  let plugin: string;
  try {
    plugin = installNodejsPlugin(ours ? binDir : home.pulumiBin);
  } catch {
    plugin = installNodejsPlugin(home.pulumiBin);
  }
  const guard = installEngineGuard(home.pulumiBin, usable.binary);
  const dstackPlugin = installDstackPlugin(enginePulumiHome(env));
  return { binary: usable.binary, binDir, version: usable.version, how, plugin, guard, dstackPlugin };
}

/**
 * Runs fn holding $DSTACK_HOME/pulumi/build.lock (a directory), so that two dstack processes
 * never build Pulumi at once: the second waits for the first (up to 30 minutes), then finds
 * its result. A lock older than an hour is taken as stale.
 */
async function withBuildLock(binDir: string, fn: () => Promise<void>): Promise<void> {
  const lock = path.join(path.dirname(binDir), "build.lock");
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + 30 * 60 * 1000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      const age = Date.now() - fs.statSync(lock).mtimeMs;
      if (age > 60 * 60 * 1000) fs.rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`another Pulumi build holds ${lock}`);
      else await new Promise((r) => setTimeout(r, 2000));
      if (fs.existsSync(path.join(binDir, "pulumi"))) return; // the other build finished
    }
  }
  try {
    await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

async function runBuildScript(env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  const script = path.join(packageRoot(), "scripts", "build-pulumi.sh");
  const goPath = fs.existsSync("/usr/local/go/bin") ? `/usr/local/go/bin${path.delimiter}` : "";
  const { code, tail } = await runScript(script, [], {
    env: { ...env, PULUMI_VERSION: `v${PINNED_PULUMI_VERSION}`, PATH: `${goPath}${env.PATH ?? ""}` },
    tailLines: 10,
    onLine: log,
  });
  if (code !== 0) {
    throw new DstackError(
      { code: "E4202", severity: "error", message: `building Pulumi failed (exit ${code}): ${tail.slice(-3).join(" | ")}`, hint: "check Go (≥ 1.24) and access to the Go module proxy, then run `dstack setup` again" },
      ExitCode.Prerequisite,
    );
  }
}
