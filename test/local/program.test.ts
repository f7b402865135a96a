/**
 * The local program end to end with the real Pulumi engine and real Docker: a dev environment
 * comes up with sshd answering (real OpenSSH client, pinned host key), /workflow holds the
 * repo, env reaches ssh sessions, an env edit previews and applies as an in-place update,
 * destroy removes the container and keeps the volume. Run from a temporary directory.
 */
import * as fs from "fs";
import * as path from "path";
import { clientKey, sshRun, waitForBanner } from "./ssh-helpers";
import { builtPlugin, describeWhen, dockerEngine, pulumiCli } from "../support/requirements";
import { localStack, makePlan, runSpec, tempDir } from "./fixtures";

jest.setTimeout(240000);

describeWhen([dockerEngine, pulumiCli, builtPlugin], "local program (real engine, real Docker)", () => {
  const home = tempDir("dstack-local-home-");
  const repo = tempDir("dstack-local-repo-");
  const run = `t-prog-${process.pid}`;
  const volume = `dstack-test-vol-${process.pid}`;
  const cwd = process.cwd();
  let baseRef = "";

  beforeAll(async () => {
    const { baseImageRef } = await import("../../src/stacks/base-image");
    baseRef = baseImageRef();
    fs.writeFileSync(path.join(repo, "hello.txt"), "hello from the repo\n");
    process.chdir(tempDir("dstack-cwd-"));
  });

  afterAll(async () => {
    process.chdir(cwd);
    const Docker = require("dockerode");
    const docker = new Docker();
    // every container of this file's runs (a failed test leaves its own behind)
    for (const c of await docker.listContainers({ all: true, filters: { label: ["dstack.run"] } })) {
      if ((c.Labels["dstack.run"] ?? "").startsWith(run)) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    }
    await docker.getVolume(volume).remove().catch(() => undefined);
  });

  it("up → ssh sees /workflow and env; env edit is an in-place update; destroy keeps the volume", async () => {
    const key = clientKey(home);
    const spec = runSpec({
      name: run, repo_dir: repo, env: { GREETING: "hi there", QUOTED: "it's \"q\"" }, secret_env: [],
      setup: ["echo setup-ran >> /root/setup.log"], init: ["echo init > /root/init.log"],
      volumes: [{ kind: "volume", name: [volume], path: "/data" }],
    });
    const p1 = makePlan(spec, key.publicKey, baseRef);
    const ts = await localStack(home, run, p1);
    const t0 = Date.now();
    const up = await ts.stack.up();
    const out = up.outputs;
    expect(out.ssh_host.value).toBe("127.0.0.1");
    const port = out.ssh_port.value as number;
    const hostKey = out.host_key.value as string;
    expect(hostKey).toMatch(/^ssh-ed25519 AAAA/);
    await waitForBanner(port);
    process.stderr.write(`up → sshd banner: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

    const r = await sshRun(key, port, hostKey, home, 'cat /workflow/hello.txt; echo "$GREETING|$QUOTED|$DSTACK_RUN_NAME"; pwd; cat /root/setup.log; echo data > /data/f.txt');
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("hello from the repo");
    expect(r.stdout).toContain(`hi there|it's "q"|${run}`);
    expect(r.stdout).toContain("setup-ran");

    // an env edit: preview says update (not replace), up keeps the container and its port
    const p2 = makePlan(runSpec({ ...spec, env: { GREETING: "changed" } }), key.publicKey, baseRef);
    ts.setPlan(p2);
    const pre = await ts.stack.preview();
    expect(pre.changeSummary.update).toBe(1);
    expect(pre.changeSummary.replace ?? 0).toBe(0);
    const up2 = await ts.stack.up();
    expect(up2.outputs.instance_id.value).toBe(out.instance_id.value);
    expect(up2.outputs.ssh_port.value).toBe(port);
    await waitForBanner(port);
    const r2 = await sshRun(key, port, hostKey, home, 'echo "$GREETING"; bash -lc "echo \\$GREETING"; cat /root/setup.log | wc -l; cat /data/f.txt');
    expect(r2.stdout.split("\n").slice(0, 4)).toEqual(["changed", "changed", "1", "data"]);

    // no change → no-op
    const pre3 = await ts.stack.preview();
    expect(pre3.changeSummary.same).toBeGreaterThan(0);
    expect(Object.keys(pre3.changeSummary).filter((k) => k !== "same")).toEqual([]);

    await ts.stack.destroy();
    const Docker = require("dockerode");
    const docker = new Docker();
    await expect(docker.getContainer(`dstack-${run}`).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await docker.getVolume(volume).inspect()).Name).toBe(volume);
  });

  it("keeps secrets out of state, and refresh sees a container removed by hand (up recreates it on the same port)", async () => {
    const key = clientKey(home);
    const name = `${run}-drift`;
    const spec = runSpec({
      name, repo_dir: repo, env: { VISIBLE: "plain-value", API_TOKEN: "tok-very-secret-123" }, secret_env: ["API_TOKEN"],
      // a user image (present, so not pulled) with registry credentials: the password is a secret too
      image: baseRef, registry_auth: { username: "robot", password: "pw-very-secret-456" },
    });
    const p = makePlan(spec, key.publicKey, baseRef);
    expect(p.image.kind).toBe("user");
    const ts = await localStack(home, name, p);
    const up = await ts.stack.up();
    const port = up.outputs.ssh_port.value as number;
    await waitForBanner(port);
    const r = await sshRun(key, port, up.outputs.host_key.value as string, home, 'echo "$API_TOKEN"');
    expect(r.stdout.trim()).toBe("tok-very-secret-123");

    // the export (decrypted by the CLI) marks the value secret; the files on disk hold ciphertext only
    const exported = (await ts.stack.exportStack()).deployment as { resources: { type: string; outputs?: Record<string, unknown> }[] };
    const c = exported.resources.find((r) => r.type.endsWith("LocalContainer"));
    expect(c?.outputs?.secret_env).toMatchObject({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" });
    expect(JSON.stringify(c?.outputs?.env)).toContain("plain-value");
    const files = fs.readdirSync(path.join(home, "state"), { recursive: true }).map(String);
    let checked = 0;
    for (const f of files) {
      const full = path.join(home, "state", f);
      if (!fs.statSync(full).isFile()) continue;
      const text = fs.readFileSync(full, "utf8");
      expect(text).not.toContain("tok-very-secret-123");
      expect(text).not.toContain("pw-very-secret-456");
      if (text.includes("plain-value")) checked++;
    }
    expect(checked).toBeGreaterThan(0);

    const Docker = require("dockerode");
    const docker = new Docker();
    await docker.getContainer(`dstack-${name}`).remove({ force: true });
    await ts.stack.refresh();
    const pre = await ts.stack.preview();
    expect(pre.changeSummary.create).toBe(1);
    const up2 = await ts.stack.up();
    expect(up2.outputs.instance_id.value).not.toBe(up.outputs.instance_id.value);
    expect(up2.outputs.ssh_port.value).toBe(port);
    await waitForBanner(port);
    await ts.stack.destroy();
    await expect(docker.getContainer(`dstack-${name}`).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it("the engine never builds: a missing prebuilt image fails create; one built first from the repo's files is used", async () => {
    const key = clientKey(home);
    const name = `${run}-build`;
    fs.writeFileSync(path.join(repo, "build-input.txt"), `repo-file-${process.pid}\n`);
    const spec = runSpec({ name, repo_dir: repo, build: ["cp build-input.txt /engine-built"] });
    const p = makePlan(spec, key.publicKey, baseRef);
    const Docker = require("dockerode");
    const docker = new Docker();
    await docker.getImage(p.image.ref).remove({ force: true }).catch(() => undefined);
    const ts = await localStack(home, name, p);
    await expect(ts.stack.up()).rejects.toThrow(/dstack build` or add --build/);
    const { buildPrebuiltImage, prebuiltBuildOf } = await import("../../src/runs/image-build");
    await buildPrebuiltImage(prebuiltBuildOf(p)!, () => undefined);
    const up = await ts.stack.up();
    await waitForBanner(up.outputs.ssh_port.value as number);
    const r = await sshRun(key, up.outputs.ssh_port.value as number, up.outputs.host_key.value as string, home, "cat /engine-built");
    expect(r.stdout.trim()).toBe(`repo-file-${process.pid}`);
    await ts.stack.destroy();
    expect((await docker.getImage(p.image.ref).inspect()).Id).toMatch(/^sha256:/); // kept: a cache
    await docker.getImage(p.image.ref).remove({ force: true });
  });
});
