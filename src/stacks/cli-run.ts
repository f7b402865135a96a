/**
 * The Pulumi CLI run directly as a child process, for the commands that need no program
 * (`stack init`, `destroy --remove`): no Automation API to load, none of its extra calls.
 * The binary comes from src/stacks/toolchain.ts, its environment from `engineEnv()` and its
 * working directory is dstack's workspace folder (src/stacks/state.ts).
 */
import { execFile } from "child_process";
import { engineError } from "./errors";
import { engineLockDirOf, removeLockFiles, withEngineLock, type LockHolder } from "./locks";
import { isInternal } from "./events";
import { runLines } from "./script";
import { diyStacksDir, engineEnv, ensureWorkspaceProject } from "./state";
import { ensurePulumiBinary } from "./toolchain";
import { mark } from "../trace";

/**
 * What to spawn for the CLI and the environment every engine invocation gets: `binary` is the
 * engine guard (src/stacks/engine-guard.ts) that runs pulumi, so a killed dstack leaves no engine behind.
 */
export async function engineProcess(env: NodeJS.ProcessEnv): Promise<{ binary: string; env: Record<string, string> }> {
  const bin = await ensurePulumiBinary({ env });
  return { binary: bin.guard, env: engineEnv(bin, env) };
}

/**
 * Starts finding the CLI (child processes: `pulumi version`) while the caller does other work
 * (offers, planning). The Automation API itself is not loaded here: its load is CPU-bound and
 * a no-op `up` never needs it. Errors surface when the engine is used.
 */
export function prefetchEngine(env: NodeJS.ProcessEnv = process.env): void {
  ensurePulumiBinary({ env }).catch(() => undefined);
}

/** Runs the Pulumi CLI in the workspace folder; rejects with the CLI's output as `commandResult` (for engineError). */
export async function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  const engine = await engineProcess(env);
  const cwd = ensureWorkspaceProject(env);
  return new Promise((resolve, reject) => {
    execFile(engine.binary, [...args, "--non-interactive"], { cwd, env: { ...env, ...engine.env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { commandResult: { stdout, stderr } }));
      else resolve({ stdout, stderr });
    });
  });
}

export interface CliStep {
  type: string;
  name: string;
  state: "start" | "done" | "failed";
}

/** One line of the CLI's plain progress output as a step (`-  <type> <name> deleting (0s)`), or null (pure). */
export function cliStepLine(line: string): CliStep | null {
  const m = /^\s*[-+~]+\s+(\S+)\s+(\S+)\s+(deleting|deleted|creating|created|updating|updated|\*\*deleting failed\*\*)/.exec(line);
  if (!m || isInternal(m[1])) return null;
  const state = /failed/.test(m[3]) ? "failed" : /ing$/.test(m[3]) ? "start" : "done";
  return { type: m[1], name: m[2], state };
}

/**
 * `pulumi destroy --remove` of a run's stack, straight through the CLI: destroying needs no
 * program, so this skips the Automation API's load and its extra calls (select, history, rm),
 * which are most of the time of a `dstack down`. Progress comes from the CLI's plain output.
 */
export async function destroyWithCli(runName: string, o: { env?: NodeJS.ProcessEnv; onStep?: (s: CliStep) => void; signal?: AbortSignal } = {}): Promise<void> {
  const env = o.env ?? process.env;
  const engine = await engineProcess(env);
  const cwd = ensureWorkspaceProject(env);
  const args = ["destroy", "--yes", "--skip-preview", "--remove", "--stack", runName, "--non-interactive", "--color", "never"];
  const once = () => runLines(engine.binary, args, {
    cwd,
    env: { ...env, ...engine.env },
    keepOutput: true,
    signal: o.signal,
    onLine: (line, stream) => {
      if (stream !== "stdout") return;
      const step = cliStepLine(line);
      if (step) mark(`${step.state === "start" ? "delete" : `delete ${step.state}`} ${step.name} (${step.type})`);
      if (step) o.onStep?.(step);
    },
  });
  try {
    await withEngineLock(
      runName,
      async () => {
        mark("engine start");
        const r = await once();
        mark("engine done");
        if (r.code !== 0) throw { message: r.stderr.trim() || `pulumi destroy exited ${r.code}`, commandResult: { stdout: r.stdout, stderr: r.stderr } };
      },
      { breakLocks: engineLockBreaker(runName, env) },
    );
  } catch (e) {
    throw engineError(e, `destroying ${runName}`, runName);
  }
}

/**
 * Breaks Pulumi's locks of a run held by these holders: on file://, exactly their files; on
 * any other DIY backend `pulumi cancel`, which removes every lock of the stack.
 */
export async function breakEngineLocks(runName: string, holders: LockHolder[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const stacks = diyStacksDir(env);
  if (!removeLockFiles(stacks ? engineLockDirOf(stacks, runName) : null, holders)) await cancelStackLocks(runName, env);
}

export function engineLockBreaker(runName: string, env: NodeJS.ProcessEnv): (holders: LockHolder[]) => Promise<void> {
  return (holders) => breakEngineLocks(runName, holders, env);
}

/** `pulumi cancel`: removes every lock of the run's stack, on any DIY backend (diyBackend.CancelCurrentUpdate). */
export async function cancelStackLocks(runName: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    await runCli(["cancel", "--yes", "--stack", runName], env);
  } catch (e) {
    const text = `${(e as { commandResult?: { stderr?: string } }).commandResult?.stderr ?? ""} ${(e as Error).message ?? ""}`;
    if (/no stack named|not found|does not exist/i.test(text)) return;
    throw engineError(e, `unlocking ${runName}`);
  }
}
