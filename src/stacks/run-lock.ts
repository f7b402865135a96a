/**
 * dstack's own lock of a run, held for a whole `dstack up` / `dstack down`:
 * `$DSTACK_HOME/locks/<hash of the state URL>/<run>.json` = `{pid, hostname, username, since, command}`.
 *
 * Why a second lock beside Pulumi's: Pulumi locks a stack only while one engine operation runs
 * (`stack init`, then `up`), and not at all before the stack exists. Two `dstack up` of one new
 * run both read "no stack", both plan, and the loser's `stack init` fails with "already exists"
 * — or, if it comes later, it silently updates what the other just created. Held from before
 * planning to the end of the command, this lock makes every such pair answer E4504 ("being
 * updated by pid P on host H since T (dstack up)") deterministically, and it records which
 * command holds the run, which Pulumi's lock cannot say. It covers the processes sharing a
 * DSTACK_HOME; commands from other machines on a shared state backend still meet Pulumi's
 * lock, and a stack that appears during our creation is reported as the same E4504
 * (locks.ts `beingCreatedError`).
 *
 * The file is created complete and atomically (written aside, then hard-linked into place:
 * link(2) fails when the name exists). A holder whose process is gone from this host is broken
 * with a warning; two processes breaking the same stale lock serialize on `<run>.json.break`
 * (O_EXCL), and each removes the lock only if it still holds what it judged stale.
 *
 * On a PostgreSQL state backend (DSTACK_STATE_URL=postgres://…), shared by a team, the lock
 * lives in that database instead (postgres-lock.ts), so that it holds across DSTACK_HOMEs,
 * users and machines.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { homePaths } from "../paths";
import {
  beingUpdatedError,
  forcedUnlockNotice,
  engineLockDirOf,
  judgeOnThisHost,
  nextDelay,
  setLockPolicy,
  sleep,
  staleLockNotice,
  waitingNotice,
  type LockHolder,
  type LockPolicy,
} from "./locks";
import { localHostname } from "./process-info";
import { breakEngineLocks, cancelStackLocks } from "./cli-run";
import { acquirePostgresRunLock, breakPostgresRunLock, readPostgresRunLock } from "./postgres-lock";
import { postgresBackend } from "./postgres-state";
import { diyStacksDir, stateBackendUrl } from "./state";

export interface RunLock {
  run: string;
  file: string;
  /** Releases the lock (idempotent; also done when the process exits). */
  release(): void;
  /** Settles once the lock is released (on a PostgreSQL backend, when the database session has ended). */
  released(): Promise<void>;
}

export interface AcquireOptions extends LockPolicy {
  env?: NodeJS.ProcessEnv;
  /** What holds the lock, for others' error messages, e.g. `dstack up`. */
  command: string;
}

/** The folder of dstack's run locks for the current state backend. */
export function runLockDir(env: NodeJS.ProcessEnv = process.env): string {
  const id = createHash("sha256").update(stateBackendUrl(env)).digest("hex").slice(0, 12);
  return path.join(homePaths(env).home, "locks", id);
}

function username(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? "unknown";
  }
}

/** A run lock file's holder, or null when it is absent or unreadable (pure but for the read). */
export function readRunLock(file: string): LockHolder | null {
  try {
    const j = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<LockHolder>;
    if (typeof j.pid !== "number" || typeof j.hostname !== "string" || typeof j.since !== "string") return null;
    return { url: file, pid: j.pid, hostname: j.hostname, username: String(j.username ?? ""), since: j.since, command: typeof j.command === "string" ? j.command : undefined };
  } catch {
    return null;
  }
}

