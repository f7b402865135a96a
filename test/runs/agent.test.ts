/**
 * The agent's lifecycle without the engine: one per DSTACK_HOME and state backend (its lock is
 * dstack's run lock of the pseudo-run `.agent`), a second one exits at once, a lock left by a
 * killed agent is stale and broken by the next, and the loop exits once no managed run is left.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { AGENT_LOCK, agentLogFile, agentState, runAgent } from "../../src/runs/agent";
import { localHostname } from "../../src/stacks/process-info";
import { runLockDir } from "../../src/stacks/run-lock";

function home(): NodeJS.ProcessEnv {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-agent-"));
  return { ...process.env, DSTACK_HOME: dir, DSTACK_STATE_URL: "" };
}

test("the loop looks until no managed run is left, then releases its lock", async () => {
  const env = home();
  let looks = 0;
  const seen: boolean[] = [];
  const r = await runAgent(async () => {
    looks++;
    seen.push((await agentState(env)).running);
    return { managed: looks < 3 ? 1 : 0, requeue_ms: 0 };
  }, { env });
  expect(r).toBe("idle");
  expect(looks).toBe(3);
  expect(seen).toEqual([true, true, true]); // its lock is held while it runs
  expect(await agentState(env)).toEqual({ running: false });
  expect(fs.existsSync(path.join(runLockDir(env), `${AGENT_LOCK}.json`))).toBe(false);
});

test("one agent per DSTACK_HOME and state backend: a second one exits at once", async () => {
  const env = home();
  let release!: () => void;
  const blocked = new Promise<void>((r) => (release = r));
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const first = runAgent(async () => {
    started();
    await blocked;
    return { managed: 0, requeue_ms: null };
  }, { env });
  await running;
  expect(await runAgent(async () => ({ managed: 1, requeue_ms: 0 }), { env })).toBe("already-running");
  // another state backend under the same DSTACK_HOME has its own agent
  expect(await runAgent(async () => ({ managed: 0, requeue_ms: null }), { env: { ...env, DSTACK_STATE_URL: "file:///tmp/other-state" } })).toBe("idle");
  release();
  expect(await first).toBe("idle");
});

test("a lock left by a killed agent is stale: the next agent breaks it", async () => {
  const env = home();
  const dir = runLockDir(env);
  fs.mkdirSync(dir, { recursive: true });
  // a pid that no longer exists on this host
  fs.writeFileSync(path.join(dir, `${AGENT_LOCK}.json`), JSON.stringify({ pid: 2 ** 22 + 7, hostname: localHostname(), username: "u", since: new Date().toISOString(), command: "dstack agent" }));
  expect(await agentState(env)).toMatchObject({ running: false, stale: true });
  const notices: string[] = [];
  expect(await runAgent(async () => ({ managed: 0, requeue_ms: null }), { env, log: (l) => notices.push(l) })).toBe("idle");
  expect(notices.join("\n")).toMatch(/stale lock/);
});

test("errors of one look do not end the agent; its log lives under DSTACK_HOME", async () => {
  const env = home();
  let looks = 0;
  const lines: string[] = [];
  const r = await runAgent(async () => {
    looks++;
    if (looks === 1) throw new Error("state unreadable for a moment");
    return { managed: 0, requeue_ms: null };
  }, { env, log: (l) => lines.push(l) });
  expect(r).toBe("idle");
  expect(lines.some((l) => l.includes("error: state unreadable"))).toBe(true);
  expect(agentLogFile(env).startsWith(env.DSTACK_HOME!)).toBe(true);
});
