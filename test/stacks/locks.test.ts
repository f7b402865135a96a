import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DstackError, ExitCode } from "../../src/diagnostics";
import {
  beingUpdatedError,
  engineLockDirOf,
  judgeHolder,
  lockFileOfUrl,
  parseLockHolders,
  removeLockFiles,
  withEngineLock,
  type LockHolder,
} from "../../src/stacks/locks";
import { dstackCommandOf, processFacts, statFields } from "../../src/stacks/process-info";

// The engine's text, as pkg/backend/diy/lock.go (v3.248.0) prints it.
const lockedText = (lines: string[]) =>
  "error: the stack is currently locked by " +
  lines.length +
  " lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.\n" +
  lines.map((l) => `  ${l}`).join("\n") +
  "\n";

describe("parseLockHolders", () => {
  test("every holder of a file:// and a postgres:// lock error", () => {
    const text = lockedText([
      "file:///home/u/.dstack/state/.pulumi/locks/organization/dstack/dev/0b7c.json: created by alice@box-1 (pid 4242) at 2025-03-01T10:20:30Z",
      "postgres://****:****@db:5432/state/.pulumi/locks/organization/dstack/dev/9f1e.json: created by CORP\\bob@corp.example@ci-7 (pid 17) at 2025-03-01T10:20:31+01:00",
    ]);
    expect(parseLockHolders(text)).toEqual([
      { url: "file:///home/u/.dstack/state/.pulumi/locks/organization/dstack/dev/0b7c.json", username: "alice", hostname: "box-1", pid: 4242, since: "2025-03-01T10:20:30Z" },
      { url: "postgres://****:****@db:5432/state/.pulumi/locks/organization/dstack/dev/9f1e.json", username: "CORP\\bob@corp.example", hostname: "ci-7", pid: 17, since: "2025-03-01T10:20:31+01:00" },
    ]);
  });
  test("no holders in other errors", () => {
    expect(parseLockHolders("error: [409] Conflict: Another update is currently in progress.")).toEqual([]);
  });
});

describe("judgeHolder (pure)", () => {
  const holder = { hostname: "box", pid: 42, since: "2025-03-01T10:00:00Z" };
  const t = Date.parse(holder.since);
  test("another host: remote, whatever this host knows", () => {
    expect(judgeHolder(holder, "other", { alive: false })).toEqual({ state: "remote" });
  });
  test("this host, process gone: stale", () => {
    expect(judgeHolder(holder, "box", { alive: false })).toMatchObject({ state: "stale", reason: "process 42 no longer exists" });
  });
  test("this host, pid reused by a process started after the lock: stale", () => {
    expect(judgeHolder(holder, "box", { alive: true, startedAtMs: t + 60_000 })).toMatchObject({ state: "stale" });
  });
  test("this host, the process that took it (started before, within the clock's slack): live", () => {
    expect(judgeHolder(holder, "box", { alive: true, startedAtMs: t - 5000 })).toEqual({ state: "live" });
    expect(judgeHolder(holder, "box", { alive: true, startedAtMs: t + 1500 })).toEqual({ state: "live" });
    expect(judgeHolder(holder, "box", { alive: true })).toEqual({ state: "live" });
  });
});

describe("process facts", () => {
  test("this process: alive, started before now, its argv", () => {
    const f = processFacts(process.pid);
    expect(f.alive).toBe(true);
    if (fs.existsSync("/proc/self/stat")) {
      expect(f.startedAtMs).toBeGreaterThan(Date.now() - process.uptime() * 1000 - 3000);
      expect(f.startedAtMs).toBeLessThan(Date.now() - process.uptime() * 1000 + 3000);
      expect(f.argv?.[0]).toContain("node");
      expect(f.ppid).toBe(process.ppid);
    }
  });
  test("an exited pid: not alive", async () => {
    const child = spawn("true");
    await new Promise((r) => child.on("exit", r));
    expect(processFacts(child.pid as number).alive).toBe(false);
  });
  test("stat fields after a command name with spaces and parentheses", () => {
    expect(statFields("123 (a b) c) S 1 123 123 0")).toEqual(["S", "1", "123", "123", "0"]);
  });
  test("the dstack command in a command line", () => {
    expect(dstackCommandOf(["/usr/bin/node", "/opt/dstack/bin/dstack", "up", "-y"])).toBe("dstack up -y");
    expect(dstackCommandOf(["node", "/repo/dist/cli.js", "down", "x"])).toBe("dstack down x");
    expect(dstackCommandOf(["sleep", "60"])).toBeNull();
  });
});