function tryCreate(file: string, content: string): boolean {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Removes `file` if it still holds `seen` (serialized with other breakers on `<file>.break`). */
function breakIfSame(file: string, seen: LockHolder): boolean {
  const claim = `${file}.break`;
  try {
    fs.writeFileSync(claim, String(process.pid), { flag: "wx", mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    // another process is breaking it; a claim left by a crashed breaker expires after 10 s
    try {
      if (Date.now() - fs.statSync(claim).mtimeMs > 10_000) fs.rmSync(claim, { force: true });
    } catch {
      // gone meanwhile
    }
    return false;
  }
  try {
    const now = readRunLock(file);
    if (now && now.pid === seen.pid && now.since === seen.since && now.hostname === seen.hostname) {
      fs.rmSync(file, { force: true });
      return true;
    }
    return false;
  } finally {
    fs.rmSync(claim, { force: true });
  }
}

/**
 * Takes the run's lock: breaks a stale one (warning E4505), waits for a live one with
 * `wait` (notice E4506, backoff 0.5 s to 5 s), else throws E4504 naming the holder.
 * `forceUnlock` takes it whatever holds it. The policy also applies to Pulumi's lock of the
 * run during this process's engine operations (locks.ts `withEngineLock`).
 */
export async function acquireRunLock(run: string, o: AcquireOptions): Promise<RunLock> {
  const env = o.env ?? process.env;
  const mine = { pid: process.pid, hostname: localHostname(), username: username(), since: new Date().toISOString(), command: o.command };
  const pg = postgresBackend(stateBackendUrl(env));
  if (pg) {
    const held = await acquirePostgresRunLock(pg, run, { holder: mine, wait: o.wait, forceUnlock: o.forceUnlock, onNotice: o.onNotice, signal: o.signal });
    setLockPolicy(run, { wait: o.wait, forceUnlock: o.forceUnlock, onNotice: o.onNotice, signal: o.signal });
    let done: Promise<void> | null = null;
    const released = () => {
      if (!done) setLockPolicy(run, undefined);
      return (done ??= held.release());
    };
    return { run, file: held.url, release: () => void released(), released };
  }
  const dir = runLockDir(env);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${run}.json`);
  const content = JSON.stringify(mine) + "\n";
  let delay = 500;
  let waitingSince = 0;
  let unreadableSince = 0;
  for (;;) {
    if (tryCreate(file, content)) break;
    const holder = readRunLock(file);
    if (!holder) {
      // created complete by link(2), so unreadable means foreign or damaged: give it 2 s
      if (!unreadableSince) unreadableSince = Date.now();
      if (Date.now() - unreadableSince > 2000) fs.rmSync(file, { force: true });
      await sleep(100, o.signal);
      continue;
    }
    const { holder: h, verdict } = judgeOnThisHost(holder);
    if (verdict.state === "stale" || o.forceUnlock) {
      if (breakIfSame(file, holder)) o.onNotice?.(verdict.state === "stale" ? staleLockNotice(run, h, verdict.reason) : forcedUnlockNotice(run, h));
      else await sleep(100, o.signal);
      continue;
    }
    if (!o.wait) throw beingUpdatedError(run, h);
    if (waitingSince === 0 || Date.now() - waitingSince > 30_000) {
      waitingSince = Date.now();
      o.onNotice?.(waitingNotice(run, h));
    }
    await sleep(delay, o.signal);
    delay = nextDelay(delay);
  }
  setLockPolicy(run, { wait: o.wait, forceUnlock: o.forceUnlock, onNotice: o.onNotice, signal: o.signal });
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off("exit", release);
    setLockPolicy(run, undefined);
    const now = readRunLock(file);
    if (now && now.pid === mine.pid && now.since === mine.since) fs.rmSync(file, { force: true });
  };
  process.on("exit", release);
  return { run, file, release, released: async () => release() };
}

/** Pulumi's lock files of a run in a file:// backend, as holders (undefined for other backends). */
export function readEngineLocks(run: string, env: NodeJS.ProcessEnv = process.env): LockHolder[] | undefined {
  const stacks = diyStacksDir(env);
  if (!stacks) return undefined;
  const dir = engineLockDirOf(stacks, run);
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith(".json"));
  } catch {
    return [];
  }
  const out: LockHolder[] = [];
  for (const n of names) {
    const file = path.join(dir, n);
    try {
      const j = JSON.parse(fs.readFileSync(file, "utf8")) as { pid?: number; username?: string; hostname?: string; timestamp?: string };
      out.push({ url: file, pid: Number(j.pid), username: String(j.username ?? ""), hostname: String(j.hostname ?? ""), since: String(j.timestamp ?? "") });
    } catch {
      out.push({ url: file, pid: 0, username: "", hostname: "", since: "" });
    }
  }
  return out;
}

export interface RunLocks {
  /** dstack's run lock, if taken. */
  dstack: LockHolder | null;
  /** Pulumi's locks (file:// only; undefined when the backend cannot be listed). */
  engine: LockHolder[] | undefined;
}

export async function listRunLocks(run: string, env: NodeJS.ProcessEnv = process.env): Promise<RunLocks> {
  const pg = postgresBackend(stateBackendUrl(env));
  if (pg) {
    // Pulumi's locks on postgres are removed with `pulumi cancel` (unlock's `engine_cancelled`), not one by one
    return { dstack: await readPostgresRunLock(pg, run), engine: undefined };
  }
  return { dstack: readRunLock(path.join(runLockDir(env), `${run}.json`)), engine: readEngineLocks(run, env) };
}

/** Removes every lock of the run (`dstack unlock`): dstack's and Pulumi's. Returns what was removed. */
export async function unlockRun(run: string, env: NodeJS.ProcessEnv = process.env): Promise<RunLocks> {
  const found = await listRunLocks(run, env);
  const pg = postgresBackend(stateBackendUrl(env));
  if (pg) {
    await breakPostgresRunLock(pg, run);
    await cancelStackLocks(run, env);
    return found;
  }
  fs.rmSync(path.join(runLockDir(env), `${run}.json`), { force: true });
  if (found.engine === undefined) await cancelStackLocks(run, env);
  else if (found.engine.length) await breakEngineLocks(run, found.engine, env);
  return found;
}
