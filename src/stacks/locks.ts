/**
 * Locks of a run: who holds them, whether that holder is still there, and what to do.
 *
 * Two locks guard a run:
 *  - Pulumi's own stack lock, which every DIY backend (file://, s3://, gs://, azblob://,
 *    postgres://) keeps as `.pulumi/locks/organization/dstack/<run>/<uuid>.json` holding
 *    `{pid, username, hostname, timestamp}` (pkg/backend/diy/lock.go, v3.248.0). When an
 *    operation finds another lock, the engine fails with a text that lists every holder, the
 *    same for all DIY backends:
 *      the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end
 *      or delete the lock file with `pulumi cancel`.
 *        file:///…/.pulumi/locks/organization/dstack/r/<uuid>.json: created by u@h (pid 42) at 2025-01-01T10:00:00Z
 *    So this module works from that text, not from the storage: `parseLockHolders`.
 *    `pulumi cancel` deletes every lock file of the stack on any DIY backend
 *    (diyBackend.CancelCurrentUpdate), which is how a stale lock is broken off file://.
 *  - dstack's own run lock (src/stacks/run-lock.ts), held for a whole `up` / `down`.
 *
 * A holder on this host whose process no longer exists (or whose pid now belongs to a process
 * started after the lock was taken) is stale: its lock is broken, with a warning. Any other
 * holder means the run is being updated: E4504 names it, or `--wait` polls until it is gone.
 */
import * as fs from "fs";
import * as path from "path";
import { Diagnostic, DstackError, ExitCode } from "../diagnostics";
import { describeProcess, localHostname, processFacts, type ProcessFacts } from "./process-info";

export interface LockHolder {
  /** Where the lock is: the engine's URL of its lock file, or dstack's run-lock file. */
  url: string;
  username: string;
  hostname: string;
  pid: number;
  /** When it was taken, as recorded (RFC 3339). */
  since: string;
  /** The holder's command, when known (dstack's run lock records it). */
  command?: string;
}

/** The holders listed in an engine "currently locked" error (pure). */
export function parseLockHolders(text: string): LockHolder[] {
  const out: LockHolder[] = [];
  // Go: fmt.Fprintf("\n  %v: created by %v@%v (pid %v) at %v", url, user, host, pid, RFC3339).
  // A user name may hold `@` (domain accounts), a host name cannot: split at the last one.
  const re = /^\s*(\S+): created by (.*)@([^@\s]*) \(pid (-?\d+)\) at (\S+)\s*$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push({ url: m[1], username: m[2], hostname: m[3], pid: Number(m[4]), since: m[5] });
  }
  return out;
}

/** Whether an engine failure is a lock conflict (DIY text, or Pulumi Cloud's 409). */
export function isLockConflict(text: string): boolean {
  return /currently locked|locked by|ConcurrentUpdateError|another update is currently in progress/i.test(text);
}

/** Whether an engine failure says the stack to create exists already. */
export function isAlreadyExists(text: string): boolean {
  return /already exists/i.test(text);
}

/** The lock folder of a run's stack in a file:// DIY backend, from its stacks folder `<state>/.pulumi/stacks/<project>` (lock.go: stackLockDir = `.pulumi/locks/organization/<project>/<run>`). */
export function engineLockDirOf(stacksDir: string, run: string): string {
  const project = path.basename(stacksDir);
  return path.join(path.dirname(path.dirname(stacksDir)), "locks", "organization", project, run);
}

