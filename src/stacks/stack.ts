/**
 * The runs' stacks through the Automation API (`@pulumi/pulumi/automation`'s LocalWorkspace):
 * one Pulumi stack per run (project `dstack`, stack = run name) with an inline program;
 * opening, listing, reading outputs, `up` and `destroy`.
 *
 * The Automation API is imported lazily (`automation()`), once, where a stack or workspace is
 * opened: it takes about 2 s to load here, and this module is reached (through
 * src/stacks/workspace.ts and src/runs/lifecycle.ts) by commands that never need it — `ps` and
 * `down` with the file backend read checkpoints and run the CLI directly. Only types are
 * imported at the top.
 */
import * as fs from "fs";
import type {
  DestroyResult,
  EngineEvent,
  LocalWorkspace,
  LocalWorkspaceOptions,
  OutputMap,
  PreviewResult,
  PulumiFn,
  Stack,
  StackSummary,
  UpResult,
} from "@pulumi/pulumi/automation";
import { DSTACK_PROJECT } from "../project";
import { listStacksDirect, readOutputsDirect, readOutputsFromFile } from "./checkpoint";
import { engineLockBreaker, runCli } from "./cli-run";
import { engineError, runNotFound } from "./errors";
import { withEngineLock } from "./locks";
import { diyStacksDir, engineEnv, ensureWorkspaceProject } from "./state";
import { ensurePulumi } from "./toolchain";
import { isVolumeStack } from "./volume-stacks";
import { mark } from "../trace";

export type { Stack, UpResult, PreviewResult, DestroyResult, PulumiFn, StackSummary };

async function automation(): Promise<typeof import("@pulumi/pulumi/automation")> {
  const auto = await import("@pulumi/pulumi/automation");
  mark("automation api loaded");
  return auto;
}

async function workspaceOptions(program: PulumiFn | undefined, env: NodeJS.ProcessEnv): Promise<LocalWorkspaceOptions> {
  const tc = await ensurePulumi({ env });
  // Pulumi.yaml is written by dstack (atomically, only when it differs) and not passed as
  // projectSettings, which LocalWorkspace would rewrite in place on every open.
  const workDir = ensureWorkspaceProject(env);
  const envVars = engineEnv(tc, env);
  fs.mkdirSync(envVars.PULUMI_HOME, { recursive: true, mode: 0o700 });
  return {
    workDir,
    pulumiHome: envVars.PULUMI_HOME,
    pulumiCommand: tc.command,
    program,
    envVars,
    secretsProvider: "passphrase",
  };
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
    const create = opts.exists === false ? auto.LocalWorkspace.createStack : auto.LocalWorkspace.createOrSelectStack;
    return await withEngineLock(runName, () => create.call(auto.LocalWorkspace, args, wsOpts), { breakLocks: engineLockBreaker(runName, env), creating: opts.exists === false });
  } catch (e) {
    if (opts.create === false && /no stack named|not found/i.test(String((e as Error).message ?? e))) throw runNotFound(runName);
    throw engineError(e, `opening stack ${runName}`, runName);
  }
}

/**
 * The file backend's fast open: a new stack is created by `pulumi stack init` run as a child
 * process while this process loads the Automation API (they overlap), and no `pulumi stack
 * select` is run at all — every Automation API command passes `--stack` itself, so selecting
 * only rewrites a "current stack" setting dstack never reads. Same stacks, same settings files
 * (Pulumi.<run>.yaml with the passphrase salt) as LocalWorkspace.createStack.
 */
