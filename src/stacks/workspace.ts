/**
 * The Automation API layer: one Pulumi stack per run (project `dstack`, stack = run name),
 * inline programs through `@pulumi/pulumi/automation`'s LocalWorkspace.
 *
 * - State: Pulumi's DIY file backend `file://$DSTACK_HOME/state` by default; `DSTACK_STATE_URL`
 *   selects any other Pulumi backend (s3://, gs://, azblob://, postgres://, Pulumi Cloud).
 * - Secrets: the passphrase provider; the passphrase comes from PULUMI_CONFIG_PASSPHRASE (or
 *   PULUMI_CONFIG_PASSPHRASE_FILE) or is generated once into $DSTACK_HOME/passphrase (0600).
 * - PULUMI_HOME lives under DSTACK_HOME; the workspace folder (Pulumi.yaml and the stacks'
 *   settings with their encryption salts) is $DSTACK_HOME/workspaces/<hash of the backend URL>,
 *   so dstack works from any directory.
 *
 * Heavy: imports @pulumi/pulumi/automation. CLI commands load this module lazily.
 */
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type {
  DestroyResult,
  LocalWorkspace,
  LocalWorkspaceOptions,
  OutputMap,
  PreviewResult,
  PulumiCommand,
  PulumiFn,
  Stack,
  StackSummary,
  UpResult,
} from "@pulumi/pulumi/automation";
import { DstackError, ExitCode } from "../diagnostics";
import { DSTACK_PROJECT } from "../compiler/plan";
import { homePaths, packageRoot } from "../paths";

/** The state backend URL: DSTACK_STATE_URL, else file://$DSTACK_HOME/state. */
export function stateBackendUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DSTACK_STATE_URL) return env.DSTACK_STATE_URL;
  return `file://${homePaths(env).state}`;
}

/**
 * The secrets passphrase: PULUMI_CONFIG_PASSPHRASE(_FILE) when set, else the content of
 * $DSTACK_HOME/passphrase, generated once (32 random bytes, mode 0600, created exclusively so
 * that two concurrent first runs agree).
 */
