/**
 * `dstack agent`: the detached reconciler. It calls the reconcile step (reconcile.ts) on every
 * run that manages itself — one with a deadline (max_duration), a retry policy or an inactivity
 * rule — at the time each one asks to be looked at again, and exits once no such run is active.
 *
 * One agent per DSTACK_HOME and state backend: it holds dstack's run lock of the pseudo-run
 * `.agent` (src/stacks/run-lock.ts: `$DSTACK_HOME/locks/<hash of the state URL>/.agent.json`,
 * `{pid, hostname, since, command}`; a name no run can have). A second agent finds the lock
 * held by a live process and exits at once; an agent killed with `kill -9` leaves a lock whose
 * process is gone, which the next agent breaks (the stale-lock rule of run-lock.ts). `dstack up`
 * starts an agent when its run manages itself (`ensureAgent`), and `dstack ps` / `dstack reap`
 * start one again when managed runs exist and none runs: a crash costs at most the time until
 * the next command (and the in-instance watchdog enforces the deadline meanwhile).
 *
 * Nothing the agent knows lives in its memory: deadlines, attempts and statuses are in the run
 * records, so an agent restarted after a crash, or after the machine restarted, picks up where
 * the world is. It logs to `$DSTACK_HOME/agent/<hash>.log`.
 */
import { spawn } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { DstackError } from "../diagnostics";
import { homePaths, packageRoot } from "../paths";
import { judgeOnThisHost, sleep } from "../stacks/locks";
import { acquireRunLock, listRunLocks, type RunLock } from "../stacks/run-lock";
import { stateBackendUrl } from "../stacks/state";
import { POLL_MS } from "./reconcile-decision";

/** The pseudo-run whose lock is the agent's pid file (run names cannot start with a dot). */
export const AGENT_LOCK = ".agent";

/** The longest the agent sleeps between two looks (new runs appear without telling it). */
export const AGENT_MAX_SLEEP_MS = POLL_MS;

function stateId(env: NodeJS.ProcessEnv): string {
  return createHash("sha256").update(stateBackendUrl(env)).digest("hex").slice(0, 12);
}

/** The agent's log file for this DSTACK_HOME and state backend. */
export function agentLogFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(homePaths(env).home, "agent", `${stateId(env)}.log`);
}

export interface AgentState {
  running: boolean;
  pid?: number;
  since?: string;
  /** A lock left by an agent that is gone (killed): the next agent breaks it. */
  stale?: boolean;
}

/** Whether an agent runs for this DSTACK_HOME and state backend. */
export async function agentState(env: NodeJS.ProcessEnv = process.env): Promise<AgentState> {
  const holder = (await listRunLocks(AGENT_LOCK, env)).dstack;
  if (!holder) return { running: false };
  const { verdict } = judgeOnThisHost(holder);
  if (verdict.state === "stale") return { running: false, pid: holder.pid, since: holder.since, stale: true };
  return { running: true, pid: holder.pid, since: holder.since };
}

/**
 * Starts a detached agent unless one runs (setsid, stdio to the log, unref'd: it outlives the
 * command). Returns its pid, or null when one was already running.
 */
export async function ensureAgent(env: NodeJS.ProcessEnv = process.env): Promise<number | null> {
  if ((await agentState(env)).running) return null;
  const log = agentLogFile(env);
  fs.mkdirSync(path.dirname(log), { recursive: true, mode: 0o700 });
  const fd = fs.openSync(log, "a", 0o600);
  try {
    const child = spawn(process.execPath, [path.join(packageRoot(), "bin", "dstack"), "agent"], {
      detached: true,
      stdio: ["ignore", fd, fd],
      env: { ...env, CI: "true" },
      cwd: homePaths(env).home,
    });
    child.unref();
    return child.pid ?? null;
  } finally {
    fs.closeSync(fd);
  }
}

/** One look at the runs: what the agent loop needs from the reconciler (injected: reconcile.ts). */
export type ReconcileManaged = (o: { env: NodeJS.ProcessEnv; log: (line: string) => void }) => Promise<{ managed: number; requeue_ms: number | null }>;

export interface AgentOptions {
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Stop after this many looks (tests); default: until no managed run remains. */
  maxRounds?: number;
}

/**
 * The agent's loop. Returns "already-running" when another agent holds the lock, "idle" once
 * no managed run remains (or when stopped).
 */
export async function runAgent(reconcile: ReconcileManaged, o: AgentOptions = {}): Promise<"already-running" | "idle"> {
  const env = o.env ?? process.env;
  const log = o.log ?? (() => undefined);
  let lock: RunLock;
  try {
    lock = await acquireRunLock(AGENT_LOCK, { command: "dstack agent", env, onNotice: (d) => log(d.message) });
  } catch (e) {
    if (e instanceof DstackError && e.diagnostics[0]?.code === "E4504") return "already-running";
    throw e;
  }
  log(`agent started (pid ${process.pid}, state ${stateBackendUrl(env)})`);
  try {
    for (let round = 0; o.maxRounds === undefined || round < o.maxRounds; round++) {
      if (o.signal?.aborted) break;
      let next: number | null = AGENT_MAX_SLEEP_MS;
      try {
        const r = await reconcile({ env, log });
        if (r.managed === 0) {
          log("no run left to manage: agent exits");
          break;
        }
        next = r.requeue_ms;
      } catch (e) {
        // one bad look (the state unreadable for a moment, Docker restarting) does not end the agent
        log(`error: ${(e as Error).message}`);
      }
      const delay = Math.max(250, Math.min(next ?? AGENT_MAX_SLEEP_MS, AGENT_MAX_SLEEP_MS));
      try {
        await sleep(delay, o.signal);
      } catch {
        break; // aborted
      }
    }
  } finally {
    lock.release();
  }
  return "idle";
}
