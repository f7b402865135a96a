/**
 * dstack's run lock on a shared PostgreSQL state backend: held in the database, so that every
 * DSTACK_HOME, user and machine using the backend serializes on a run.
 *
 * Why not a file under DSTACK_HOME (run-lock.ts): it only covers the processes sharing that
 * folder; two team members' `up` of one run would both plan, and the second would update what
 * the first just made. Why not Pulumi's own stack lock alone: Pulumi holds it during one engine
 * operation only, not across dstack's plan → confirm → up → wait-for-sshd, and not before the
 * stack exists.
 *
 * How: a PostgreSQL session-level advisory lock (`pg_try_advisory_lock`) on a 63-bit key
 * derived from (Pulumi's table, run name), held by a connection kept open for the whole
 * command. The server releases it when the session ends, however it ends (exit, kill -9, a
 * machine that vanishes once TCP gives up), so there is never a stale lock to judge or break.
 * The holder's facts (`{pid, hostname, username, since, command}`) go into a small table,
 * `dstack_run_locks`, keyed by the lock and the session's backend pid; a contender reports the
 * row whose backend pid holds the lock now (pg_locks), as E4504, exit 8, like the file lock.
 * `--wait` polls with the same backoff; `--force-unlock` and `dstack unlock` end the holder's
 * session (pg_terminate_backend: the same database role, or pg_signal_backend).
 */
import { createHash } from "crypto";
import type { Client } from "pg";
import type { Diagnostic } from "../diagnostics";
import { beingUpdatedError, forcedUnlockNotice, nextDelay, sleep, waitingNotice, type LockHolder } from "./locks";
import { connectPostgres, withPostgres, type PostgresBackend } from "./postgres-state";

export const RUN_LOCKS_TABLE = "dstack_run_locks";

const CREATE_TABLE = `create table if not exists ${RUN_LOCKS_TABLE} (
  lock_key bigint primary key,
  run text not null,
  holder json not null,
  backend_pid integer not null,
  updated_at timestamptz not null default now()
)`;

/** The advisory lock's key of a run on a backend: 63 bits of sha256(table, run), as a decimal string (pure). */
export function runLockKey(backend: PostgresBackend, run: string): string {
  const h = createHash("sha256").update(`dstack-run-lock\0${backend.table}\0${run}`).digest();
  return (h.readBigUInt64BE(0) & 0x7fff_ffff_ffff_ffffn).toString();
}

interface HolderRow {
  holder: Omit<LockHolder, "url"> | string;
  backend_pid: number;
}

/** The session holding the run's lock now, with the facts it recorded (null: free, or not recorded yet). */
async function currentHolder(c: Client, key: string, url: string): Promise<{ holder: LockHolder | null; backendPid: number } | null> {
  const pid = await c.query<{ pid: number }>(
    `select pid from pg_locks where locktype = 'advisory' and granted and objsubid = 1 and ((classid::bigint << 32) | objid::bigint) = $1::bigint`,
    [key],
  );
  const backendPid = pid.rows[0]?.pid;
  if (backendPid === undefined) return null;
  const row = await c.query<HolderRow>(`select holder, backend_pid from ${RUN_LOCKS_TABLE} where lock_key = $1::bigint and backend_pid = $2`, [key, backendPid]);
  const raw = row.rows[0]?.holder;
  const h = (typeof raw === "string" ? JSON.parse(raw) : raw) as Omit<LockHolder, "url"> | undefined;
  return { holder: h ? { ...h, url } : null, backendPid };
}

export interface PostgresRunLockOptions {
  holder: Omit<LockHolder, "url">;
  wait?: boolean;
  forceUnlock?: boolean;
  onNotice?: (d: Diagnostic) => void;
  signal?: AbortSignal;
}

/** Takes the run's lock in the backend (see the file comment); returns its release. */
export async function acquirePostgresRunLock(backend: PostgresBackend, run: string, o: PostgresRunLockOptions): Promise<{ url: string; release: () => Promise<void> }> {
  const key = runLockKey(backend, run);
  const url = `${RUN_LOCKS_TABLE}/${run}`;
  const c = await connectPostgres(backend, { applicationName: `${o.holder.command ?? "dstack"} ${run}`.slice(0, 63) });
  let delay = 500;
  let waitingSince = 0;
  try {
    await c.query(CREATE_TABLE).catch((e: { code?: string }) => {
      if (e.code !== "23505" && e.code !== "42P07") throw e; // two first uses at once: the table is there
    });
    for (;;) {
      const got = await c.query<{ ok: boolean }>("select pg_try_advisory_lock($1::bigint) as ok", [key]);
      if (got.rows[0]?.ok) break;
      const now = await currentHolder(c, key, url);
      if (!now) continue; // released meanwhile
      if (o.forceUnlock) {
        await c.query("select pg_terminate_backend($1)", [now.backendPid]);
        if (now.holder) o.onNotice?.(forcedUnlockNotice(run, now.holder));
        await sleep(200, o.signal);
        continue;
      }
      if (!o.wait) throw beingUpdatedError(run, now.holder);
      if (waitingSince === 0 || Date.now() - waitingSince > 30_000) {
        waitingSince = Date.now();
        o.onNotice?.(waitingNotice(run, now.holder));
      }
      await sleep(delay, o.signal);
      delay = nextDelay(delay);
    }
    await c.query(
      `insert into ${RUN_LOCKS_TABLE} (lock_key, run, holder, backend_pid, updated_at) values ($1::bigint, $2, $3, pg_backend_pid(), now())
       on conflict (lock_key) do update set holder = excluded.holder, backend_pid = excluded.backend_pid, updated_at = now()`,
      [key, run, JSON.stringify(o.holder)],
    );
  } catch (e) {
    await c.end().catch(() => undefined);
    throw e;
  }
  let released: Promise<void> | null = null;
  // Ending the session releases the advisory lock; the row goes first (best effort: a row
  // whose session is gone is never reported, see currentHolder).
  const release = () =>
    (released ??= c
      .query(`delete from ${RUN_LOCKS_TABLE} where lock_key = $1::bigint and backend_pid = pg_backend_pid()`, [key])
      .then(() => undefined, () => undefined)
      .then(() => c.end().catch(() => undefined)));
  return { url, release };
}

/** Who holds the run's lock in the backend now (null: nobody). */
export async function readPostgresRunLock(backend: PostgresBackend, run: string): Promise<LockHolder | null> {
  const key = runLockKey(backend, run);
  return withPostgres(backend, async (c) => {
    const t = await c.query<{ t: string | null }>("select to_regclass($1)::text as t", [RUN_LOCKS_TABLE]);
    if (t.rows[0]?.t == null) return null;
    const now = await currentHolder(c, key, `${RUN_LOCKS_TABLE}/${run}`);
    if (!now) return null;
    return now.holder ?? { url: `${RUN_LOCKS_TABLE}/${run}`, pid: 0, hostname: "", username: "", since: "" };
  });
}

/** Ends the session that holds the run's lock (`dstack unlock`); true when there was one. */
export async function breakPostgresRunLock(backend: PostgresBackend, run: string): Promise<boolean> {
  const key = runLockKey(backend, run);
  return withPostgres(backend, async (c) => {
    const t = await c.query<{ t: string | null }>("select to_regclass($1)::text as t", [RUN_LOCKS_TABLE]);
    const now = t.rows[0]?.t == null ? null : await currentHolder(c, key, "");
    if (!now) return false;
    await c.query("select pg_terminate_backend($1)", [now.backendPid]);
    await c.query(`delete from ${RUN_LOCKS_TABLE} where lock_key = $1::bigint`, [key]);
    return true;
  });
}
