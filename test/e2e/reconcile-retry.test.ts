/**
 * Retry end to end on the local backend (issue 10, Done when 3 and 4): the real Pulumi engine,
 * Docker and sshd; faults come from outside (`docker kill`) or through the one seam
 * (DSTACK_FAULTS, docs/lifecycle.md):
 * - interruption: a container killed from outside comes back (a second attempt) with
 *   `retry: {on_events: [interruption]}`, and fails the run (interrupted) without it;
 * - no capacity: the first two offers have none, the run lands on the third; every offer
 *   failing, `up` retries with backoff until `retry.duration` ends, then the run fails (retry
 *   limit exceeded, exit 3) with its attempts recorded and nothing of them left in Docker.
 */
import * as fs from "fs";
import * as path from "path";
import { describeWhen } from "../support/requirements";
import { cleanup, docker, dstack, e2ePrerequisites, eventually, makeSandbox, ok, stopAgent, testId, writeConfig, type Sandbox } from "./helpers";

jest.setTimeout(900_000);

const id = testId();
const back = `e2e-back-${id}`;
const lost = `e2e-lost-${id}`;
const third = `e2e-third-${id}`;
const never = `e2e-never-${id}`;

interface View {
  name: string;
  status: string;
  termination_reason: string | null;
  price: number | null;
  attempts: number;
}

function view(sb: Sandbox, name: string): View | undefined {
  return (JSON.parse(ok(dstack(sb, ["ps", "-a", "--json"]), "ps -a")) as View[]).find((r) => r.name === name);
}

function containerId(name: string): string | null {
  const r = docker(["inspect", "-f", "{{.Id}} {{.State.Running}}", `dstack-${name}`]);
  if (r.status !== 0) return null;
  const [cid, running] = r.stdout.trim().split(" ");
  return running === "true" ? cid! : null;
}

const dev = (name: string, extra = "") => `type: dev-environment\nname: ${name}\nide: vscode\nresources:\n  disk: 1GB..\n${extra}`;

describeWhen(e2ePrerequisites, "retry: interruption and no capacity (local backend, real engine)", () => {
  let sb: Sandbox;
  let faults: string;
  beforeAll(() => {
    sb = makeSandbox("retry");
    faults = path.join(sb.root, "faults.json");
  });
  afterAll(() => {
    stopAgent(sb);
    for (const r of [back, lost, third, never]) dstack(sb, ["down", "--purge", "-y", r]);
    cleanup(sb, [back, lost, third, never]);
  });

  test("interruption with retry: a container killed from outside is running again within 30 s, a second attempt recorded", async () => {
    writeConfig(sb, dev(back, "retry:\n  on_events: [interruption]\n  duration: 10m\n"));
    ok(dstack(sb, ["up", "-y"]), "up");
    const first = containerId(back);
    expect(first).not.toBeNull();
    ok(docker(["kill", `dstack-${back}`]), "docker kill");
    expect(await eventually(() => {
      const now = containerId(back);
      return now !== null && now !== first;
    }, 30_000)).toBe(true);
    expect(await eventually(() => view(sb, back)?.status === "running", 60_000)).toBe(true);
    expect(view(sb, back)).toMatchObject({ status: "running", attempts: 2 });
  });

  test("interruption without retry: the run fails (interrupted)", async () => {
    writeConfig(sb, dev(lost));
    ok(dstack(sb, ["up", "-y"]), "up");
    ok(docker(["kill", `dstack-${lost}`]), "docker kill");
    // no agent for a run without time rules or retry: `ps` reconciles it lazily
    expect(await eventually(() => view(sb, lost)?.status === "failed", 60_000)).toBe(true);
    expect(view(sb, lost)).toMatchObject({ status: "failed", termination_reason: "interrupted", attempts: 1 });
    expect(docker(["inspect", `dstack-${lost}`]).status).not.toBe(0);
  });

  test("no capacity on the first two offers: the run lands on the third", () => {
    fs.writeFileSync(
      faults,
      JSON.stringify({ offers: [{ instance_type: "slot-1", price: 0.01 }, { instance_type: "slot-2", price: 0.02 }, { instance_type: "slot-3", price: 0.03 }], no_capacity: ["slot-1", "slot-2"] }),
    );
    sb.env.DSTACK_FAULTS = faults;
    try {
      writeConfig(sb, dev(third));
      ok(dstack(sb, ["up", "-y"]), "up");
      expect(view(sb, third)).toMatchObject({ status: "running", price: 0.03, attempts: 1 });
      expect(containerId(third)).not.toBeNull();
    } finally {
      delete sb.env.DSTACK_FAULTS;
    }
  });

  test("every offer failing: backoff until retry.duration ends, then failed (retry limit exceeded) with its attempts, nothing left", () => {
    fs.writeFileSync(faults, JSON.stringify({ offers: [{ instance_type: "slot-1", price: 0.01 }, { instance_type: "slot-2", price: 0.02 }], no_capacity: ["*"] }));
    sb.env.DSTACK_FAULTS = faults;
    try {
      writeConfig(sb, dev(never, "retry:\n  on_events: [no-capacity]\n  duration: 40s\n"));
      const r = dstack(sb, ["up", "-y"]);
      expect(r.status).toBe(3);
      expect(r.stderr).toContain("E6251");
      expect(r.stderr).toMatch(/retry limit exceeded after \d+ attempt/);
      expect(r.stdout + r.stderr).toMatch(/attempt 2 in 15s/); // the first backoff step
      const v = view(sb, never);
      expect(v).toMatchObject({ status: "failed", termination_reason: "retry_limit_exceeded" });
      expect(v!.attempts).toBeGreaterThanOrEqual(2);
      expect(docker(["ps", "-a", "-q", "--filter", `label=dstack.run=${never}`]).stdout.trim()).toBe("");
    } finally {
      delete sb.env.DSTACK_FAULTS;
    }
  });
});
