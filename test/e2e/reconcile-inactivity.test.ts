/**
 * inactivity_duration end to end (issue 10, Done when 5): a dev environment with
 * `inactivity_duration: 30s` on the local backend (the real engine, Docker, sshd in the container,
 * the stock OpenSSH client with dstack's generated config). An open `ssh` session keeps it alive
 * past 30 s; once the session is closed and no other opens for 30 s, the run ends (terminated,
 * inactivity) and its container is removed.
 */
import { spawn } from "child_process";
import { describeWhen } from "../support/requirements";
import { cleanup, docker, dstack, e2ePrerequisites, eventually, makeSandbox, ok, testId, writeConfig, type Sandbox } from "./helpers";

jest.setTimeout(600_000);

const id = testId();
const run = `e2e-idle-${id}`;

interface View {
  name: string;
  status: string;
  termination_reason: string | null;
}

function view(sb: Sandbox): View | undefined {
  return (JSON.parse(ok(dstack(sb, ["ps", "-a", "--json"]), "ps -a")) as View[]).find((r) => r.name === run);
}

function running(): boolean {
  const r = docker(["inspect", "-f", "{{.State.Running}}", `dstack-${run}`]);
  return r.status === 0 && r.stdout.trim() === "true";
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWhen(e2ePrerequisites, "inactivity_duration (local backend, real engine, OpenSSH)", () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = makeSandbox("idle");
  });
  afterAll(() => {
    dstack(sb, ["down", "--purge", "-y", run]);
    cleanup(sb, [run]);
  });

  test("an open ssh session keeps the run alive; with none for 30 s it ends (terminated, inactivity)", async () => {
    writeConfig(sb, `type: dev-environment\nname: ${run}\nide: vscode\ninactivity_duration: 30s\nresources:\n  disk: 1GB..\n`);
    ok(dstack(sb, ["up", "-y"]), "up");
    // a session held open (the stock client, dstack's config) for longer than inactivity_duration
    const session = spawn("ssh", ["-F", sb.sshConfig, "-o", "BatchMode=yes", run, "echo open; sleep 55"], { env: sb.env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    session.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const closed = new Promise<void>((resolve) => session.on("exit", () => resolve()));
    try {
      expect(await eventually(() => out.includes("open"), 30_000)).toBe(true);
      await sleep(45_000); // past inactivity_duration, with the session open
      expect(running()).toBe(true);
      expect(view(sb)?.status).toBe("running");
    } finally {
      session.kill("SIGTERM");
      await closed;
    }
    // no session from now: the run ends after 30 s (and the poll of the agent or of the watchdog)
    expect(await eventually(() => view(sb)?.status === "terminated", 120_000)).toBe(true);
    expect(view(sb)).toMatchObject({ status: "terminated", termination_reason: "inactivity" });
    expect(await eventually(() => docker(["inspect", `dstack-${run}`]).status !== 0, 30_000)).toBe(true);
  });
});