describe("lock files of a file:// backend", () => {
  test("the lock folder and file of a run", () => {
    expect(engineLockDirOf("/s/.pulumi/stacks/dstack", "dev")).toBe("/s/.pulumi/locks/organization/dstack/dev");
    expect(lockFileOfUrl("file:///s/.pulumi/locks/organization/dstack/dev/a%20b.json")).toBe("/s/.pulumi/locks/organization/dstack/dev/a b.json");
    expect(lockFileOfUrl("s3://bucket/.pulumi/locks/x.json")).toBeNull();
  });
  test("removes only files inside the run's lock folder", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-locks-"));
    const lockDir = path.join(dir, "locks", "organization", "dstack", "dev");
    fs.mkdirSync(lockDir, { recursive: true });
    const inside = path.join(lockDir, "a.json");
    const outside = path.join(dir, "other.json");
    fs.writeFileSync(inside, "{}");
    fs.writeFileSync(outside, "{}");
    const h = (url: string): LockHolder => ({ url, username: "u", hostname: "h", pid: 1, since: "" });
    expect(removeLockFiles(lockDir, [h(`file://${inside}`), h(`file://${outside}`)])).toBe(false);
    expect(fs.existsSync(inside) && fs.existsSync(outside)).toBe(true);
    expect(removeLockFiles(lockDir, [h(`file://${inside}`)])).toBe(true);
    expect(fs.existsSync(inside)).toBe(false);
    expect(removeLockFiles(null, [h(`file://${outside}`)])).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("withEngineLock: what to do about the engine's lock error", () => {
  const host = os.hostname();
  const lockError = (pid: number, since: string, hostname = host) =>
    Object.assign(new Error("code: 255"), { commandResult: { stderr: lockedText([`file:///s/.pulumi/locks/organization/dstack/dev/x.json: created by u@${hostname} (pid ${pid}) at ${since}`]) } });
  const deadPid = 2 ** 22 + 12345; // above pid_max's default: never a live process

  test("a stale holder on this host: broken, warned about, the operation retried", async () => {
    let calls = 0;
    const broken: LockHolder[][] = [];
    const notices: string[] = [];
    const result = await withEngineLock(
      "dev",
      async () => {
        if (calls++ === 0) throw lockError(deadPid, "2025-01-01T00:00:00Z");
        return "done";
      },
      { breakLocks: async (h) => void broken.push(h), policy: { onNotice: (d) => notices.push(`${d.code} ${d.message}`) } },
    );
    expect(result).toBe("done");
    expect(calls).toBe(2);
    expect(broken[0].map((h) => h.pid)).toEqual([deadPid]);
    expect(notices).toEqual([expect.stringMatching(new RegExp(`^E4505 run dev: removed a stale lock taken by pid ${deadPid} on host ${host} .*no longer exists`))]);
  });

  test("a live holder: E4504 naming pid, host, time and command, exit code Busy, nothing broken", async () => {
    const since = new Date(Date.now() + 1000).toISOString().replace(/\.\d+Z$/, "Z");
    const breakLocks = jest.fn(async () => undefined);
    const err = await withEngineLock("dev", async () => Promise.reject(lockError(process.pid, since)), { breakLocks, policy: {} }).catch((e) => e);
    expect(err).toBeInstanceOf(DstackError);
    expect(err.exitCode).toBe(ExitCode.Busy);
    expect(err.diagnostics[0].code).toBe("E4504");
    expect(err.message).toMatch(new RegExp(`^run dev is being updated by pid ${process.pid} on host ${host} since ${since} \\(.+\\)$`));
    expect(err.diagnostics[0].hint).toContain("dstack unlock dev");
    expect(breakLocks).not.toHaveBeenCalled();
  });

  test("another host: E4504 with its user, never broken", async () => {
    const breakLocks = jest.fn(async () => undefined);
    const err = await withEngineLock("dev", async () => Promise.reject(lockError(deadPid, "2025-01-01T00:00:00Z", "elsewhere")), { breakLocks, policy: {} }).catch((e) => e);
    expect(err.message).toBe(`run dev is being updated by pid ${deadPid} on host elsewhere since 2025-01-01T00:00:00Z (user u)`);
    expect(breakLocks).not.toHaveBeenCalled();
  });

  test("--force-unlock breaks a live holder's lock", async () => {
    let calls = 0;
    const breakLocks = jest.fn(async () => undefined);
    await withEngineLock("dev", async () => (calls++ === 0 ? Promise.reject(lockError(process.pid, new Date().toISOString())) : "ok"), { breakLocks, policy: { forceUnlock: true } });
    expect(breakLocks).toHaveBeenCalledTimes(1);
  });

  test("--wait polls until the holder is gone, with a notice", async () => {
    let calls = 0;
    const notices: string[] = [];
    const r = await withEngineLock("dev", async () => (calls++ < 2 ? Promise.reject(lockError(process.pid, new Date().toISOString())) : "ok"), {
      breakLocks: async () => undefined,
      policy: { wait: true, onNotice: (d) => notices.push(d.code) },
    });
    expect(r).toBe("ok");
    expect(calls).toBe(3);
    expect(notices).toEqual(["E4506"]);
  });

  test("creating: a stack that appeared meanwhile is a concurrent creation (E4504); other errors pass through", async () => {
    const exists = Object.assign(new Error("x"), { commandResult: { stderr: "error: stack 'organization/dstack/dev' already exists" } });
    const err = await withEngineLock("dev", async () => Promise.reject(exists), { breakLocks: async () => undefined, creating: true, policy: {} }).catch((e) => e);
    expect(err.diagnostics[0].code).toBe("E4504");
    expect(err.exitCode).toBe(ExitCode.Busy);
    const other = new Error("boom");
    await expect(withEngineLock("dev", async () => Promise.reject(other), { breakLocks: async () => undefined, policy: {} })).rejects.toBe(other);
  });

  test("the message without a known command names the user", () => {
    expect(beingUpdatedError("r", { url: "", username: "u", hostname: "h", pid: 1, since: "T" }).message).toBe("run r is being updated by pid 1 on host h since T (user u)");
  });
});
