/**
 * `dstack up` / `preview` / `ps` / `down` end to end on the local backend: the real Pulumi
 * engine, real Docker, real sshd in the container and the stock OpenSSH client with the
 * generated config, from a temporary project directory outside the repo. One run is shared by
 * the assertions that follow its life (up → ssh → no-op → preview → update in place → down →
 * up again with the volume's file → down --volumes).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { describeWhen } from "../support/requirements";
import { cleanup, docker, dstack, dstackAsync, e2ePrerequisites, makeSandbox, ok, ssh, testId, writeConfig, type Sandbox } from "./helpers";

jest.setTimeout(600_000);

const id = testId();
const run = `e2e-dev-${id}`;
const volume = `e2e-vol-${id}`;

const secret = `s3cr3t-${id}-value`;
const config = (foo: string) => `type: dev-environment
name: ${run}
ide: vscode
env:
  - FOO=${foo}
  - GREETING=hello world
  - SECRET_TOKEN
volumes:
  - name: ${volume}
    path: /data
resources:
  disk: 1GB..
`;

describeWhen(e2ePrerequisites, "dstack up / preview / ps / down (local backend, real engine)", () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = makeSandbox("up");
    sb.env.SECRET_TOKEN = secret; // an env value taken from the caller's environment: a secret
    fs.writeFileSync(path.join(sb.project, "hello.txt"), "hi from the repo\n");
    fs.mkdirSync(path.join(sb.project, "src"));
    fs.writeFileSync(path.join(sb.project, "src", "main.py"), "print('x')\n");
    writeConfig(sb, config("bar"));
  });
  afterAll(() => cleanup(sb, [run], [volume]));

  let containerId = "";

  test("up: SSH-ready, /workflow holds the project, env vars set, ssh config and one Include", () => {
    const r = dstack(sb, ["up", "-y", "--json"]);
    const record = JSON.parse(ok(r, "dstack up"));
    expect(record).toMatchObject({ name: run, backend: "local", status: "running", price: 0, ssh_host: "127.0.0.1" });
    expect(Object.keys(record).sort()).toEqual(["attempts", "backend", "created_at", "duration_s", "ended_at", "exit_code", "expires_at", "ide_url", "instance", "name", "owner", "price", "projected_cost", "reason", "resources", "ssh_host", "ssh_port", "ssh_user", "status", "submitted_at", "termination_reason"]);
    expect(Date.parse(record.created_at)).toBeGreaterThan(Date.now() - 600_000);

    const out = ok(ssh(sb, run, 'ls /workflow /workflow/src; cat /workflow/hello.txt; echo "FOO=$FOO"; echo "G=$GREETING"; echo "RUN=$DSTACK_RUN_NAME"; echo "PWD=$(pwd)"'), "ssh");
    expect(out).toContain("hello.txt");
    expect(out).toContain("main.py");
    expect(out).toContain("hi from the repo");
    expect(out).toContain("FOO=bar");
    expect(out).toContain("G=hello world");
    expect(out).toContain(`RUN=${run}`);
    expect(out).toContain("PWD=/workflow");

    const userConfig = fs.readFileSync(path.join(sb.home, ".ssh", "config"), "utf8");
    expect(userConfig.match(/^Include /gm)).toHaveLength(1);
    expect(userConfig).toContain(sb.sshConfig);
    const cfg = fs.readFileSync(sb.sshConfig, "utf8");
    expect(cfg).toContain(`Host ${run}`);
    expect(cfg).toContain("StrictHostKeyChecking yes");
    expect(fs.statSync(path.join(sb.dstackHome, "ssh", `id_${run}`)).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(sb.dstackHome, "ssh", "known_hosts"), "utf8")).toMatch(new RegExp(`^${run} ssh-ed25519 `, "m"));
    expect(fs.statSync(path.join(sb.dstackHome, "passphrase")).mode & 0o777).toBe(0o600);

    // the secret reaches the run but never the state, the outputs or the CLI's output
    expect(ok(ssh(sb, run, 'echo "T=$SECRET_TOKEN"'), "ssh")).toContain(`T=${secret}`);
    expect(r.stdout + r.stderr).not.toContain(secret);
    const grep = spawnSync("grep", ["-rl", secret, sb.dstackHome], { encoding: "utf8" });
    expect(grep.stdout).toBe("");

    containerId = ok(docker(["inspect", "-f", "{{.Id}}", `dstack-${run}`]), "docker inspect").trim();
    ok(ssh(sb, run, "echo persisted > /data/marker"), "ssh write to the volume");
  });

  test("up again with no change is a no-op (same container, same creation time), and ps lists the run", () => {
    const before = JSON.parse(ok(dstack(sb, ["ps", "--json"]), "ps"));
    const r = dstack(sb, ["up", "-y"]);
    ok(r, "dstack up (no-op)");
    expect(r.stdout).toContain("no changes");
    expect(r.stdout).toContain(`ssh ${run}`);
    expect(r.stdout).toContain(`vscode://vscode-remote/ssh-remote+${run}/workflow`);
    expect(ok(docker(["inspect", "-f", "{{.Id}}", `dstack-${run}`]), "inspect").trim()).toBe(containerId);
    const after = JSON.parse(ok(dstack(sb, ["ps", "--json"]), "ps"));
    expect(after).toEqual(before);
    expect(after).toEqual([expect.objectContaining({ name: run, status: "running", backend: "local" })]);
    const table = ok(dstack(sb, ["ps"]), "ps");
    expect(table).toMatch(new RegExp(`^${run}\\s+local\\s+.*\\$0\\.0/h\\s+running`, "m"));
  });

  test("preview after editing env shows an update of that variable and changes nothing", () => {
    writeConfig(sb, config("baz"));
    const r = dstack(sb, ["preview", "--json"]);
    const pv = JSON.parse(ok(r, "dstack preview"));
    expect(pv).toMatchObject({ run, backend: "local", exists: true });
    expect(pv.summary).toEqual({ update: 1 });
    const container = pv.changes.find((c: { op: string }) => c.op === "update");
    expect(container.properties).toEqual(expect.arrayContaining([expect.objectContaining({ path: "env.FOO", kind: "update", old: "bar", new: "baz", replace: false })]));
    const text = ok(dstack(sb, ["preview"]), "dstack preview");
    expect(text).toMatch(/~\s+update\s+container/);
    expect(text).toContain('env.FOO: "bar" → "baz"');
    expect(ok(ssh(sb, run, 'echo "FOO=$FOO"'), "ssh")).toContain("FOO=bar");
  });

  test("up with the changed config updates the run in place", () => {
    const r = dstack(sb, ["up", "-y"]);
    ok(r, "dstack up (update)");
    expect(r.stdout).toContain('env.FOO: "bar" → "baz"');
    expect(ok(docker(["inspect", "-f", "{{.Id}}", `dstack-${run}`]), "inspect").trim()).toBe(containerId);
    const out = ok(ssh(sb, run, 'echo "FOO=$FOO"; cat /data/marker'), "ssh");
    expect(out).toContain("FOO=baz");
    expect(out).toContain("persisted");
  });

  test("down --purge leaves no container, no stack, no ssh entry and no key; the volume stays and its file survives the next up", () => {
    const r = dstack(sb, ["down", run, "-y", "--purge"]);
    ok(r, "dstack down");
    expect(docker(["inspect", `dstack-${run}`]).status).not.toBe(0);
    expect(JSON.parse(ok(dstack(sb, ["ps", "--json"]), "ps"))).toEqual([]);
    expect(fs.readFileSync(sb.sshConfig, "utf8")).not.toContain(run);
    expect(fs.readFileSync(path.join(sb.dstackHome, "ssh", "known_hosts"), "utf8")).not.toContain(run);
    expect(fs.existsSync(path.join(sb.dstackHome, "ssh", `id_${run}`))).toBe(false);
    expect(fs.readdirSync(path.join(sb.dstackHome, "state", ".pulumi", "stacks", "dstack")).filter((f) => f.endsWith(".json"))).toEqual([]);
    expect(docker(["volume", "inspect", volume]).status).toBe(0);
    const again = dstack(sb, ["down", run, "-y", "--purge"]);
    expect(again.status).toBe(6);
    expect(again.stderr).toContain(`no run named ${run}`);

    ok(dstack(sb, ["up", "-y"]), "dstack up (after down)");
    expect(ok(ssh(sb, run, "cat /data/marker"), "ssh")).toContain("persisted");
    ok(dstack(sb, ["down", run, "-y", "--volumes"]), "dstack down --volumes");
    expect(docker(["volume", "inspect", volume]).status).not.toBe(0);
    // down without --purge keeps the record: ps -a shows the run terminated (stopped by user)
    const ended = (JSON.parse(ok(dstack(sb, ["ps", "-a", "--json"]), "ps -a")) as { name: string; status: string; reason: string }[]).find((x) => x.name === run);
    expect(ended).toMatchObject({ status: "terminated", reason: "stopped by user" });
    expect(docker(["inspect", `dstack-${run}`]).status).not.toBe(0);
  });

  test("without -y and without a terminal, up refuses and changes nothing", () => {
    const r = dstack(sb, ["up"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("pass -y");
    expect(JSON.parse(ok(dstack(sb, ["ps", "--json"]), "ps"))).toEqual([]);
    const j = dstack(sb, ["up", "--json"]);
    expect(j.status).toBe(2);
    expect(JSON.parse(j.stdout)).toMatchObject({ error: { code: "E6103", exit_code: 2 } });
  });

  test("a container that exits before sshd answers fails fast with its reason; a task is followed to its end", () => {
    const bad = `e2e-bad-${id}`;
    const task = `e2e-task-${id}`;
    writeConfig(sb, `type: dev-environment\nname: ${bad}\ninit:\n  - echo about to fail\n  - exit 3\nresources:\n  disk: 1GB..\n`, "bad.dstack.yml");
    writeConfig(sb, `type: task\nname: ${task}\ncommands:\n  - echo quick\nresources:\n  disk: 1GB..\n`, "task.dstack.yml");
    try {
      const t0 = Date.now();
      const r = dstack(sb, ["up", "-y", "-f", "bad.dstack.yml"]);
      expect(r.status).toBe(4);
      expect(r.stderr).toContain("E5007");
      expect(r.stderr).toContain("about to fail");
      expect(Date.now() - t0).toBeLessThan(60_000); // not the 120 s sshd timeout
      const t = dstack(sb, ["up", "-y", "-f", "task.dstack.yml"]);
      ok(t, "dstack up (task)");
      expect(t.stdout).toMatch(/^quick$/m);
      expect(t.stdout).toContain(`${task} done (exited with code 0)`);
      expect(docker(["inspect", `dstack-${task}`]).status).not.toBe(0);
      const runs = JSON.parse(ok(dstack(sb, ["ps", "-a", "--json"]), "ps -a")) as { name: string; status: string }[];
      expect(runs.find((x) => x.name === task)?.status).toBe("done");
    } finally {
      ok(dstack(sb, ["down", bad, "-y"]), "down bad");
      ok(dstack(sb, ["down", task, "-y"]), "down task");
    }
  });

  test("Ctrl-C during up cancels cleanly: exit 130, the state stays usable and down removes everything", async () => {
    const name = `e2e-int-${id}`;
    writeConfig(sb, `type: dev-environment\nname: ${name}\nresources:\n  disk: 1GB..\n`, "int.dstack.yml");
    // not CI: plain progress lines on stderr tell when the engine is creating the container
    const env = { ...sb.env, CI: "" };
    const child = dstackAsync(sb, ["up", "-y", "-f", "int.dstack.yml"], env);
    let stderr = "";
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await new Promise<void>((resolve) => {
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        if (/creating container/.test(stderr)) resolve();
      });
      child.on("exit", () => resolve());
    });
    child.kill("SIGINT");
    const code = await exited;
    expect(stderr).toContain("creating container");
    expect(code).toBe(130);
    expect(stderr).toContain("interrupt");
    // the engine finished the create in flight and saved it: the run is in the state, down removes it
    const r = dstack(sb, ["down", name, "-y"]);
    ok(r, "dstack down (after the interrupt)");
    expect(docker(["inspect", `dstack-${name}`]).status).not.toBe(0);
    expect(JSON.parse(ok(dstack(sb, ["ps", "--json"]), "ps"))).toEqual([]);
    cleanup({ ...sb, root: "/nonexistent" }, [name]);
  });
});
