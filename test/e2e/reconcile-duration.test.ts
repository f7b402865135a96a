/**
 * max_duration with no CLI running (issue 10, Done when 2), end to end on the local backend (the
 * real Pulumi engine, Docker, sshd): a dev environment with `max_duration: 20s` started with
 * `up -y --detach`, then no dstack command but `ps` to look:
 * - the detached agent tears it down: the container is gone within 60 s of `up` returning, and
 *   `ps -a` shows it terminated (max duration exceeded), its stack and record kept;
 * - again with the agent killed by `kill -9` right after `up`: the container's own watchdog
 *   still stops it at its deadline, and the next `ps` reaps the stack (and starts an agent again).
 */
import { describeWhen } from "../support/requirements";
import { agentPid, cleanup, containerState, docker, dstack, e2ePrerequisites, eventually, makeSandbox, ok, psAll, testId, writeConfig, type Sandbox } from "./helpers";

jest.setTimeout(600_000);

const id = testId();
const runA = `e2e-md-${id}`;
const runB = `e2e-mdk-${id}`;

interface View {
  name: string;
  status: string;
  termination_reason: string | null;
  reason: string | null;
  instance: string;
}

const config = (name: string) => `type: dev-environment\nname: ${name}\nide: vscode\nmax_duration: 20s\nresources:\n  disk: 1GB..\n`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describeWhen(e2ePrerequisites, "max_duration with no CLI running (local backend, real engine)", () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = makeSandbox("md");
  });
  afterAll(() => {
    const pid = agentPid(sb);
    if (pid && alive(pid)) process.kill(pid, "SIGTERM"); // the agent this suite's up started
    cleanup(sb, [runA, runB]);
  });

  test("up -y --detach, then nothing: the agent tears the run down at its deadline (terminated, max duration exceeded)", async () => {
    writeConfig(sb, config(runA));
    ok(dstack(sb, ["up", "-y", "--detach"]), "up --detach");
    // up started the detached agent (it takes its lock once node has loaded it)
    expect(await eventually(() => agentPid(sb) !== null, 20_000)).toBe(true);
    const pid = agentPid(sb);

    // no dstack command from here: the container goes within 60 s
    expect(await eventually(() => containerState(runA) === "gone", 60_000)).toBe(true);
    // the agent writes the record as its last step (the engine update that destroyed the container)
    expect(await eventually(() => psAll<View>(sb).find((r) => r.name === runA)?.status === "terminated", 60_000)).toBe(true);

    const view = psAll<View>(sb).find((r) => r.name === runA);
    expect(view).toMatchObject({ status: "terminated", termination_reason: "max_duration_exceeded" });
    expect(view?.reason).toMatch(/^max duration exceeded/);
    // the stack stays (its history too); the agent exits once nothing is left to manage
    expect(ok(dstack(sb, ["ps", "-a"]), "ps -a")).toContain("max duration exceeded");
    expect(await eventually(() => !alive(pid!), 30_000)).toBe(true);
  });

  test("the agent killed with kill -9 midway: the container still stops at its deadline, and the next ps reaps the stack", async () => {
    writeConfig(sb, config(runB));
    ok(dstack(sb, ["up", "-y", "--detach"]), "up --detach");
    expect(await eventually(() => agentPid(sb) !== null && alive(agentPid(sb)!), 20_000)).toBe(true);
    const pid = agentPid(sb);
    process.kill(pid!, "SIGKILL");
    expect(await eventually(() => !alive(pid!), 10_000)).toBe(true);

    // the in-container watchdog: stopped at the deadline with nobody watching
    expect(await eventually(() => containerState(runB) !== "running", 60_000)).toBe(true);
    const logs = docker(["logs", `dstack-${runB}`]);
    if (logs.status === 0) expect(logs.stdout + logs.stderr).toMatch(/\[dstack\] ended: max_duration|max_duration reached/);

    // the next ps reaps it: terminated (max duration exceeded), nothing left in Docker
    const listed = JSON.parse(ok(dstack(sb, ["ps", "--json"]), "ps")) as View[];
    expect(listed.find((r) => r.name === runB)).toBeUndefined();
    const view = psAll<View>(sb).find((r) => r.name === runB);
    expect(view).toMatchObject({ status: "terminated", termination_reason: "max_duration_exceeded" });
    expect(containerState(runB)).toBe("gone");
  });
});
