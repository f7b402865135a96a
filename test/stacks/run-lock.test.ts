import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ExitCode } from "../../src/diagnostics";
import { acquireRunLock, listRunLocks, readEngineLocks, runLockDir, unlockRun } from "../../src/stacks/run-lock";
import { lockPolicy } from "../../src/stacks/locks";
import { writeFileAtomicIfDifferent } from "../../src/paths";
import { projectFileText } from "../../src/stacks/project-file";

describe("dstack's run lock", () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-runlock-"));
    env = { DSTACK_HOME: home };
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  const writeHolder = (run: string, holder: object) => {
    fs.mkdirSync(runLockDir(env), { recursive: true });
    fs.writeFileSync(path.join(runLockDir(env), `${run}.json`), JSON.stringify(holder));
  };

  test("taken, recorded with the command, released; the policy applies to the engine lock meanwhile", async () => {
    const lock = await acquireRunLock("dev", { env, command: "dstack up", wait: true });
    expect((await listRunLocks("dev", env)).dstack).toMatchObject({ pid: process.pid, hostname: os.hostname(), command: "dstack up" });
    expect(lockPolicy("dev").wait).toBe(true);
    lock.release();
    lock.release();
    expect((await listRunLocks("dev", env)).dstack).toBeNull();
    expect(lockPolicy("dev")).toEqual({});
  });

  test("a second command on the same run: E4504 naming pid, host, time and command (exit 8)", async () => {
    const lock = await acquireRunLock("dev", { env, command: "dstack up" });
    const err = await acquireRunLock("dev", { env, command: "dstack down" }).catch((e) => e);
    lock.release();
    expect(err.exitCode).toBe(ExitCode.Busy);
    expect(err.diagnostics[0].code).toBe("E4504");
    expect(err.message).toMatch(new RegExp(`^run dev is being updated by pid ${process.pid} on host ${os.hostname()} since \\S+ \\(dstack up\\)$`));
  });

  test("a lock of a process that no longer exists is broken with a warning", async () => {
    writeHolder("dev", { pid: 2 ** 22 + 4321, hostname: os.hostname(), username: "u", since: "2025-01-01T00:00:00.000Z", command: "dstack up" });
    const notices: string[] = [];
    const lock = await acquireRunLock("dev", { env, command: "dstack down", onNotice: (d) => notices.push(`${d.code} ${d.severity} ${d.message}`) });
    expect(notices).toEqual([expect.stringMatching(/^E4505 warning run dev: removed a stale lock taken by pid \d+ on host .* \(dstack up\): process \d+ no longer exists$/)]);
    expect((await listRunLocks("dev", env)).dstack?.pid).toBe(process.pid);
    lock.release();
  });

  test("a live holder (a process of this host): waited for with --wait, broken with --force-unlock", async () => {
    const sleeper = spawn("sleep", ["30"]);
    try {
      writeHolder("dev", { pid: sleeper.pid, hostname: os.hostname(), username: "u", since: new Date(Date.now() + 1000).toISOString(), command: "dstack up" });
      await expect(acquireRunLock("dev", { env, command: "dstack up" })).rejects.toMatchObject({ exitCode: ExitCode.Busy });
      const notices: string[] = [];
      const waiting = acquireRunLock("dev", { env, command: "dstack up", wait: true, onNotice: (d) => notices.push(d.code) });
      await new Promise((r) => setTimeout(r, 800));
      sleeper.kill("SIGKILL");
      const lock = await waiting;
      expect(notices[0]).toBe("E4506");
      expect(notices).toContain("E4505"); // its process gone: broken
      lock.release();

      const other = spawn("sleep", ["30"]);
      writeHolder("dev", { pid: other.pid, hostname: os.hostname(), username: "u", since: new Date(Date.now() + 1000).toISOString(), command: "dstack up" });
      const forced: string[] = [];
      const l2 = await acquireRunLock("dev", { env, command: "dstack down", forceUnlock: true, onNotice: (d) => forced.push(d.message) });
      expect(forced[0]).toContain("--force-unlock removed the lock");
      l2.release();
      other.kill("SIGKILL");
    } finally {
      sleeper.kill("SIGKILL");
    }
  });

  test("another host's lock is never broken", async () => {
    writeHolder("dev", { pid: 1, hostname: "elsewhere", username: "u", since: "2025-01-01T00:00:00.000Z", command: "dstack up" });
    await expect(acquireRunLock("dev", { env, command: "dstack up" })).rejects.toThrow("run dev is being updated by pid 1 on host elsewhere since 2025-01-01T00:00:00.000Z (dstack up)");
  });

  test("Pulumi's lock files of a file:// backend are listed and removed by unlock", async () => {
    const lockDir = path.join(home, "state", ".pulumi", "locks", "organization", "dstack", "dev");
    fs.mkdirSync(lockDir, { recursive: true });
    fs.writeFileSync(path.join(lockDir, "0b7c.json"), JSON.stringify({ pid: 7, username: "u", hostname: "h", timestamp: "2025-01-01T00:00:00Z" }));
    writeHolder("dev", { pid: 8, hostname: "h", username: "u", since: "2025-01-01T00:00:00.000Z", command: "dstack up" });
    expect(readEngineLocks("dev", env)).toEqual([{ url: path.join(lockDir, "0b7c.json"), pid: 7, username: "u", hostname: "h", since: "2025-01-01T00:00:00Z" }]);
    const removed = await unlockRun("dev", env);
    expect(removed.dstack?.pid).toBe(8);
    expect(fs.readdirSync(lockDir)).toEqual([]);
    expect((await listRunLocks("dev", env))).toEqual({ dstack: null, engine: [] });
  });
});

describe("Pulumi.yaml", () => {
  test("written atomically, only when different; the URL quoted", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-project-"));
    const file = path.join(dir, "Pulumi.yaml");
    const text = projectFileText("dstack", "postgres://u:p@db:5432/state?sslmode=disable#x");
    expect(text).toBe('name: dstack\nruntime: nodejs\nbackend:\n  url: "postgres://u:p@db:5432/state?sslmode=disable#x"\n');
    expect(writeFileAtomicIfDifferent(file, text)).toBe(true);
    expect(writeFileAtomicIfDifferent(file, text)).toBe(false);
    expect(fs.readdirSync(dir)).toEqual(["Pulumi.yaml"]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
