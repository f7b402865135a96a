/**
 * `dstack up -b aws` end to end against the emulated AWS (test/emulator/aws, a real provider
 * plugin installed into the sandbox's PULUMI_HOME): the real Pulumi engine runs the real AWS
 * program; the instance is a container on the local Docker running the program's real user
 * data (cloud-init's files, boot.sh, entry.sh); the stock OpenSSH client reaches it through
 * the host key dstack generated and pinned. Also the prerequisites: E3030 without the plugin
 * (this machine is offline), E3031 without credentials, and nothing written to the state.
 */
import * as fs from "fs";
import * as path from "path";
import { describeWhen } from "../support/requirements";
import { account, awsSandbox, docker, dstack, e2ePrerequisites, emulatedContainers, ok, ssh, stackFiles, stackResourceTypes, stopAgent, writeConfig, type Sandbox } from "./helpers";

jest.setTimeout(900_000);

const id = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;

const devConfig = (name: string) => `type: dev-environment
name: ${name}
env:
  - GREETING=hello from aws
resources:
  cpu: 2..
  memory: 4GB..
  disk: 1GB..
`;

describeWhen(e2ePrerequisites, "dstack up -b aws against the emulated AWS (real engine, real OpenSSH)", () => {
  const run = `aws-dev-${id}`;
  let sb: Sandbox & { account: string };
  beforeAll(() => {
    sb = awsSandbox("cloud-aws");
    fs.writeFileSync(path.join(sb.project, "hello.txt"), "hi from the repo\n");
    fs.writeFileSync(path.join(sb.project, ".gitignore"), "secret.txt\n");
    fs.writeFileSync(path.join(sb.project, ".dstackignore"), "data/\n");
    fs.writeFileSync(path.join(sb.project, "secret.txt"), "not for the cloud\n");
    fs.mkdirSync(path.join(sb.project, "data"));
    fs.writeFileSync(path.join(sb.project, "data", "big.bin"), "x".repeat(1000));
    writeConfig(sb, devConfig(run));
  });
  afterAll(() => {
    if (!sb) return;
    for (const c of emulatedContainers(sb)) docker(["rm", "-f", c]);
    docker(["rm", "-f", `dstack-run-${run}`]);
    fs.rmSync(sb.root, { recursive: true, force: true });
  });

  test("dev environment: up reaches SSH through the pinned host key; the repo's files are in /workflow; env vars set", () => {
    // preview: the engine's real diff against the (emulated) cloud, and nothing made
    const pv = ok(dstack(sb, ["preview", "-b", "aws"]), "dstack preview -b aws");
    for (const r of ["key", "sg", "instance"]) expect(pv).toMatch(new RegExp(`\\+\\s+create\\s+dstack-${run}-${r}\\b`));
    expect(pv).toContain("3 to create");
    expect(Object.keys(account(sb).instances)).toEqual([]);
    expect(stackFiles(sb)).toEqual([]);

    const out0 = ok(dstack(sb, ["up", "-b", "aws", "-y"]), "dstack up -b aws");
    // hello.txt, .gitignore, .dstackignore, .dstack.yml: not secret.txt, not data/
    expect(out0).toContain("Uploaded the repo to /workflow: 4 files, 0.0 MB.");
    expect(out0).toMatch(new RegExp(`${run} is up \\(ssh on 127\\.0\\.0\\.\\d+:10022\\)`));
    const record = JSON.parse(ok(dstack(sb, ["ps", "--json"]), "dstack ps --json")).find((x: { name: string }) => x.name === run);
    expect(record).toMatchObject({ name: run, backend: "aws" });
    expect(record.ssh_host).toMatch(/^127\.0\.0\.\d+$/);

    // the host key dstack generated is the one pinned, and the one sshd presents (StrictHostKeyChecking yes)
    const hostPub = fs.readFileSync(path.join(sb.dstackHome, "ssh", `host_${run}.pub`), "utf8").trim().split(" ").slice(0, 2).join(" ");
    expect(fs.readFileSync(path.join(sb.dstackHome, "ssh", "known_hosts"), "utf8")).toContain(`${run} ${hostPub}`);
    expect(fs.readFileSync(sb.sshConfig, "utf8")).toContain("StrictHostKeyChecking yes");

    const out = ok(ssh(sb, run, "ls -A /workflow; cat /workflow/hello.txt; bash -lc 'echo G=$GREETING; echo RUN=$DSTACK_RUN_NAME'; tr '\\0' '\\n' < /proc/1/environ | grep -c '^GREETING=hello from aws$'"), "ssh");
    expect(out).toContain("hi from the repo");
    expect(out).toContain(".dstack-uploaded");
    expect(out).not.toContain("secret.txt"); // .gitignore'd
    expect(out).not.toMatch(/^data$/m); // .dstackignore'd
    expect(out).toContain("G=hello from aws");
    expect(out).toContain(`RUN=${run}`);
    expect(out.trim().split("\n").pop()).toBe("1");

    // the emulated account holds what the program made
    const acct = account(sb);
    expect(Object.keys(acct.instances)).toHaveLength(1);
    expect(Object.keys(acct.securityGroups)).toHaveLength(1);
    expect(Object.keys(acct.keyPairs)).toEqual([`dstack-${run}-key`]);
  });

  test("down leaves no container and no stack resources", () => {
    ok(dstack(sb, ["down", run, "-y"]), "dstack down");
    expect(emulatedContainers(sb)).toEqual([]);
    expect(ok(docker(["ps", "-a", "--filter", `name=^dstack-run-${run}$`, "--format", "{{.Names}}"]), "docker ps").trim()).toBe("");
    const acct = account(sb);
    expect([Object.keys(acct.instances), Object.keys(acct.securityGroups), Object.keys(acct.keyPairs)]).toEqual([[], [], []]);
    // down keeps the run's record (docs/lifecycle.md), and no resource: not one aws:* in the stack
    expect(stackResourceTypes(sb, run).filter((t) => t.startsWith("aws:"))).toEqual([]);
    // the host key lives and goes with the run's own key (kept with the record, removed with it)
    expect(fs.existsSync(path.join(sb.dstackHome, "ssh", `host_${run}`))).toBe(fs.existsSync(path.join(sb.dstackHome, "ssh", `id_${run}`)));
  });
});

