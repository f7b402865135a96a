/**
 * Runs with records, end to end on the local backend (the real Pulumi engine, Docker, sshd in
 * the container and the stock OpenSSH client):
 * - a task followed by `dstack up`: its output as it happens, its exit code, the run ended with
 *   its record (failed, exited with code 3), no container left, `ps -a`, a new attempt, `logs`,
 *   the record in the state backend (stack tags, history), `delete`;
 * - `attach` forwarding a task's port to localhost over SSH, `logs -f` following its output,
 *   `stop` keeping the record.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import { describeWhen } from "../support/requirements";
import { cleanup, docker, dstack, dstackAsync, e2ePrerequisites, makeSandbox, ok, psAll, realPulumiBin, testId, writeConfig, type Sandbox } from "./helpers";

jest.setTimeout(600_000);

const id = testId();
const exitRun = `e2e-exit-${id}`;
const attachRun = `e2e-attach-${id}`;

interface View {
  name: string;
  status: string;
  reason: string | null;
  termination_reason: string | null;
  exit_code: number | null;
  attempts: number;
  instance: string;
}

function containerRunning(name: string): boolean {
  const r = docker(["inspect", "-f", "{{.State.Running}}", `dstack-${name}`]);
  return r.status === 0 && r.stdout.trim() === "true";
}

/** A free loopback port (bound, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen({ host: "127.0.0.1", port: 0 }, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function httpGet(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/", timeout: 10_000 }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
  });
}

/** Collects a child's output and resolves `waitFor(re)` once it has printed a match. */
function watch(child: ReturnType<typeof dstackAsync>) {
  let out = "";
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const feed = (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) {
      if (!w.re.test(out)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  child.stdout.on("data", feed);
  child.stderr.on("data", feed);
  return {
    child,
    text: () => out,
    exited,
    waitFor: (re: RegExp) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(out)) return resolve();
        waiters.push({ re, resolve });
        void exited.then((code) => (re.test(out) ? resolve() : reject(new Error(`exited ${code} before printing ${re}\n${out}`))));
      }),
  };
}

