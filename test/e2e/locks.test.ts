/**
 * Locks and engine processes after a crash, with the real engine and Docker (local backend,
 * file:// state): a stale Pulumi lock (dead pid) and a stale dstack run lock are broken with a
 * warning; a live holder gives E4504 / exit 8 naming it, and `dstack unlock` clears it; a
 * `dstack up` killed with SIGKILL in the middle of the engine leaves no process behind, and
 * the next `dstack down` succeeds.
 */
import { spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describeWhen } from "../support/requirements";
import { cleanup, dstack, dstackAsync, e2ePrerequisites, makeSandbox, ok, testId, writeConfig, type Sandbox } from "./helpers";


jest.setTimeout(600_000);

const id = testId();
const run = `e2e-lock-${id}`;
const killed = `e2e-kill-${id}`;
const config = (name: string) => `type: dev-environment\nname: ${name}\nide: vscode\nresources:\n  disk: 1GB..\n`;
const DEAD_PID = 4194000; // above the default pid_max (4194304 is the maximum): no live process has it

/** Processes started for this sandbox (their environment names its DSTACK_HOME), with their command lines. */
function sandboxProcesses(sb: Sandbox): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!fs.readFileSync(`/proc/${d}/environ`, "utf8").split("\0").includes(`DSTACK_HOME=${sb.dstackHome}`)) continue;
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      if (/\) [ZX] /.test(stat)) continue;
      out.push({ pid: Number(d), cmd: fs.readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").join(" ").trim() });
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return out;
}

async function until(cond: () => boolean, ms: number, step = 200): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, step));
  }
  return cond();
}

function pulumiLockDir(sb: Sandbox, name: string): string {
  return path.join(sb.dstackHome, "state", ".pulumi", "locks", "organization", "dstack", name);
}

function writePulumiLock(sb: Sandbox, name: string, pid: number, timestamp: string): string {
  const dir = pulumiLockDir(sb, name);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "5a1e0000-0000-4000-8000-000000000000.json");
  // the JSON Pulumi writes (pkg/backend/diy/lock.go lockContent)
  fs.writeFileSync(file, JSON.stringify({ pid, username: os.userInfo().username, hostname: os.hostname(), timestamp }));
  return file;
}

describeWhen(e2ePrerequisites, "locks and engine processes after a crash (real engine)", () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = makeSandbox("locks");
    writeConfig(sb, config(run));
    writeConfig(sb, config(killed), "killed.dstack.yml");
  });
  afterAll(() => cleanup(sb, [run, killed]));

  test("a stale Pulumi lock (its process is gone): the next down breaks it with a warning and succeeds", () => {
    ok(dstack(sb, ["up", "-y", "-d", "-f", ".dstack.yml"]), "dstack up");
    const lock = writePulumiLock(sb, run, DEAD_PID, "2025-01-01T00:00:00Z");
    const r = dstack(sb, ["down", run, "-y"]);
    ok(r, "dstack down");
    expect(r.stderr).toMatch(new RegExp(`warning: run ${run}: removed a stale lock taken by pid ${DEAD_PID} on host ${os.hostname()} .*no longer exists \\[E4505\\]`));
    expect(fs.existsSync(lock)).toBe(false);
    expect(r.stdout).toContain(`${run} stopped (terminated: stopped by user)`);
  });

  test("a stale dstack run lock: the next up breaks it with a warning and succeeds", () => {
    const dir = path.join(sb.dstackHome, "locks");
    // the lock folder is per state URL: take it from a lock dstack itself takes
    ok(dstack(sb, ["up", "-y", "-d", "-f", ".dstack.yml"]), "dstack up");
    const [hash] = fs.readdirSync(dir);
    fs.writeFileSync(path.join(dir, hash, `${run}.json`), JSON.stringify({ pid: DEAD_PID, hostname: os.hostname(), username: "u", since: "2025-01-01T00:00:00.000Z", command: "dstack up" }));
    const r = dstack(sb, ["up", "-y", "-d", "-f", ".dstack.yml"]);
    ok(r, "dstack up (no-op)");
    expect(r.stderr).toContain(`removed a stale lock taken by pid ${DEAD_PID}`);
    expect(r.stderr).toContain("(dstack up): process");
    expect(fs.existsSync(path.join(dir, hash, `${run}.json`))).toBe(false); // released at the end
  });

  test("a live holder: E4504 naming it, exit 8; dstack unlock clears it and down succeeds", () => {
    const sleeper: ChildProcess = spawn("sleep", ["120"], { stdio: "ignore" });
    try {
      const since = new Date(Date.now() + 1000).toISOString().replace(/\.\d+Z$/, "Z");
      const lock = writePulumiLock(sb, run, sleeper.pid as number, since);
      const r = dstack(sb, ["down", run, "-y"]);
      expect(r.status).toBe(8);
      expect(r.stderr).toContain(`error: run ${run} is being updated by pid ${sleeper.pid} on host ${os.hostname()} since ${since} (sleep 120) [E4504]`);
      expect(r.stderr).toContain(`dstack unlock ${run}`);
      const json = dstack(sb, ["down", run, "-y", "--json"]);
      expect(json.status).toBe(8);
      expect(JSON.parse(json.stdout).error).toMatchObject({ code: "E4504", exit_code: 8 });

      const u = dstack(sb, ["unlock", run, "-y"]);
      ok(u, "dstack unlock");
      expect(u.stdout).toContain(`removed Pulumi's lock of ${run}: pid ${sleeper.pid}`);
      expect(fs.existsSync(lock)).toBe(false);
      ok(dstack(sb, ["down", run, "-y"]), "dstack down after unlock");
      expect(ok(dstack(sb, ["unlock", run]), "dstack unlock (nothing)")).toContain(`${run} was not locked.`);
    } finally {
      sleeper.kill("SIGKILL");
    }
  });

  test("kill -9 of dstack up while the engine runs: no engine process left after 10 s; down then succeeds", async () => {
    const child = dstackAsync(sb, ["up", "-y", "-f", "killed.dstack.yml"]);
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const started = Date.now();
    // kill once the engine is running (a pulumi process of this sandbox), at least 1.5 s in
    const engineUp = await until(() => sandboxProcesses(sb).some((p) => /pulumi/.test(p.cmd) && !/ version$/.test(p.cmd)), 60_000, 100);
    expect(engineUp).toBe(true);
    await new Promise((r) => setTimeout(r, Math.max(0, 1500 - (Date.now() - started))));
    const during = sandboxProcesses(sb).map((p) => p.cmd);
    process.kill(child.pid as number, "SIGKILL");
    const gone = await until(() => sandboxProcesses(sb).length === 0, 10_000);
    const left = sandboxProcesses(sb);
    expect({ gone, left, during: during.length > 0 }).toEqual({ gone: true, left: [], during: true });

    const d = dstack(sb, ["down", killed, "-y"]);
    ok(d, `dstack down after kill -9 (up's stderr: ${stderr})`);
    expect(fs.existsSync(pulumiLockDir(sb, killed)) ? fs.readdirSync(pulumiLockDir(sb, killed)) : []).toEqual([]);
  });
});
