/**
 * Pulumi's DIY PostgreSQL backend (`DSTACK_STATE_URL=postgres://…`, Pulumi ≥ 3.180) read
 * directly, as checkpoint.ts reads the file backend: so that `ps`, `audit` and the crash checks
 * on a team's shared state need no CLI run per stack.
 *
 * The layout is Pulumi's own (pkg/backend/diy/postgres, v3.248.0): one table (`pulumi_state`,
 * or the URL's `?table=`) of `(key TEXT PRIMARY KEY, data JSON, updated_at)`, where `key` is the
 * path a file backend would use (`.pulumi/stacks/dstack/<run>.json[.gz]`,
 * `.pulumi/locks/organization/dstack/<run>/<uuid>.json`) under the URL's path as a prefix
 * (pkg/backend/diy/backend.go: `blob.PrefixedBucket(bucket, "<database>/")`, so
 * `dstack_test/.pulumi/stacks/dstack/dev.json`), and `data` is `{"data": base64}`.
 * dstack only reads that table; every write goes through the engine. Its own table of run-lock
 * holders is in postgres-lock.ts.
 *
 * `pg` is required where it is used (not imported at the top): `ps` and `down` reach this
 * module on every backend, and only a postgres:// URL needs the driver.
 */
import * as zlib from "zlib";
import type { Client, ClientConfig } from "pg";
import { DstackError, ExitCode } from "../diagnostics";
import { DSTACK_PROJECT } from "../project";

export interface PostgresBackend {
  /** The connection string without Pulumi's own `table` parameter. */
  connectionString: string;
  /** Pulumi's state table (`?table=`, default `pulumi_state`). */
  table: string;
  /** The prefix of every key: the URL's path and a slash (`dstack_test/`), or "" for none. */
  prefix: string;
}

/** The PostgreSQL backend a state URL names, or null for any other backend (pure). */
export function postgresBackend(url: string): PostgresBackend | null {
  if (!/^postgres:\/\//i.test(url)) return null;
  const u = new URL(url);
  const table = u.searchParams.get("table") || "pulumi_state";
  u.searchParams.delete("table");
  // Pulumi passes the name into SQL as is (unquoted): only a plain identifier is read here.
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(table)) {
    throw new DstackError({ code: "E4520", severity: "error", message: `DSTACK_STATE_URL: the table name ${JSON.stringify(table)} is not a plain SQL identifier`, hint: "use letters, digits and _ (e.g. ?table=dstack_state)" }, ExitCode.Usage);
  }
  const dir = decodeURIComponent(u.pathname).replace(/^\/+/, "");
  return { connectionString: u.toString(), table, prefix: dir ? (dir.endsWith("/") ? dir : `${dir}/`) : "" };
}

/** The URL with its password masked, for messages (pure). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "****";
    return u.toString();
  } catch {
    return url.replace(/:\/\/[^@/]*@/, "://****@");
  }
}

/** A connected client (the caller ends it). E4521 when the server cannot be reached. */
export async function connectPostgres(backend: PostgresBackend, o: { applicationName?: string } = {}): Promise<Client> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only for postgres:// (see the file comment)
  const pg = require("pg") as typeof import("pg");
  const config: ClientConfig = { connectionString: backend.connectionString, application_name: o.applicationName ?? "dstack", connectionTimeoutMillis: 15_000 };
  const client = new pg.Client(config);
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => undefined);
    throw unreachable(backend, e);
  }
  // An idle connection that drops later (server restart) must not crash the process.
  client.on("error", () => undefined);
  return client;
}

function unreachable(backend: PostgresBackend, e: unknown): DstackError {
  return new DstackError(
    {
      code: "E4521",
      severity: "error",
      message: `cannot reach the state backend ${redactUrl(backend.connectionString)}: ${(e as Error).message ?? String(e)}`,
      hint: "check DSTACK_STATE_URL (host, port, user, password, database) and that the server runs",
    },
    ExitCode.Prerequisite,
  );
}