export function secretsPassphrase(env: NodeJS.ProcessEnv = process.env): { passphrase?: string; passphraseFile?: string } {
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined) return { passphrase: env.PULUMI_CONFIG_PASSPHRASE };
  if (env.PULUMI_CONFIG_PASSPHRASE_FILE) return { passphraseFile: env.PULUMI_CONFIG_PASSPHRASE_FILE };
  const file = homePaths(env).passphrase;
  try {
    return { passphrase: fs.readFileSync(file, "utf8").trim() };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const value = randomBytes(32).toString("base64url");
  try {
    fs.writeFileSync(file, value + "\n", { mode: 0o600, flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    return { passphrase: fs.readFileSync(file, "utf8").trim() };
  }
  return { passphrase: value };
}

/** The workspace folder for a backend URL (holds Pulumi.yaml and Pulumi.<run>.yaml). */
export function workspaceDir(env: NodeJS.ProcessEnv = process.env): string {
  const url = stateBackendUrl(env);
  const id = createHash("sha256").update(url).digest("hex").slice(0, 12);
  return path.join(homePaths(env).home, "workspaces", id);
}

interface BinaryToolchain {
  /** Absolute path of the pulumi binary. */
  binary: string;
  binDir: string;
  env: Record<string, string>;
}

interface Toolchain extends BinaryToolchain {
  command: PulumiCommand;
}

let binaryPromise: Promise<BinaryToolchain> | undefined;
let toolchainPromise: Promise<Toolchain> | undefined;

/** The Pulumi CLI binary and the environment its plugins need, without loading the Automation API. Memoized. */
function binaryToolchain(env: NodeJS.ProcessEnv = process.env): Promise<BinaryToolchain> {
  if (!binaryPromise) {
    binaryPromise = (async () => {
      const tc = await import("./toolchain");
      const { binary, binDir } = await tc.ensurePulumiBinary({ env });
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(tc.pulumiEnv(env))) if (typeof v === "string") out[k] = v;
      return { binary, binDir, env: out };
    })();
    binaryPromise.catch(() => (binaryPromise = undefined));
  }
  return binaryPromise;
}

/** The same plus the Automation API's PulumiCommand (src/stacks/toolchain.ts). Memoized. */
function toolchain(env: NodeJS.ProcessEnv = process.env): Promise<Toolchain> {
  if (!toolchainPromise) {
    toolchainPromise = (async () => {
      const tc = await import("./toolchain");
      const [bin, { command }] = await Promise.all([binaryToolchain(env), tc.ensurePulumi({ env })]);
      return { ...bin, command };
    })();
    toolchainPromise.catch(() => (toolchainPromise = undefined));
  }
  return toolchainPromise;
}

/**
 * Starts finding the CLI (child processes: `pulumi version`) while the caller does other work
 * (offers, planning). The Automation API itself is not loaded here: its load is CPU-bound and
 * a no-op `up` never needs it. Errors surface when the engine is used.
 */
export function prefetchEngine(env: NodeJS.ProcessEnv = process.env): void {
  binaryToolchain(env).catch(() => undefined);
}

/** Environment for every Pulumi CLI invocation (and so for its plugins). */
export async function engineEnv(env: NodeJS.ProcessEnv = process.env): Promise<Record<string, string>> {
  const tc = await binaryToolchain(env);
  const p = homePaths(env);
  const secrets = secretsPassphrase(env);
  const out: Record<string, string> = {
    PULUMI_HOME: env.PULUMI_HOME && env.DSTACK_USE_PULUMI_HOME === "1" ? env.PULUMI_HOME : p.pulumiHome,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_SKIP_CONFIRMATIONS: "true",
    PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
    // The nodejs dynamic-provider plugin resolves @pulumi/pulumi from its working directory;
    // NODE_PATH lets it find dstack's own copy from any directory.
    NODE_PATH: [path.join(packageRoot(), "node_modules"), env.NODE_PATH].filter(Boolean).join(path.delimiter),
    ...tc.env,
    // pulumi-resource-pulumi-nodejs ships in @pulumi/pulumi; the toolchain also copies it beside pulumi.
    PATH: [tc.binDir, tc.env.PATH ?? env.PATH ?? "", path.join(packageRoot(), "node_modules", "@pulumi", "pulumi")].filter(Boolean).join(path.delimiter),
  };
  if (secrets.passphrase !== undefined) out.PULUMI_CONFIG_PASSPHRASE = secrets.passphrase;
  if (secrets.passphraseFile !== undefined) out.PULUMI_CONFIG_PASSPHRASE_FILE = secrets.passphraseFile;
  return out;
}

async function workspaceOptions(program: PulumiFn | undefined, env: NodeJS.ProcessEnv): Promise<LocalWorkspaceOptions> {
  const tc = await toolchain(env);
  const url = stateBackendUrl(env);
  const stateDir = localStateDir(url);
  if (stateDir) fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const workDir = workspaceDir(env);
  fs.mkdirSync(workDir, { recursive: true, mode: 0o700 });
  const envVars = await engineEnv(env);
  fs.mkdirSync(envVars.PULUMI_HOME, { recursive: true, mode: 0o700 });
  return {
    workDir,
    pulumiHome: envVars.PULUMI_HOME,
    pulumiCommand: tc.command,
    program,
    envVars,
    secretsProvider: "passphrase",
    projectSettings: { name: DSTACK_PROJECT, runtime: "nodejs", backend: { url } },
  };
}

async function automation(): Promise<typeof import("@pulumi/pulumi/automation")> {
  return import("@pulumi/pulumi/automation");
}

/** Wraps a Pulumi CLI failure as a DstackError (E4501), keeping the engine's own message. */
export function engineError(e: unknown, what: string): DstackError {
  if (e instanceof DstackError) return e;
  const err = e as { message?: string; commandResult?: { stderr?: string; stdout?: string }; name?: string };
  const stderr = err.commandResult?.stderr?.trim() ?? "";
  const stdout = err.commandResult?.stdout ?? "";
  const text = stderr || err.message || String(e);
  const locked = /locked by|stack is currently locked|ConcurrentUpdateError/i.test(text) || err.name === "ConcurrentUpdateError";
  if (locked) {
    return new DstackError(
      {
        code: "E4502",
        severity: "error",
        message: `${what}: the run's stack is locked by another dstack (or an interrupted one)`,
        hint: "wait for the other command to finish; if none runs, remove the lock file under $DSTACK_HOME/state/.pulumi/locks/",
      },
      ExitCode.Provisioning,
    );
  }
  // The engine prints resource errors in stdout's "Diagnostics:" section.
  const diag = /Diagnostics:\n([\s\S]*?)(?:\n(?:Outputs|Resources):|$)/.exec(stdout)?.[1]?.trim();
  return new DstackError(
    {
      code: "E4501",
      severity: "error",
      message: `${what} failed: ${diag || text}`.slice(0, 8000),
      hint: "set DSTACK_DEBUG=1 for the engine's full output",
    },
    ExitCode.Provisioning,
  );
}

export interface OpenStackOptions {
  env?: NodeJS.ProcessEnv;
  /** Create the stack when absent (default true). */
  create?: boolean;
  /** The caller knows whether the stack exists (saves the engine a failed `stack select`). */
  exists?: boolean;
}

/**
 * Opens (creating if needed) the run's stack with an inline program. Throws E4503 (not found)
 * when `create: false` and the stack does not exist.
 */
export async function openStack(runName: string, program: PulumiFn, opts: OpenStackOptions = {}): Promise<Stack> {
  const env = opts.env ?? process.env;
  if (diyStacksDir(env) !== null && opts.exists !== undefined && opts.create !== false) return openStackFast(runName, program, opts.exists, env);
  const auto = await automation();
  const wsOpts = await workspaceOptions(program, env);
  const args = { projectName: DSTACK_PROJECT, stackName: runName, program };
  try {
    if (opts.create === false || opts.exists === true) return await auto.LocalWorkspace.selectStack(args, wsOpts);
    if (opts.exists === false) return await auto.LocalWorkspace.createStack(args, wsOpts);
    return await auto.LocalWorkspace.createOrSelectStack(args, wsOpts);
  } catch (e) {
    if (opts.create === false && /no stack named|not found/i.test(String((e as Error).message ?? e))) throw runNotFound(runName);
    throw engineError(e, `opening stack ${runName}`);
  }
}

/** Runs the Pulumi CLI directly in the workspace folder (for the commands that need no program). */
export async function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  const [bin, envVars] = await Promise.all([binaryToolchain(env), engineEnv(env)]);
  const cwd = ensureWorkspaceDir(env);
  const { execFile } = await import("child_process");
  return new Promise((resolve, reject) => {
    execFile(bin.binary, [...args, "--non-interactive"], { cwd, env: { ...env, ...envVars }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { commandResult: { stdout, stderr } }));
      else resolve({ stdout, stderr });
    });
  });
}

