/**
 * dstack's run lock on a PostgreSQL state backend (src/stacks/postgres-lock.ts), against a real
 * server (scripts/postgres.sh): two DSTACK_HOMEs sharing the backend serialize on a run; the
 * holder is named (E4504, exit 8); a killed holder frees the run at once; `--wait`,
 * `--force-unlock` and `dstack unlock`. Each test has its own Pulumi table name, so its locks
 * are its own.
 */
import { spawn } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { ExitCode } from "../../src/diagnostics";
import { acquireRunLock, listRunLocks, unlockRun } from "../../src/stacks/run-lock";
import { postgresBackend, redactUrl } from "../../src/stacks/postgres-state";
import { RUN_LOCKS_TABLE } from "../../src/stacks/postgres-lock";
import { available, describeWhen, postgresServer, postgresTestUrl, pulumiCli } from "../support/requirements";

const repoRoot = path.resolve(__dirname, "..", "..");

function userEnv(url: string): NodeJS.ProcessEnv {
  return { DSTACK_HOME: fs.mkdtempSync(path.join(os.tmpdir(), "dstack-pglock-")), DSTACK_STATE_URL: url, PULUMI_CONFIG_PASSPHRASE: "team" };
}

describe("postgres backend URLs (pure)", () => {
  test("the table parameter is Pulumi's; other backends are not postgres; passwords are masked", () => {
    expect(postgresBackend("postgres://u:p@h:5432/db?sslmode=disable&table=team_state")).toEqual({ connectionString: "postgres://u:p@h:5432/db?sslmode=disable", table: "team_state", prefix: "db/" });
    expect(postgresBackend("postgres://u:p@h/db")?.table).toBe("pulumi_state");
    expect(postgresBackend("file:///tmp/x")).toBeNull();
    expect(() => postgresBackend("postgres://h/db?table=x;drop")).toThrow(expect.objectContaining({ exitCode: ExitCode.Usage }));
    expect(redactUrl("postgres://u:secret@h/db")).toBe("postgres://u:****@h/db");
  });
});

describeWhen(postgresServer, "dstack's run lock on a shared PostgreSQL backend", () => {
  let url: string;
  let alice: NodeJS.ProcessEnv;
  let bob: NodeJS.ProcessEnv;
  beforeEach(() => {
    const u = new URL(postgresTestUrl);
    u.searchParams.set("table", `dstack_lock_${randomBytes(4).toString("hex")}`);
    url = u.toString();
    alice = userEnv(url);
    bob = userEnv(url);
  });
  afterEach(() => {
    for (const e of [alice, bob]) fs.rmSync(e.DSTACK_HOME!, { recursive: true, force: true });
  });

  test("two DSTACK_HOMEs serialize on one run: the second gets E4504 (exit 8) naming the holder; after release it gets the lock", async () => {
    const lock = await acquireRunLock("shared", { env: alice, command: "dstack up" });
    const err = await acquireRunLock("shared", { env: bob, command: "dstack up" }).catch((e) => e);
    expect(err.exitCode).toBe(ExitCode.Busy);
    expect(err.diagnostics[0].code).toBe("E4504");
    expect(err.message).toMatch(new RegExp(`^run shared is being updated by pid ${process.pid} on host ${os.hostname()} since \\S+ \\(dstack up\\)$`));
    // another run is not locked
    const other = await acquireRunLock("other", { env: bob, command: "dstack up" });
    await other.released();
    expect((await listRunLocks("shared", bob)).dstack).toMatchObject({ pid: process.pid, command: "dstack up" });
    lock.release();
    await lock.released();
    expect((await listRunLocks("shared", bob)).dstack).toBeNull();
    const second = await acquireRunLock("shared", { env: bob, command: "dstack down" });
    expect((await listRunLocks("shared", alice)).dstack).toMatchObject({ command: "dstack down" });
    await second.released();
  });

  test("--wait waits for the holder, with a notice; --force-unlock ends the holder's session", async () => {
    const lock = await acquireRunLock("shared", { env: alice, command: "dstack up" });
    const notices: string[] = [];
    const waiting = acquireRunLock("shared", { env: bob, command: "dstack up", wait: true, onNotice: (d) => notices.push(d.code) });
    // the waiter has said it waits before the holder lets go
    for (let i = 0; i < 100 && notices.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(notices).toEqual(["E4506"]);
    await lock.released();
    const got = await waiting;
    const forced: string[] = [];
    const thief = await acquireRunLock("shared", { env: alice, command: "dstack down", forceUnlock: true, onNotice: (d) => forced.push(d.code) });
    expect(forced).toEqual(["E4505"]);
    expect((await listRunLocks("shared", bob)).dstack).toMatchObject({ command: "dstack down" });
    await Promise.all([got.released(), thief.released()]);
  });

  test("a holder killed with SIGKILL leaves no lock: the server ends its session", async () => {
    // another process takes the lock through the same code, built (dist/)
    const dist = path.join(repoRoot, "dist", "src", "stacks", "run-lock.js");
    if (!fs.existsSync(dist)) throw new Error("dist/ is not built (npm run build)");
    const child = spawn(process.execPath, ["-e", `require(${JSON.stringify(dist)}).acquireRunLock("shared", { env: { ...process.env }, command: "dstack up" }).then(() => console.log("locked"))`], {
      env: { ...process.env, ...alice },
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (b: Buffer) => b.toString().includes("locked") && resolve());
      child.on("exit", (code) => reject(new Error(`the holder exited ${code}`)));
    });
    await expect(acquireRunLock("shared", { env: bob, command: "dstack up" })).rejects.toMatchObject({ exitCode: ExitCode.Busy });
    child.kill("SIGKILL");
    await new Promise((r) => child.on("close", r));
    const lock = await acquireRunLock("shared", { env: bob, command: "dstack up", wait: true });
    await lock.released();
  });

  test("dstack unlock (by the other user) ends the holder's session and removes its row", async () => {
    if (!available(pulumiCli, "dstack unlock runs `pulumi cancel`")) return;
    const lock = await acquireRunLock("shared", { env: alice, command: "dstack up" });
    const found = await unlockRun("shared", bob);
    expect(found.dstack).toMatchObject({ pid: process.pid, command: "dstack up" });
    expect(found.engine).toBeUndefined();
    const c = new Client({ connectionString: postgresBackend(url)!.connectionString });
    await c.connect();
    try {
      const rows = await c.query(`select run from ${RUN_LOCKS_TABLE} where run = 'shared' and backend_pid in (select pid from pg_stat_activity)`);
      expect(rows.rowCount).toBe(0);
    } finally {
      await c.end();
    }
    const again = await acquireRunLock("shared", { env: bob, command: "dstack up" });
    await Promise.all([again.released(), lock.released()]);
  });
});