/** The local path of a `file:///…` lock URL (or a plain path), else null (pure). */
export function lockFileOfUrl(url: string): string | null {
  if (url.startsWith("/")) return path.resolve(url);
  const m = /^file:\/\/(\/[^?#]*)$/.exec(url);
  return m ? path.resolve(decodeURIComponent(m[1])) : null;
}

/**
 * Deletes the holders' lock files when every one of them is a `.json` file directly in `dir`
 * (the run's lock folder of a file:// backend); returns false, deleting nothing, otherwise.
 */
export function removeLockFiles(dir: string | null, holders: LockHolder[]): boolean {
  if (!dir) return false;
  const files = holders.map((h) => lockFileOfUrl(h.url));
  if (!files.every((f): f is string => f !== null && path.dirname(f) === path.resolve(dir) && f.endsWith(".json"))) return false;
  for (const f of files) fs.rmSync(f as string, { force: true });
  return true;
}

export type HolderVerdict = { state: "stale"; reason: string } | { state: "live" } | { state: "remote" };

/**
 * Pid reuse: the kernel's start time is exact to the tick but the boot time to the second and
 * a lock's timestamp is written in whole seconds; the holder process always starts before it
 * writes its lock, so a process that started clearly later is another one.
 */
const START_SLACK_MS = 2000;

/** Judges a lock's holder from this host's facts about its pid (pure). */
export function judgeHolder(holder: Pick<LockHolder, "hostname" | "pid" | "since">, hostname: string, facts: ProcessFacts): HolderVerdict {
  if (holder.hostname !== hostname) return { state: "remote" };
  if (!facts.alive) return { state: "stale", reason: `process ${holder.pid} no longer exists` };
  const since = Date.parse(holder.since);
  if (facts.startedAtMs !== undefined && Number.isFinite(since) && facts.startedAtMs > since + START_SLACK_MS) {
    return { state: "stale", reason: `pid ${holder.pid} now belongs to a process started after the lock was taken` };
  }
  return { state: "live" };
}

/** Judges a holder with this host's live facts, adding what the process runs when it is ours. */
export function judgeOnThisHost(holder: LockHolder): { holder: LockHolder; verdict: HolderVerdict } {
  const facts = holder.hostname === localHostname() ? processFacts(holder.pid) : { alive: false };
  const verdict = judgeHolder(holder, localHostname(), facts);
  const command = holder.command ?? (verdict.state === "live" ? describeProcess(holder.pid, facts) : undefined);
  return { holder: command ? { ...holder, command } : holder, verdict };
}

/** The E4504 error: the run is being updated by someone else. */
export function beingUpdatedError(run: string, holder: LockHolder | null): DstackError {
  const who = holder
    ? `pid ${holder.pid} on host ${holder.hostname} since ${holder.since}${holder.command ? ` (${holder.command})` : holder.username ? ` (user ${holder.username})` : ""}`
    : "another process (the engine did not say which)";
  return new DstackError(
    {
      code: "E4504",
      severity: "error",
      message: `run ${run} is being updated by ${who}`,
      hint: `wait for it to finish, or pass --wait to wait here; if that process is gone for good: \`dstack unlock ${run}\` (or --force-unlock)`,
    },
    ExitCode.Busy,
  );
}

/** The E4504 error of a concurrent creation (the stack appeared while this command created it). */
export function beingCreatedError(run: string): DstackError {
  return new DstackError(
    {
      code: "E4504",
      severity: "error",
      message: `run ${run} is being updated by another command (it was created while this one was creating it)`,
      hint: `wait for it to finish, or pass --wait to wait here; \`dstack ps\` shows the run`,
    },
    ExitCode.Busy,
  );
}

export function staleLockNotice(run: string, holder: LockHolder, reason: string): Diagnostic {
  return {
    code: "E4505",
    severity: "warning",
    message: `run ${run}: removed a stale lock taken by pid ${holder.pid} on host ${holder.hostname} at ${holder.since}${holder.command ? ` (${holder.command})` : ""}: ${reason}`,
  };
}

export function forcedUnlockNotice(run: string, holder: LockHolder): Diagnostic {
  return {
    code: "E4505",
    severity: "warning",
    message: `run ${run}: --force-unlock removed the lock of pid ${holder.pid} on host ${holder.hostname} (since ${holder.since})`,
  };
}

export function waitingNotice(run: string, holder: LockHolder | null): Diagnostic {
  const err = beingUpdatedError(run, holder);
  return { code: "E4506", severity: "warning", message: `${err.diagnostics[0].message}; waiting (--wait)…` };
}

/** How a command treats a run's locks (from `--wait` / `--force-unlock`). */
export interface LockPolicy {
  /** Wait for a live holder instead of failing with E4504. */
  wait?: boolean;
  /** Break every lock, even one a live process holds. */
  forceUnlock?: boolean;
  /** Warnings: a stale lock broken, waiting for a holder. */
  onNotice?: (d: Diagnostic) => void;
  /** Stops waiting. */
  signal?: AbortSignal;
}

/** The policy of the run lock this process holds for each run (src/stacks/run-lock.ts sets it). */
const policies = new Map<string, LockPolicy>();

export function setLockPolicy(run: string, policy: LockPolicy | undefined): void {
  if (policy) policies.set(run, policy);
  else policies.delete(run);
}

export function lockPolicy(run: string): LockPolicy {
  return policies.get(run) ?? {};
}

/** Backoff of `--wait`: 0.5 s growing to 5 s. */
export function nextDelay(ms: number): number {
  return Math.min(5000, Math.round(ms * 1.5));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error("aborted"));
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Error("aborted"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function errorText(e: unknown): string {
  const err = e as { message?: string; commandResult?: { stderr?: string } };
  return `${err.commandResult?.stderr ?? ""}\n${err.message ?? String(e)}`;
}

export interface EngineLockOptions {
  /** Removes these holders' locks (file://: their files; else `pulumi cancel`). */
  breakLocks: (holders: LockHolder[]) => Promise<void>;
  /** The operation creates the stack: "already exists" then means a concurrent creation. */
  creating?: boolean;
  /** Defaults to the policy of this process's run lock. */
  policy?: LockPolicy;
}

/**
 * Runs an engine operation on a run's stack, dealing with Pulumi's lock: stale holders are
 * broken (with a warning) and the operation retried; a live one gives E4504, or is waited for
 * with `--wait`. A lock conflict fails the operation before it changed anything, so retrying
 * is safe. Any other error is rethrown as is.
 */
export async function withEngineLock<T>(run: string, fn: () => Promise<T>, o: EngineLockOptions): Promise<T> {
  const policy = o.policy ?? lockPolicy(run);
  let delay = 500;
  let broken = 0;
  let waitingSince = 0;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      const text = errorText(e);
      if (o.creating && isAlreadyExists(text)) throw beingCreatedError(run);
      if (!isLockConflict(text)) throw e;
      const judged = parseLockHolders(text).map(judgeOnThisHost);
      if (judged.length === 0) throw e; // not a DIY backend's text: engineError reports E4502
      const live = judged.filter((j) => j.verdict.state !== "stale");
      if ((live.length === 0 || policy.forceUnlock) && broken < 3) {
        broken++;
        await o.breakLocks(judged.map((j) => j.holder));
        for (const j of judged) {
          policy.onNotice?.(j.verdict.state === "stale" ? staleLockNotice(run, j.holder, j.verdict.reason) : forcedUnlockNotice(run, j.holder));
        }
        continue;
      }
      if (!policy.wait) throw beingUpdatedError(run, live[0]?.holder ?? judged[0].holder);
      if (waitingSince === 0 || Date.now() - waitingSince > 30_000) {
        waitingSince = Date.now();
        policy.onNotice?.(waitingNotice(run, live[0].holder));
      }
      await sleep(delay, policy.signal);
      delay = nextDelay(delay);
    }
  }
}