/**
 * The file backend's fast open: a new stack is created by `pulumi stack init` run as a child
 * process while this process loads the Automation API (they overlap), and no `pulumi stack
 * select` is run at all — every Automation API command passes `--stack` itself, so selecting
 * only rewrites a "current stack" setting dstack never reads. Same stacks, same settings files
 * (Pulumi.<run>.yaml with the passphrase salt) as LocalWorkspace.createStack.
 */
async function openStackFast(runName: string, program: PulumiFn, exists: boolean, env: NodeJS.ProcessEnv): Promise<Stack> {
  const init = exists ? Promise.resolve(null) : runCli(["stack", "init", runName, "--secrets-provider", "passphrase", "--no-select"], env);
  init.catch(() => undefined);
  try {
    const auto = await automation();
    const wsOpts = await workspaceOptions(program, env);
    await init;
    const workspace = await auto.LocalWorkspace.create(wsOpts);
    (workspace as unknown as { selectStack: (name: string) => Promise<void> }).selectStack = async () => undefined;
    return await auto.Stack.select(runName, workspace);
  } catch (e) {
    throw engineError(e, `opening stack ${runName}`);
  }
}

export function runNotFound(runName: string): DstackError {
  return new DstackError(
    { code: "E4503", severity: "error", message: `no run named ${runName}`, hint: "`dstack ps` lists the runs" },
    ExitCode.NotFound,
  );
}

/** A workspace with no program, for listing and reading stacks. */
export async function openWorkspace(env: NodeJS.ProcessEnv = process.env): Promise<LocalWorkspace> {
  const auto = await automation();
  const noop: PulumiFn = async () => ({});
  return auto.LocalWorkspace.create(await workspaceOptions(noop, env));
}

/** The runs' stacks in the state backend (project `dstack`). */
export async function listStacks(env: NodeJS.ProcessEnv = process.env): Promise<StackSummary[]> {
  const ws = await openWorkspace(env);
  try {
    return await ws.listStacks();
  } catch (e) {
    throw engineError(e, "listing runs");
  }
}

/** Whether the run's stack exists. */
export async function stackExists(runName: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  return (await listRunNames(env)).includes(runName);
}

/** Plain values of a stack's outputs (secrets stay masked unless `showSecrets`). */
export function plainOutputs(outputs: OutputMap, showSecrets = false): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(outputs)) out[k] = v.secret && !showSecrets ? "[secret]" : v.value;
  return out;
}