describeWhen(e2ePrerequisites, "run records: a task followed by up, ps -a, logs, attach, stop (local backend, real engine)", () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = makeSandbox("lifecycle");
  });
  afterAll(() => cleanup(sb, [exitRun, attachRun]));

  test("a task [echo hi, sleep 2, exit 3]: up prints hi as it happens and exits 3; the run is failed (exited with code 3), no container is left, ps -a shows it, a new up starts a new attempt", async () => {
    writeConfig(sb, `type: task\nname: ${exitRun}\ncommands:\n  - echo hi\n  - sleep 2\n  - exit 3\nresources:\n  disk: 1GB..\n`);
    const up = watch(dstackAsync(sb, ["up", "-y"]));
    await up.waitFor(/^hi$/m);
    // "hi" arrived while the task was still running (its `sleep 2` had not ended): streamed, not replayed
    const runningWhenHi = containerRunning(exitRun);
    const code = await up.exited;
    expect(runningWhenHi).toBe(true);
    expect(code).toBe(3);
    expect(up.text()).toContain(`${exitRun} failed (exited with code 3)`);
    expect(up.text()).not.toContain("E5007");
    // no container left, the record kept
    expect(docker(["inspect", `dstack-${exitRun}`]).status).not.toBe(0);
    const active = JSON.parse(ok(dstack(sb, ["ps", "--json"]), "ps")) as View[];
    expect(active.find((r) => r.name === exitRun)).toBeUndefined();
    expect(psAll<View>(sb).find((r) => r.name === exitRun)).toMatchObject({ status: "failed", termination_reason: "exited", reason: "exited with code 3", exit_code: 3, attempts: 1 });
    const table = ok(dstack(sb, ["ps", "-a"]), "ps -a");
    expect(table).toMatch(new RegExp(`${exitRun}\\s+local\\s+.*failed\\s+.*exited with code 3`));

    // the record is in the state backend: the stack stays (no resource but the stack itself), with tags and history
    const stacks = path.join(sb.dstackHome, "state", ".pulumi", "stacks", "dstack");
    const tags = JSON.parse(fs.readFileSync(path.join(stacks, `${exitRun}.pulumi-tags`), "utf8")) as { tags: Record<string, string> };
    expect(tags.tags).toMatchObject({ "dstack:status": "failed", "dstack:reason": "exited", "dstack:exit-code": "3", "dstack:backend": "local" });
    const checkpoint = JSON.parse(fs.readFileSync(path.join(stacks, `${exitRun}.json`), "utf8")) as { checkpoint: { latest: { resources: { type: string }[] } } };
    expect(checkpoint.checkpoint.latest.resources.map((r) => r.type).filter((t) => t !== "pulumi:pulumi:Stack" && !t.startsWith("pulumi:providers:"))).toEqual([]);
    const pulumi = path.join(realPulumiBin() as string, "pulumi");
    const penv = { ...sb.env, PULUMI_BACKEND_URL: `file://${path.join(sb.dstackHome, "state")}`, PULUMI_CONFIG_PASSPHRASE_FILE: path.join(sb.dstackHome, "passphrase"), PULUMI_HOME: path.join(sb.dstackHome, "pulumi", "home"), PULUMI_SKIP_UPDATE_CHECK: "true" };
    const history = spawnSync(pulumi, ["stack", "history", "--json", "--stack", `organization/dstack/${exitRun}`], { env: penv, encoding: "utf8", cwd: sb.root });
    expect(history.status).toBe(0);
    expect((JSON.parse(history.stdout) as { message: string }[]).map((u) => u.message)).toContain(`dstack: run ${exitRun} failed (exited with code 3)`);
    const tagged = spawnSync(pulumi, ["stack", "ls", "--all", "--json", "--tag", "dstack:status=failed"], { env: penv, encoding: "utf8", cwd: sb.root });
    expect(tagged.status).toBe(0);
    expect((JSON.parse(tagged.stdout) as { name: string }[]).map((s) => s.name.split("/").pop())).toContain(exitRun);

    // a new up of the ended run: a new attempt (no "No changes", no E5007)
    const again = dstack(sb, ["up", "-y"]);
    expect(again.status).toBe(3);
    expect(again.stdout).toMatch(/^hi$/m);
    expect(again.stdout + again.stderr).not.toContain("no changes");
    expect(psAll<View>(sb).find((r) => r.name === exitRun)).toMatchObject({ status: "failed", exit_code: 3, attempts: 2 });

    // logs: provisioning events and both attempts' output
    const logs = ok(dstack(sb, ["logs", exitRun]), "logs");
    expect(logs).toContain("submitted: attempt 1");
    expect(logs).toContain("submitted: attempt 2");
    expect(logs.match(/^hi$/gm)?.length).toBe(2);
    expect(logs).toContain(`dstack: run ${exitRun} failed (exited with code 3)`);

    // delete removes the record
    ok(dstack(sb, ["delete", exitRun, "-y"]), "delete");
    expect(psAll<View>(sb).find((r) => r.name === exitRun)).toBeUndefined();
    expect(fs.existsSync(path.join(stacks, `${exitRun}.json`))).toBe(false);
    expect(dstack(sb, ["logs", exitRun]).status).toBe(6);
  });

  test("attach forwards a task's port (python3 -m http.server) to localhost; logs -f follows its output; Ctrl-C detaches; stop keeps the record", async () => {
    const local = await freePort();
    let remote = await freePort();
    while (remote === local) remote = await freePort();
    // stop_duration bounds the graceful stop (the default is dstack's 5m)
    writeConfig(sb, `type: task\nname: ${attachRun}\nstop_duration: 5s\nports:\n  - "${local}:${remote}"\ncommands:\n  - python3 -m http.server ${remote} --bind 127.0.0.1\nresources:\n  disk: 1GB..\n`, "attach.dstack.yml");
    const up = dstack(sb, ["up", "-y", "-d", "-f", "attach.dstack.yml"]);
    ok(up, "up -d");
    expect(psAll<View>(sb).find((r) => r.name === attachRun)).toMatchObject({ status: "running", instance: "running" });

    const attach = watch(dstackAsync(sb, ["attach", attachRun]));
    await attach.waitFor(/Attached to/);
    expect(attach.text()).toContain(`Forwarding localhost:${local} -> ${attachRun}:${remote}`);
    // the server may take a moment to listen: the forward answers, the request is retried until it serves
    let res: { status: number; body: string } | null = null;
    for (let i = 0; i < 60 && !res; i++) {
      res = await httpGet(local).catch(() => null);
      if (!res) await new Promise((r) => setTimeout(r, 500));
    }
    expect(res).toMatchObject({ status: 200 });
    expect(res?.body).toContain("Directory listing");

    const follow = watch(dstackAsync(sb, ["logs", attachRun, "-f"]));
    await follow.waitFor(/"GET \/ HTTP\/1\.1" 200/);
    // a second request shows up in the followed output as it happens
    const before = (follow.text().match(/"GET \/ HTTP\/1\.1" 200/g) ?? []).length;
    await httpGet(local);
    await follow.waitFor(new RegExp(`(?:[\\s\\S]*"GET / HTTP/1\\.1" 200){${before + 1}}`));
    // attach also follows the output
    await attach.waitFor(/"GET \/ HTTP\/1\.1" 200/);

    // Ctrl-C detaches: attach exits 0, the run goes on
    attach.child.kill("SIGINT");
    expect(await attach.exited).toBe(0);
    expect(attach.text()).toContain("detached");
    expect(containerRunning(attachRun)).toBe(true);

    ok(dstack(sb, ["stop", attachRun, "-y"]), "stop");
    expect(await follow.exited).toBe(0);
    expect(docker(["inspect", `dstack-${attachRun}`]).status).not.toBe(0);
    expect(psAll<View>(sb).find((r) => r.name === attachRun)).toMatchObject({ status: "terminated", termination_reason: "stopped_by_user", reason: "stopped by user" });
    expect(ok(dstack(sb, ["logs", attachRun]), "logs")).toMatch(/"GET \/ HTTP\/1\.1" 200/);
    ok(dstack(sb, ["down", attachRun, "--purge", "-y"]), "down --purge");
    expect(psAll<View>(sb).find((r) => r.name === attachRun)).toBeUndefined();
  });
});
