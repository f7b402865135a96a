/**
 * A team's shared state on PostgreSQL (DSTACK_STATE_URL=postgres://…, Pulumi's DIY postgres
 * backend), against a real server (scripts/postgres.sh), the real engine, Docker and OpenSSH:
 * two users — two DSTACK_HOMEs, one backend and one passphrase — see the same runs; one user's
 * `up` of a run the other is updating gets exit 8 (E4504, naming the holder) and leaves the
 * state intact; the second user's `audit` lists the first user's resources with owner and
 * expiry. Each run of this file has its own Pulumi table, dropped at the end.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import { describeWhen, postgresServer, postgresTestUrl } from "../support/requirements";
import { cleanup, dstack, dstackAsync, e2ePrerequisites, makeSandbox, ok, ssh, type Sandbox } from "./helpers";

jest.setTimeout(600_000);

const id = `${process.pid.toString(36)}${randomBytes(2).toString("hex")}`;
const run = `e2e-team-${id}`;
const table = `dstack_e2e_${id.replace(/[^a-z0-9]/g, "")}`;
const config = `type: dev-environment\nname: ${run}\nide: vscode\nresources:\n  disk: 1GB..\n`;

function stateUrl(): string {
  const u = new URL(postgresTestUrl);
  u.searchParams.set("table", table);
  return u.toString();
}

function user(owner: string): Sandbox {
  const sb = makeSandbox(`team-${owner}`);
  sb.env.DSTACK_STATE_URL = stateUrl();
  sb.env.PULUMI_CONFIG_PASSPHRASE = `team-passphrase-${id}`;
  sb.env.DSTACK_OWNER = owner;
  fs.writeFileSync(path.join(sb.project, ".dstack.yml"), config);
  return sb;
}

async function sql<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: postgresTestUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describeWhen([e2ePrerequisites, postgresServer], "team state on PostgreSQL (two users, one backend)", () => {
  let alice: Sandbox;
  let bob: Sandbox;
  beforeAll(() => {
    alice = user("alice");
    bob = user("bob");
  });
  afterAll(async () => {
    dstack(alice, ["down", run, "-y", "--purge"]);
    cleanup(alice, [run]);
    cleanup(bob, []);
    await sql((c) => c.query(`drop table if exists ${table}`)).catch(() => undefined);
  });

  test("alice's run, brought up with --ttl, is seen by both users in ps, with owner, ssh port and expiry", () => {
    const up = JSON.parse(ok(dstack(alice, ["up", "-y", "--json", "--ttl", "2h"]), "alice: up")) as Record<string, unknown>;
    expect(up).toMatchObject({ name: run, backend: "local", status: "running", owner: "alice", ssh_user: "root", projected_cost: 0 });
    expect(up.ide_url).toBe(`vscode://vscode-remote/ssh-remote+${run}/workflow`);
    expect(typeof up.ssh_port).toBe("number");
    expect(Date.parse(String(up.expires_at)) - Date.parse(String(up.created_at))).toBe(2 * 3600 * 1000);
    // the state is in the database, not in either DSTACK_HOME
    expect(fs.existsSync(path.join(alice.dstackHome, "state"))).toBe(false);
    const seen = [alice, bob].map((sb) => (JSON.parse(ok(dstack(sb, ["ps", "--json"]), "ps")) as Record<string, unknown>[]).find((r) => r.name === run));
    expect(seen[0]).toMatchObject({ name: run, owner: "alice", status: "running", ssh_port: up.ssh_port, expires_at: up.expires_at });
    expect(seen[1]).toEqual(seen[0]);
    expect(ssh(alice, run, "echo hello-from-$DSTACK_RUN_NAME").stdout.trim()).toBe(`hello-from-${run}`);
  });

  test("bob's up of the run while alice's up holds it: exit 8, E4504 naming alice's command; the state stays intact", async () => {
    // alice updates her run (a new env var: the container is replaced); bob tries meanwhile
    const changed = `${config}env:\n  - STAMP=${id}\n`;
    fs.writeFileSync(path.join(alice.project, ".dstack.yml"), changed);
    const child = dstackAsync(alice, ["up", "-y", "--ttl", "2h"]);
    let aliceErr = "";
    child.stderr?.on("data", (d: Buffer) => (aliceErr += d.toString()));
    const aliceDone = new Promise<number | null>((resolve) => child.on("close", resolve));
    // alice holds the run's lock in the database from planning to the end of her up
    let held = 0;
    for (let i = 0; i < 600 && held === 0; i++) {
      held = await sql(async (c) => {
        const t = await c.query("select to_regclass('dstack_run_locks')::text as t");
        if (!t.rows[0].t) return 0;
        return (await c.query("select 1 from dstack_run_locks l join pg_locks p on p.pid = l.backend_pid and p.locktype = 'advisory' and p.granted where l.run = $1", [run])).rowCount ?? 0;
      });
      if (held === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(held).toBe(1);
    const bobUp = dstack(bob, ["up", "-y", "--json"]);
    const aliceCode = await aliceDone;
    expect({ code: aliceCode, stderr: aliceCode === 0 ? "" : aliceErr }).toEqual({ code: 0, stderr: "" });
    expect(bobUp.status).toBe(8);
    const err = JSON.parse(bobUp.stdout) as { error: { code: string; message: string; exit_code: number } };
    expect(err.error.code).toBe("E4504");
    expect(err.error.exit_code).toBe(8);
    expect(err.error.message).toMatch(new RegExp(`^run ${run} is being updated by pid ${child.pid} on host \\S+ since \\S+ \\(dstack up\\)$`));
    // nothing of bob's attempt: no key of his for the run; alice's update is what the state holds
    expect(fs.existsSync(path.join(bob.dstackHome, "ssh", "keys", run))).toBe(false);
    const views = JSON.parse(ok(dstack(bob, ["ps", "--json"]), "bob: ps")) as Record<string, unknown>[];
    expect(views.find((r) => r.name === run)).toMatchObject({ status: "running", owner: "alice", instance: "running" });
    expect(ssh(alice, run, "echo $STAMP").stdout.trim()).toBe(id);
    const pending = await sql((c) => c.query(`select data from ${table} where key like $1`, [`%/.pulumi/stacks/dstack/${run}.json`]));
    const checkpoint = JSON.parse(Buffer.from((pending.rows[0].data as { data: string }).data, "base64").toString("utf8")) as { checkpoint: { latest: { pending_operations?: unknown[] } } };
    expect(checkpoint.checkpoint.latest.pending_operations ?? []).toEqual([]);
    // and no lock is left behind
    const locks = await sql((c) => c.query("select 1 from dstack_run_locks l join pg_locks p on p.pid = l.backend_pid and p.locktype = 'advisory' where l.run = $1", [run]));
    expect(locks.rowCount).toBe(0);
  });

  test("bob's audit lists alice's resources with owner and expiry, from the shared state", () => {
    const report = JSON.parse(ok(dstack(bob, ["audit", "--json", "--run", run]), "bob: audit")) as {
      runs: Record<string, unknown>[];
      resources: Record<string, unknown>[];
      stale_runs: unknown[];
    };
    const container = report.resources.find((r) => String(r.type).endsWith(":LocalContainer"));
    expect(container).toMatchObject({ run, owner: "alice", price_per_hour: 0 });
    expect(String(container!.provider_id)).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(String(container!.created))).toBeGreaterThan(0);
    const [theRun] = report.runs;
    expect(theRun).toMatchObject({ name: run, owner: "alice", backend: "local", instance: "running" });
    expect(report.resources.every((r) => r.run === run && r.owner === "alice" && r.expires_at === theRun.expires_at)).toBe(true);
    expect(Date.parse(String(theRun.expires_at))).toBeGreaterThan(Date.now());
    expect(report.stale_runs).toEqual([]);
    // the text form names the owner too
    expect(ok(dstack(bob, ["audit", "--run", run]), "bob: audit (text)")).toMatch(new RegExp(`${run}\\s+LocalContainer\\s+[0-9a-f]{24}\\s+alice`));
  });

  test("bob removes alice's run: down on the shared backend", () => {
    ok(dstack(bob, ["down", run, "-y", "--purge"]), "bob: down");
    const after = JSON.parse(ok(dstack(alice, ["ps", "-a", "--json"]), "alice: ps")) as { name: string }[];
    expect(after.map((r) => r.name)).not.toContain(run);
    expect(JSON.parse(ok(dstack(alice, ["audit", "--json", "--run", run]), "audit")).resources).toEqual([]);
  });
});
