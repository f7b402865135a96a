/**
 * The engine guard with a stand-in for pulumi (a Node script that, like the engine, starts a
 * "plugin" in a process group of its own and handles SIGINT): exit status and output pass
 * through, signals are forwarded, and when the guard's parent is SIGKILLed the whole session
 * is gone within the grace period.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { engineGuardScript, installEngineGuard } from "../../src/stacks/engine-guard";

const linux = fs.existsSync("/proc/self/stat") && spawnSync("sh", ["-c", "command -v setsid && command -v perl"]).status === 0;
const suite = linux ? describe : describe.skip;

const FAKE_PULUMI = `#!${process.execPath}
const { spawn } = require("child_process");
const fs = require("fs");
const [mode, log] = process.argv.slice(2);
// a plugin in a process group of its own, as the engine starts them (Setpgid)
spawn("perl", ["-e", "setpgrp(0,0); exec @ARGV", "sleep", "300"], { stdio: "ignore" });
process.on("SIGINT", () => {
  fs.appendFileSync(log, "SIGINT\\n");
  if (mode === "graceful") process.exit(130);
  // "stubborn": keeps running, so the guard has to SIGKILL it
});
fs.appendFileSync(log, "started\\n");
if (mode === "exit3") { process.stdout.write("hello from pulumi\\n"); process.exit(3); }
setInterval(() => undefined, 1000);
`;

function processesMarked(mark: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/environ`, "utf8").split("\0").includes(`GUARD_TEST=${mark}`)) out.push(Number(d));
    } catch {
      // gone, or not ours
    }
  }
  return out;
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return cond();
}

suite("engine guard", () => {
  let dir: string;
  let guard: string;
  let log: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-guard-"));
    const fake = path.join(dir, "pulumi");
    fs.writeFileSync(fake, FAKE_PULUMI, { mode: 0o755 });
    guard = installEngineGuard(path.join(dir, "bin"), fake);
    log = path.join(dir, "log");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("installs once, rewrites when the binary moves", () => {
    const mtime = fs.statSync(guard).mtimeMs;
    installEngineGuard(path.dirname(guard), path.join(dir, "pulumi"));
    expect(fs.statSync(guard).mtimeMs).toBe(mtime);
    installEngineGuard(path.dirname(guard), "/elsewhere/pulumi");
    expect(fs.readFileSync(guard, "utf8")).toBe(engineGuardScript("/elsewhere/pulumi"));
    expect(fs.statSync(guard).mode & 0o777).toBe(0o755);
  });

  test("output and exit status pass through, and it returns at once", () => {
    const t = Date.now();
    const r = spawnSync(guard, ["exit3", log], { encoding: "utf8" });
    expect(r.stdout).toBe("hello from pulumi\n");
    expect(r.status).toBe(3);
    expect(Date.now() - t).toBeLessThan(3000);
  });

  test("SIGINT to the guard reaches pulumi", async () => {
    const mark = `int-${process.pid}-${Date.now()}`;
    const child = spawn(guard, ["graceful", log], { env: { ...process.env, GUARD_TEST: mark }, stdio: "ignore" });
    expect(await until(() => fs.existsSync(log) && fs.readFileSync(log, "utf8").includes("started"), 10_000)).toBe(true);
    child.kill("SIGINT");
    const code = await new Promise((r) => child.on("exit", (c) => r(c)));
    expect(code).toBe(130);
    expect(fs.readFileSync(log, "utf8")).toContain("SIGINT");
    // the plugin (own process group) is left to the engine, as without the guard; clean up
    for (const pid of processesMarked(mark)) process.kill(pid, "SIGKILL");
  });

  test("a SIGKILLed parent: pulumi gets SIGINT, then nothing of the session remains after the grace period", async () => {
    const mark = `kill-${process.pid}-${Date.now()}`;
    // the stand-in for dstack: a shell that starts the guard and waits
    const parent = spawn("sh", ["-c", `${JSON.stringify(guard)} stubborn ${JSON.stringify(log)} & wait`], { env: { ...process.env, GUARD_TEST: mark }, stdio: "ignore" });
    // running: sh, guard, watchdog, pulumi (with its SIGINT handler: it logged "started") and its plugin
    const running = () => fs.existsSync(log) && fs.readFileSync(log, "utf8").includes("started") && processesMarked(mark).length >= 5;
    expect(await until(running, 20_000)).toBe(true);
    const before = processesMarked(mark).filter((p) => p !== parent.pid);
    process.kill(parent.pid as number, "SIGKILL");
    const t = Date.now();
    expect(await until(() => processesMarked(mark).length === 0, 12_000)).toBe(true);
    expect(Date.now() - t).toBeLessThan(8000);
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(fs.readFileSync(log, "utf8")).toContain("SIGINT");
  });
});