/** Runs `fn` with a client, ending it after. */
export async function withPostgres<T>(backend: PostgresBackend, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = await connectPostgres(backend);
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

const STACKS_DIR = `.pulumi/stacks/${DSTACK_PROJECT}/`;

/** Whether Pulumi's table exists yet (it is created by the engine's first use of the backend). */
async function tableExists(c: Client, table: string): Promise<boolean> {
  const r = await c.query<{ t: string | null }>("select to_regclass($1)::text as t", [table]);
  return r.rows[0]?.t != null;
}

/** A blob's bytes from Pulumi's `{"data": base64}` value (pure). */
export function blobBytes(data: unknown): Buffer {
  const d = (typeof data === "string" ? JSON.parse(data) : data) as { data?: string };
  return Buffer.from(d?.data ?? "", "base64");
}

/** Run names (stack names of project dstack) in the backend. */
export async function listStacksFromPostgres(backend: PostgresBackend): Promise<string[]> {
  return withPostgres(backend, async (c) => {
    if (!(await tableExists(c, backend.table))) return [];
    const dir = backend.prefix + STACKS_DIR;
    const r = await c.query<{ key: string }>(`select key from ${backend.table} where starts_with(key, $1)`, [dir]);
    const names = r.rows.map((x) => /^(.+)\.json(\.gz)?$/.exec(x.key.slice(dir.length))?.[1]).filter((n): n is string => !!n && !n.includes("/"));
    return [...new Set(names)].sort();
  });
}

/** The run's checkpoint (`{checkpoint: {latest}}`, parsed), or null when the stack does not exist. */
export async function readCheckpointFromPostgres(backend: PostgresBackend, run: string): Promise<unknown> {
  const docs = await readCheckpointsFromPostgres(backend, [run]);
  return docs.get(run) ?? null;
}

/** The checkpoints of several runs in one query (absent runs are missing from the map). */
export async function readCheckpointsFromPostgres(backend: PostgresBackend, runs: string[]): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  if (runs.length === 0) return out;
  return withPostgres(backend, async (c) => {
    if (!(await tableExists(c, backend.table))) return out;
    const dir = backend.prefix + STACKS_DIR;
    const keys = runs.flatMap((r) => [`${dir}${r}.json`, `${dir}${r}.json.gz`]);
    const r = await c.query<{ key: string; data: unknown }>(`select key, data from ${backend.table} where key = any($1)`, [keys]);
    for (const row of r.rows) {
      const m = /^(.+)\.json(\.gz)?$/.exec(row.key.slice(dir.length));
      if (!m) continue;
      const bytes = blobBytes(row.data);
      out.set(m[1], JSON.parse((m[2] ? zlib.gunzipSync(bytes) : bytes).toString("utf8")) as unknown);
    }
    return out;
  });
}

/** The text of a stack's `.pulumi-tags` blob; "" for a stack without tags, null for no such stack. */
export async function readTagsTextFromPostgres(backend: PostgresBackend, run: string): Promise<string | null> {
  return withPostgres(backend, async (c) => {
    if (!(await tableExists(c, backend.table))) return null;
    const dir = backend.prefix + STACKS_DIR;
    const r = await c.query<{ key: string; data: unknown }>(`select key, data from ${backend.table} where key = any($1)`, [[`${dir}${run}.json`, `${dir}${run}.json.gz`, `${dir}${run}.pulumi-tags`]]);
    const tags = r.rows.find((row) => row.key.endsWith(".pulumi-tags"));
    if (tags) return blobBytes(tags.data).toString("utf8");
    return r.rows.length ? "" : null;
  });
}

/** Pulumi's lock records of a run (`{pid, username, hostname, timestamp}` each, with their keys). */
export async function readEngineLocksFromPostgres(backend: PostgresBackend, run: string): Promise<{ key: string; lock: Record<string, unknown> }[]> {
  return withPostgres(backend, async (c) => {
    if (!(await tableExists(c, backend.table))) return [];
    const prefix = `${backend.prefix}.pulumi/locks/organization/${DSTACK_PROJECT}/${run}/`;
    const r = await c.query<{ key: string; data: unknown }>(`select key, data from ${backend.table} where starts_with(key, $1)`, [prefix]);
    return r.rows
      .filter((row) => row.key.endsWith(".json") && !row.key.slice(prefix.length).includes("/"))
      .map((row) => {
        try {
          return { key: row.key, lock: JSON.parse(blobBytes(row.data).toString("utf8")) as Record<string, unknown> };
        } catch {
          return { key: row.key, lock: {} };
        }
      });
  });
}