async function openStackFast(runName: string, program: PulumiFn, exists: boolean, env: NodeJS.ProcessEnv): Promise<Stack> {
  const init = exists
    ? Promise.resolve(null)
    : withEngineLock(runName, () => runCli(["stack", "init", runName, "--secrets-provider", "passphrase", "--no-select"], env), { breakLocks: engineLockBreaker(runName, env), creating: true });
  init.catch(() => undefined);
  try {
    const auto = await automation();
    const wsOpts = await workspaceOptions(program, env);
    await init;
    const workspace = await auto.LocalWorkspace.create(wsOpts);
    (workspace as unknown as { selectStack: (name: string) => Promise<void> }).selectStack = async () => undefined;
    const stack = await auto.Stack.select(runName, workspace);
    mark("stack open");
    return stack;
  } catch (e) {
    throw engineError(e, `opening stack ${runName}`, runName);
  }
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

/** Every stack's name in the state backend: runs' and volumes' (./volume-stacks.ts). */
export async function listStackNames(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const fast = await listStacksDirect(env);
  if (fast !== undefined) return fast;
  return (await listStacks(env)).map((s) => s.name.split("/").pop() as string).sort();
}

/** Run names (stack names but volumes') in the state backend. */
export async function listRunNames(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  return (await listStackNames(env)).filter((n) => !isVolumeStack(n));
}

/** Volume stacks' names (`volume.<name>`) in the state backend. */
export async function listVolumeStackNames(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  return (await listStackNames(env)).filter(isVolumeStack);
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

/**
 * The run's stack outputs (secrets masked), or null when the stack does not exist. The file
 * and PostgreSQL backends are read directly; any other through the engine (`pulumi stack output`).
 */
export async function readOutputs(runName: string, env: NodeJS.ProcessEnv = process.env): Promise<Record<string, unknown> | null> {
  const fast = await readOutputsDirect(runName, env);
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

/** Destroys the stack's resources and removes the stack (history and settings included). */
export async function destroyAndRemove(
  stack: Stack,
  opts: { onEvent?: (e: EngineEvent) => void; signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {},
): Promise<DestroyResult> {
  const env = opts.env ?? process.env;
  try {
    // `pulumi destroy --remove`: one engine run destroys and removes the stack.
    return await withEngineLock(stack.name, () => stack.destroy({ onEvent: opts.onEvent, signal: opts.signal, remove: true }), { breakLocks: engineLockBreaker(stack.name, env) });
  } catch (e) {
    throw engineError(e, `destroying ${stack.name}`, stack.name);
  }
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
  o: {
    onEvent?: (e: EngineEvent) => void;
    signal?: AbortSignal;
    refresh?: boolean;
    env?: NodeJS.ProcessEnv;
    /** The update's message in `pulumi stack history`. */
    message?: string;
  } = {},
): Promise<UpStackResult> {
  const env = o.env ?? process.env;
  const fast = diyStacksDir(env) !== null;
  let changes: Record<string, number> = {};
  const onEvent = (e: EngineEvent) => {
    traceEngineEvent(e);
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
  mark("engine start");
  const res = await withEngineLock(stack.name, () => stack.up({ onEvent, signal: o.signal, refresh: o.refresh, message: o.message }), { breakLocks: engineLockBreaker(stack.name, env) });
  mark("engine done");
  if (!fast) {
    for (const [k, v] of Object.entries(res.summary?.resourceChanges ?? {})) if (typeof v === "number") changes[k] = v;
    return { outputs: plainOutputs(res.outputs), changes };
  }
  const outputs = readOutputsFromFile(stack.name, env);
  if (!outputs) throw engineError(new Error("the state file has no outputs after the update"), `reading run ${stack.name}`);
  return { outputs, changes };
}

/** Phase marks (src/trace.ts) of an engine run: its first event, each resource's step start and end, the summary. */
function traceEngineEvent(e: EngineEvent): void {
  if (e.preludeEvent) mark("engine prelude");
  const pre = e.resourcePreEvent?.metadata;
  if (pre) mark(`${pre.op} ${pre.urn.split("::").pop()} (${pre.type})`);
  const out = e.resOutputsEvent?.metadata;
  if (out) mark(`${out.op} ${out.urn.split("::").pop()} (${out.type}) done`);
  if (e.summaryEvent) mark("engine summary");
}