/** The folder of a plain absolute `file:///…` backend URL, else null. */
export function localStateDir(url: string): string | null {
  const m = /^file:\/\/(\/[^?#]*)$/.exec(url);
  return m ? decodeURIComponent(m[1]) : null;
}

/** The DIY file backend's folder of dstack's stacks, or null for other backends. */
export function diyStacksDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const url = stateBackendUrl(env);
  // Only a plain absolute file:// path: `file://~`, relative paths and query options go through the engine.
  const dir = localStateDir(url);
  return dir ? path.join(dir, ".pulumi", "stacks", DSTACK_PROJECT) : null;
}

/** A checkpoint's stack outputs with secrets masked (pure). */
export function outputsOfCheckpoint(doc: unknown): Record<string, unknown> {
  const latest = (doc as { checkpoint?: { latest?: { resources?: { type?: string; outputs?: Record<string, unknown> }[] } } })?.checkpoint?.latest;
  const root = latest?.resources?.find((r) => r.type === "pulumi:pulumi:Stack");
  return (maskSecrets(root?.outputs ?? {}) as Record<string, unknown>) ?? {};
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
function maskSecrets(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(maskSecrets);
  const o = v as Record<string, unknown>;
  if (SECRET_SIG in o) return "[secret]";
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = maskSecrets(x);
  return out;
}

/**
 * Fast path for the DIY file backend: the stack's checkpoint file read directly (Pulumi's
 * documented state layout `.pulumi/stacks/<project>/<stack>.json[.gz]`), no CLI. Returns
 * `undefined` when it cannot tell (another backend, an unknown layout), null for no stack.
 */
export function readOutputsFromFile(runName: string, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> | null | undefined {
  const doc = readCheckpointFile(runName, env);
  return doc == null ? doc : outputsOfCheckpoint(doc);
}

/** The file backend's checkpoint of the run (parsed JSON); null for no stack, undefined when it cannot tell. */
export function readCheckpointFile(runName: string, env: NodeJS.ProcessEnv = process.env): unknown {
  const dir = diyStacksDir(env);
  if (!dir) return undefined;
  const plain = path.join(dir, `${runName}.json`);
  const gz = `${plain}.gz`;
  try {
    const text = fs.existsSync(plain)
      ? fs.readFileSync(plain, "utf8")
      : fs.existsSync(gz)
        ? (require("zlib") as typeof import("zlib")).gunzipSync(fs.readFileSync(gz)).toString("utf8")
        : null;
    if (text === null) return null;
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Run names in the DIY file backend (no CLI), or undefined for other backends. */
export function listStacksFromFiles(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const dir = diyStacksDir(env);
  if (!dir) return undefined;
  try {
    return fs
      .readdirSync(dir)
      .map((f) => /^(.+)\.json(\.gz)?$/.exec(f)?.[1])
      .filter((n): n is string => !!n)
      .sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    return undefined;
  }
}

/** Run names (stack names) in the state backend. */
export async function listRunNames(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const fast = listStacksFromFiles(env);
  if (fast !== undefined) return fast;
  return (await listStacks(env)).map((s) => s.name.split("/").pop() as string).sort();
}

/**
 * The run's stack outputs (secrets masked), or null when the stack does not exist. The file
 * backend is read directly; any other through the engine (`pulumi stack output`).
 */
export async function readOutputs(runName: string, env: NodeJS.ProcessEnv = process.env): Promise<Record<string, unknown> | null> {
  const fast = readOutputsFromFile(runName, env);
  if (fast !== undefined) return fast;
  const ws = await openWorkspace(env);
  try {
    return plainOutputs(await ws.stackOutputs(runName));
  } catch (e) {
    const msg = String((e as Error).message ?? e);
    if (/no stack named|not found|does not exist/i.test(msg)) return null;
    throw engineError(e, `reading run ${runName}`);
  }
}

export type { Stack, UpResult, PreviewResult, DestroyResult, PulumiFn, StackSummary };

/** Destroys the stack's resources and removes the stack (history and settings included). */
export async function destroyAndRemove(stack: Stack, opts: { onEvent?: (e: import("@pulumi/pulumi/automation").EngineEvent) => void; signal?: AbortSignal } = {}): Promise<DestroyResult> {
  try {
    // `pulumi destroy --remove`: one engine run destroys and removes the stack.
    return await stack.destroy({ onEvent: opts.onEvent, signal: opts.signal, remove: true });
  } catch (e) {
    throw engineError(e, `destroying ${stack.name}`);
  }
}

/** The workspace folder with its Pulumi.yaml (as LocalWorkspace writes it), for direct CLI calls. */
function ensureWorkspaceDir(env: NodeJS.ProcessEnv): string {
  const url = stateBackendUrl(env);
  const stateDir = localStateDir(url);
  if (stateDir) fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const dir = workspaceDir(env);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const project = path.join(dir, "Pulumi.yaml");
  if (!fs.existsSync(project)) fs.writeFileSync(project, `name: ${DSTACK_PROJECT}\nruntime: nodejs\nbackend:\n  url: ${stateBackendUrl(env)}\n`);
  return dir;
}

function isEngineInternal(type: string): boolean {
  return type === "pulumi:pulumi:Stack" || type.startsWith("pulumi:providers:");
}

/** One line of the CLI's plain progress output as a step (`-  <type> <name> deleting (0s)`), or null (pure). */
export function cliStepLine(line: string): { type: string; name: string; state: "start" | "done" | "failed" } | null {
  const m = /^\s*[-+~]+\s+(\S+)\s+(\S+)\s+(deleting|deleted|creating|created|updating|updated|\*\*deleting failed\*\*)/.exec(line);
  if (!m || isEngineInternal(m[1])) return null;
  const state = /failed/.test(m[3]) ? "failed" : /ing$/.test(m[3]) ? "start" : "done";
  return { type: m[1], name: m[2], state };
}

/**
 * `pulumi destroy --remove` of a run's stack, straight through the CLI: destroying needs no
 * program, so this skips the Automation API's load and its extra calls (select, history, rm),
 * which are most of the time of a `dstack down`. Progress comes from the CLI's plain output.
 */
export async function destroyWithCli(
  runName: string,
  o: { env?: NodeJS.ProcessEnv; onStep?: (s: { type: string; name: string; state: "start" | "done" | "failed" }) => void; signal?: AbortSignal } = {},
): Promise<void> {
  const env = o.env ?? process.env;
  const [bin, envVars] = await Promise.all([binaryToolchain(env), engineEnv(env)]);
  const cwd = ensureWorkspaceDir(env);
  const { spawn } = await import("child_process");
  const args = ["destroy", "--yes", "--skip-preview", "--remove", "--stack", runName, "--non-interactive", "--color", "never"];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(bin.binary, args, { cwd, env: { ...env, ...envVars }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let pending = "";
    child.stdout.on("data", (d: Buffer) => {
      const text = d.toString();
      stdout += text;
      pending += text;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const l of lines) {
        const step = cliStepLine(l);
        if (step) o.onStep?.(step);
      }
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const abort = () => child.kill("SIGINT");
    o.signal?.addEventListener("abort", abort);
    child.on("error", reject);
    child.on("close", (code) => {
      o.signal?.removeEventListener("abort", abort);
      if (code === 0) resolve();
      else reject(engineError({ message: stderr.trim() || `pulumi destroy exited ${code}`, commandResult: { stdout, stderr } }, `destroying ${runName}`));
    });
  });
}

export interface UpStackResult {
  /** Plain outputs (secrets masked). */
  outputs: Record<string, unknown>;
  /** Resource changes by operation, from the engine's summary event. */
  changes: Record<string, number>;
}

/**
 * `pulumi up` of an opened stack. With the file backend, the outputs are then read from the
 * state file and the change counts from the summary event, instead of the three CLI calls
 * Stack.up makes after the update (`stack output` twice, `stack history`), which cost more
 * than a second of a warm `dstack up`. @pulumi/pulumi is pinned (3.248.0), so overriding
 * those two methods of this Stack instance is safe; other backends keep the stock path.
 */
export async function upStack(
  stack: Stack,
  o: { onEvent?: (e: import("@pulumi/pulumi/automation").EngineEvent) => void; signal?: AbortSignal; refresh?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<UpStackResult> {
  const env = o.env ?? process.env;
  const fast = diyStacksDir(env) !== null;
  let changes: Record<string, number> = {};
  const onEvent = (e: import("@pulumi/pulumi/automation").EngineEvent) => {
    if (e.summaryEvent) {
      changes = {};
      for (const [k, v] of Object.entries(e.summaryEvent.resourceChanges ?? {})) if (typeof v === "number") changes[k] = v;
    }
    o.onEvent?.(e);
  };
  if (fast) {
    const patched = stack as unknown as { outputs: () => Promise<OutputMap>; info: () => Promise<undefined> };
    patched.outputs = async () => ({});
    patched.info = async () => undefined;
  }
  const res = await stack.up({ onEvent, signal: o.signal, refresh: o.refresh });
  if (!fast) {
    for (const [k, v] of Object.entries(res.summary?.resourceChanges ?? {})) if (typeof v === "number") changes[k] = v;
    return { outputs: plainOutputs(res.outputs), changes };
  }
  const outputs = readOutputsFromFile(stack.name, env);
  if (!outputs) throw engineError(new Error("the state file has no outputs after the update"), `reading run ${stack.name}`);
  return { outputs, changes };
}