describeWhen(e2ePrerequisites, "dstack up -b aws: missing prerequisites are refused before the engine", () => {
  const run = `aws-pre-${id}`;
  const sbs: Sandbox[] = [];
  afterAll(() => sbs.forEach((s) => fs.rmSync(s.root, { recursive: true, force: true })));

  test("without the plugin (offline): E3030 names the plugin and the command; exit 5; nothing in the state", () => {
    const sb = awsSandbox("cloud-noplugin", { plugin: false });
    sbs.push(sb);
    writeConfig(sb, devConfig(run));
    const r = dstack(sb, ["up", "-b", "aws", "-y"]);
    expect(r.status).toBe(5);
    const version = require("@pulumi/aws/package.json").pulumi.version as string;
    expect(r.stderr).toContain("E3030");
    expect(r.stderr).toContain(`aws v${version}`);
    expect(r.stderr).toContain(`PULUMI_HOME=${path.join(sb.dstackHome, "pulumi", "home")} pulumi plugin install resource aws v${version}`);
    expect(stackFiles(sb)).toEqual([]);
    expect(fs.existsSync(path.join(sb.dstackHome, "ssh", `id_${run}`))).toBe(false);
  });

  test("without credentials: E3031 says what was looked for; exit 5; nothing in the state", () => {
    const sb = awsSandbox("cloud-nocreds", { credentials: false });
    sbs.push(sb);
    writeConfig(sb, devConfig(run));
    const r = dstack(sb, ["up", "-b", "aws", "-y"]);
    expect(r.status).toBe(5);
    expect(r.stderr).toContain("E3031");
    expect(r.stderr).toContain("no aws credentials: looked for AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    expect(r.stderr).not.toContain("E3030");
    expect(stackFiles(sb)).toEqual([]);
  });
});

describeWhen(e2ePrerequisites, "dstack up -b aws: capacity errors move the run to the next offer", () => {
  const run = `aws-cap-${id}`;
  let sb: Sandbox & { account: string };
  beforeAll(() => {
    sb = awsSandbox("cloud-capacity");
    writeConfig(sb, devConfig(run));
  });
  afterAll(() => {
    if (!sb) return;
    for (const c of emulatedContainers(sb)) docker(["rm", "-f", c]);
    docker(["rm", "-f", `dstack-run-${run}`]);
    fs.rmSync(sb.root, { recursive: true, force: true });
  });

  test("InsufficientInstanceCapacity on the two cheapest instance types: the run lands on the third", () => {
    const offers = JSON.parse(ok(dstack(sb, ["offer", "-b", "aws", "--cpu", "2..", "--memory", "4GB..", "--disk", "1GB..", "--json"]), "dstack offer")) as { offers: { instance_type: string; spot: boolean }[] };
    const types = [...new Set(offers.offers.filter((o) => !o.spot).map((o) => o.instance_type))];
    fs.writeFileSync(path.join(sb.account, "faults.json"), JSON.stringify({ insufficient_capacity: types.slice(0, 2) }));
    const r = dstack(sb, ["up", "-b", "aws", "-y"]);
    ok(r, "dstack up with two offers out of capacity");
    const instances = Object.values(account(sb).instances) as { instanceType: string }[];
    expect(instances.map((i) => i.instanceType)).toEqual([types[2]]);
    // nothing is left of the failed attempts (their security groups and key pairs went with them)
    expect(Object.keys(account(sb).securityGroups)).toHaveLength(1);
    expect(ok(ssh(sb, run, "echo reached"), "ssh").trim()).toBe("reached");
    ok(dstack(sb, ["down", run, "-y"]), "dstack down");
    expect(emulatedContainers(sb)).toEqual([]);
  });
});

describeWhen(e2ePrerequisites, "dstack up -b aws: a task", () => {
  const run = `aws-task-${id}`;
  let sb: Sandbox & { account: string };
  beforeAll(() => {
    sb = awsSandbox("cloud-task");
    fs.writeFileSync(path.join(sb.project, "job.sh"), "echo \"task-output from $(pwd): $(cat hello.txt)\"\nexit 3\n");
    fs.writeFileSync(path.join(sb.project, "hello.txt"), "the repo\n");
    writeConfig(sb, `type: task\nname: ${run}\ncommands:\n  - bash job.sh\nresources:\n  cpu: 2..\n  memory: 4GB..\n  disk: 1GB..\n`);
  });
  afterAll(() => {
    if (!sb) return;
    for (const c of emulatedContainers(sb)) docker(["rm", "-f", c]);
    docker(["rm", "-f", `dstack-run-${run}`]);
    fs.rmSync(sb.root, { recursive: true, force: true });
  });

  test("returns the task's exit code, with its output; its stack's resources are destroyed once it ends", () => {
    const r = dstack(sb, ["up", "-b", "aws", "-y"]);
    expect(r.stdout).toContain("task-output from /workflow: the repo");
    expect(r.status).toBe(3);
    expect(emulatedContainers(sb)).toEqual([]);
    const acct = account(sb);
    expect([Object.keys(acct.instances), Object.keys(acct.securityGroups), Object.keys(acct.keyPairs)]).toEqual([[], [], []]);
    expect(stackResourceTypes(sb, run).filter((t) => t.startsWith("aws:"))).toEqual([]);
    const ps = JSON.parse(ok(dstack(sb, ["ps", "-a", "--json"]), "dstack ps -a")) as { name: string; status: string }[];
    expect(ps.find((x) => x.name === run)?.status).toBe("failed");
  });
});

/** Polls `dstack ps -a --json` until the run's record satisfies `done` (at most `ms`). */
async function waitRecord(sb: Sandbox, run: string, done: (r: Record<string, unknown>) => boolean, ms: number): Promise<Record<string, unknown>> {
  const until = Date.now() + ms;
  let last: Record<string, unknown> = {};
  while (Date.now() < until) {
    const r = dstack(sb, ["ps", "-a", "--json"]);
    if (r.status === 0) {
      last = (JSON.parse(r.stdout) as Record<string, unknown>[]).find((x) => x.name === run) ?? {};
      if (done(last)) return last;
    }
    await new Promise((res) => setTimeout(res, 5000));
  }
  throw new Error(`the run ${run} did not reach the expected state in ${ms / 1000}s; last: ${JSON.stringify(last)}`);
}

describeWhen(e2ePrerequisites, "dstack up -b aws: max_duration and spot interruption, by the reconciler", () => {
  const sbs: (Sandbox & { account: string })[] = [];
  afterAll(() => {
    for (const sb of sbs) {
      dstack(sb, ["down", "--all", "-y"]);
      for (const c of emulatedContainers(sb)) docker(["rm", "-f", c]);
      fs.rmSync(sb.root, { recursive: true, force: true });
    }
  });

  test("max_duration 30s: the run is ended at its deadline and its stack destroyed; ps -a says why", async () => {
    const run = `aws-maxd-${id}`;
    const sb = awsSandbox("cloud-maxd");
    sbs.push(sb);
    writeConfig(sb, devConfig(run) + "max_duration: 30s\n");
    ok(dstack(sb, ["up", "-b", "aws", "-y"]), "dstack up");
    // the instance armed its own shutdown (boot.sh: shutdown -h +1, max_duration rounded up to the minute)
    const [instance] = Object.keys(account(sb).instances);
    expect(fs.readFileSync(path.join(sb.account, "instances", instance, "shutdown.log"), "utf8")).toContain("shutdown in 1 minute(s)");
    const rec = await waitRecord(sb, run, (r) => r.status === "terminated", 240_000);
    expect(JSON.stringify(rec)).toContain("max duration exceeded");
    expect(Object.keys(account(sb).instances)).toEqual([]);
    expect(emulatedContainers(sb)).toEqual([]);
    expect(stackResourceTypes(sb, run).filter((t) => t.startsWith("aws:"))).toEqual([]);
  });

  test("a spot reclaim with retry gives a new attempt; spot_policy: auto lets it land on on-demand", async () => {
    const run = `aws-spot-${id}`;
    const sb = awsSandbox("cloud-spot");
    sbs.push(sb);
    // the catalog's spot rows are GPU types: g4dn.xlarge, spot ($0.17/h) or on-demand ($0.53/h); the GPU is not emulated
    writeConfig(sb, `type: dev-environment\nname: ${run}\nresources:\n  cpu: 4\n  memory: 16GB\n  gpu: T4\n  disk: 1GB..\nspot_policy: auto\nretry:\n  on_events: [interruption, no-capacity]\n  duration: 10m\n`);
    fs.writeFileSync(path.join(sb.account, "faults.json"), JSON.stringify({ reclaim_spot_after_seconds: 20 }));
    ok(dstack(sb, ["up", "-b", "aws", "-y"]), "dstack up");
    const first = Object.values(account(sb).instances) as { spot: boolean; instanceType: string }[];
    expect(first.map((i) => i.spot)).toEqual([true]);
    // from now on, no spot capacity: the next attempt goes on-demand
    fs.writeFileSync(path.join(sb.account, "faults.json"), JSON.stringify({ reclaim_spot_after_seconds: 20, no_spot_capacity: true }));
    await waitRecord(sb, run, (r) => r.status === "running" && Object.values(account(sb).instances).some((i) => !(i as { spot: boolean }).spot), 300_000);
    const now = Object.values(account(sb).instances) as { spot: boolean }[];
    expect(now.map((i) => i.spot)).toEqual([false]);
    const rec = (JSON.parse(ok(dstack(sb, ["ps", "-a", "--json"]), "ps")) as Record<string, unknown>[]).find((x) => x.name === run);
    // a second attempt, on the on-demand offer
    expect(rec).toMatchObject({ status: "running", attempts: 2, price: 0.526 });
    ok(dstack(sb, ["down", run, "-y"]), "dstack down");
  });
});

describeWhen(e2ePrerequisites, "dstack up -b aws: --detach, ps, and a reboot", () => {
  const sbs: (Sandbox & { account: string })[] = [];
  afterAll(() => {
    for (const sb of sbs) {
      dstack(sb, ["down", "--all", "-y"]);
      stopAgent(sb);
      for (const c of emulatedContainers(sb)) docker(["rm", "-f", c]);
      fs.rmSync(sb.root, { recursive: true, force: true });
    }
  });

  test("a detached task gets its repo from the agent, runs, and ends; ps shows its instance (not unknown)", async () => {
    const run = `aws-det-${id}`;
    const sb = awsSandbox("cloud-detach");
    sbs.push(sb);
    fs.writeFileSync(path.join(sb.project, "hello.txt"), "the detached repo\n");
    writeConfig(sb, `type: task\nname: ${run}\ncommands:\n  - cat hello.txt\n  - sleep 45\nresources:\n  cpu: 2..\n  memory: 4GB..\n  disk: 1GB..\n`);
    const up = ok(dstack(sb, ["up", "-b", "aws", "-y", "--detach"]), "dstack up --detach");
    expect(up).toContain(`${run} is provisioned`);
    // the agent uploads the repo once the VM answers; ps probes the VM over SSH
    const running = await waitRecord(sb, run, (r) => r.instance === "running" && r.status === "running", 300_000);
    expect(running).toMatchObject({ backend: "aws", instance: "running" });
    // `running` once the code is there (the agent uploaded it first)
    expect(ok(ssh(sb, run, "cat /workflow/hello.txt; ls -A /workflow"), "ssh")).toContain("the detached repo\n");
    const done = await waitRecord(sb, run, (r) => r.status === "done", 300_000);
    expect(done).toMatchObject({ exit_code: 0 });
    expect(Object.keys(account(sb).instances)).toEqual([]);
    expect(stackResourceTypes(sb, run).filter((t) => t.startsWith("aws:"))).toEqual([]);
  });

  test("a reboot: the run's container starts again and max_duration is re-armed from the deadline on disk", async () => {
    const run = `aws-reboot-${id}`;
    const sb = awsSandbox("cloud-reboot");
    sbs.push(sb);
    writeConfig(sb, devConfig(run) + "max_duration: 10m\n");
    ok(dstack(sb, ["up", "-b", "aws", "-y"]), "dstack up");
    const [instance] = Object.keys(account(sb).instances);
    const shutdowns = () => fs.readFileSync(path.join(sb.account, "instances", instance, "shutdown.log"), "utf8").trim().split("\n");
    expect(shutdowns()).toHaveLength(1);
    ok(ssh(sb, run, "echo before > /workflow/marker.txt"), "ssh");
    const { rebootInstance } = await import("../emulator/aws/instances");
    rebootInstance(instance, sb.env);
    // per-boot: the shutdown armed again (for what is left of the 10 minutes), the container started again
    const until = Date.now() + 120_000;
    while (Date.now() < until && !(shutdowns().length === 2 && docker(["inspect", "-f", "{{.State.Running}}", `dstack-run-${run}`]).stdout.trim() === "true")) await new Promise((r) => setTimeout(r, 2000));
    expect(shutdowns()).toHaveLength(2);
    expect(Number(/shutdown in (\d+) minute/.exec(shutdowns()[1])?.[1])).toBeLessThanOrEqual(10);
    expect(docker(["inspect", "-f", "{{.State.Running}} {{.HostConfig.RestartPolicy.Name}}", `dstack-run-${run}`]).stdout.trim()).toBe("true on-failure");
    // the same container, its /workflow kept: reachable again through the pinned host key
    const after = await (async () => {
      const end = Date.now() + 60_000;
      for (;;) {
        const r = ssh(sb, run, "cat /workflow/marker.txt");
        if (r.status === 0 || Date.now() > end) return r;
        await new Promise((res) => setTimeout(res, 2000));
      }
    })();
    expect(ok(after, "ssh after the reboot").trim()).toBe("before");
    ok(dstack(sb, ["down", run, "-y"]), "dstack down");
  });
});
