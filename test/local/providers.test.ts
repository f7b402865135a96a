/**
 * The local backend's dynamic providers, called directly (no engine) against the real Docker
 * engine: create / read / diff / update / delete of LocalVolume, LocalImage and
 * LocalContainer, drift (a container removed or stopped by hand), and the start script's
 * behaviour (sshd key-only on 127.0.0.1 with the injected host key, env in ssh sessions,
 * setup once, an image without sshd or apt-get).
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type Docker from "dockerode";
import { containerProvider, soundHostKey, type LocalContainerInputs, type LocalContainerOutputs } from "../../src/compiler/backends/local/container";
import { generateEd25519KeyPair } from "../../src/ssh/keygen";
import { imageProvider, type LocalImageInputs } from "../../src/compiler/backends/local/image";
import { volumeProvider } from "../../src/compiler/backends/local/volume";
import { buildPrebuiltImage } from "../../src/runs/image-build";
import { startScriptPath } from "../../src/compiler/backends/local";
import { baseImageRef } from "../../src/stacks/base-image";
import { containerStatus } from "../../src/stacks/docker";
import { clientKey, sshRun, waitForBanner } from "./ssh-helpers";
import { describeWhen, dockerEngine } from "../support/requirements";
import { tempDir } from "./fixtures";

jest.setTimeout(180000);

const tag = `${process.pid}`;
let docker: Docker;

beforeAll(() => {
  const D = require("dockerode") as typeof Docker;
  docker = new D();
});

function keyscan(port: number): Promise<string> {
  return new Promise((resolve) =>
    execFile("ssh-keyscan", ["-t", "ed25519", "-p", String(port), "127.0.0.1"], { timeout: 10000 }, (_e, out) => resolve(out)),
  );
}

describeWhen(dockerEngine, "LocalVolume", () => {
  const name = `dstack-test-v-${tag}`;
  afterAll(async () => {
    await docker.getVolume(name).remove().catch(() => undefined);
  });

  it("creates, adopts, diffs, retains or deletes, and read sees a volume removed by hand", async () => {
    const inputs = { name, labels: { "dstack.run": "t" }, retain: true };
    expect((await volumeProvider.check!(inputs, inputs)).failures).toEqual([]);
    expect((await volumeProvider.check!(inputs, { ...inputs, name: "bad name!" })).failures?.[0].property).toBe("name");
    const c1 = await volumeProvider.create!(inputs);
    expect(c1.id).toBe(name);
    expect(c1.outs?.adopted).toBe(false);
    expect((await docker.getVolume(name).inspect()).Labels["dstack.run"]).toBe("t");
    const c2 = await volumeProvider.create!(inputs);
    expect(c2.outs?.adopted).toBe(true);

    const olds = c1.outs!;
    expect(await volumeProvider.diff!(name, olds, inputs)).toEqual({ changes: false, replaces: [] });
    expect(await volumeProvider.diff!(name, olds, { ...inputs, name: `${name}-2` })).toEqual({ changes: true, replaces: ["name"] });
    expect(await volumeProvider.diff!(name, olds, { ...inputs, retain: false })).toEqual({ changes: true, replaces: [] });
    expect(await volumeProvider.diff!(name, olds, { ...inputs, labels: { other: "x" } })).toEqual({ changes: false, replaces: [] });

    await volumeProvider.delete!(name, olds); // retained
    expect((await docker.getVolume(name).inspect()).Name).toBe(name);
    expect((await volumeProvider.read!(name, olds)).id).toBe(name);

    const upd = await volumeProvider.update!(name, olds, { ...inputs, retain: false });
    expect(upd.outs?.retain).toBe(false);
    await volumeProvider.delete!(name, upd.outs!);
    await expect(docker.getVolume(name).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(await volumeProvider.read!(name, olds)).toEqual({});
  });
});

describeWhen(dockerEngine, "LocalImage", () => {
  const ref = `dstack-prebuilt:test-${tag}`;
  afterAll(async () => {
    await docker.getImage(ref).remove({ force: true }).catch(() => undefined);
  });

  it("finds the base image, refuses a missing prebuilt (the engine never builds), finds one built before it, reads and keeps it", async () => {
    const base: LocalImageInputs = { kind: "base", ref: baseImageRef(), build: null, registry_auth: null };
    const b = await imageProvider.create!(base);
    expect(b.outs?.image_id).toMatch(/^sha256:/);
    await expect(imageProvider.create!({ ...base, ref: "dstack-base:does-not-exist" })).rejects.toThrow(/dstack setup/);

    const build = { from: baseImageRef(), commands: ["echo built-by-test > /built.txt"], python: null, nvcc: false, hash: `test-${tag}`, ref };
    const pre: LocalImageInputs = { kind: "prebuilt", ref, build, registry_auth: null };
    await expect(imageProvider.create!(pre)).rejects.toThrow(/dstack build` or add --build/);
    // built before the engine runs, as `dstack build` and `up --build` do
    await buildPrebuiltImage({ from: build.from, commands: build.commands, working_dir: "/workflow", hash: build.hash, ref, context_dir: null }, () => undefined);
    const c = await imageProvider.create!(pre);
    const info = await docker.getImage(ref).inspect();
    expect(c.outs?.image_id).toBe(info.Id);
    expect(info.Config.Labels["dstack.prebuilt"]).toBe(`test-${tag}`);

    expect(await imageProvider.diff!(ref, c.outs!, pre)).toEqual({ changes: false, replaces: [] });
    // rotating registry credentials is no change (the container must not look replaced)
    expect(await imageProvider.diff!(ref, c.outs!, { ...pre, registry_auth: { username: "u", password: "p" } })).toEqual({ changes: false, replaces: [] });
    expect((await imageProvider.diff!(ref, c.outs!, { ...pre, ref: `${ref}-x` })).replaces).toEqual(["ref"]);
    expect((await imageProvider.read!(ref, c.outs!)).props?.image_id).toBe(info.Id);

    await imageProvider.delete!(ref, c.outs!); // a cache: kept
    expect((await docker.getImage(ref).inspect()).Id).toBe(info.Id);
    await docker.getImage(ref).remove({ force: true });
    expect(await imageProvider.read!(ref, c.outs!)).toEqual({});
  });
});

describeWhen(dockerEngine, "LocalContainer", () => {
  const home = tempDir("dstack-prov-");
  const repo = tempDir("dstack-prov-repo-");
  const name = `dstack-test-c-${tag}`;
  const noSshRef = `dstack-test-nossh:${tag}`;
  let baseId = "";

  beforeAll(async () => {
    fs.writeFileSync(path.join(repo, "README"), "repo file\n");
    baseId = (await docker.getImage(baseImageRef()).inspect()).Id;
  });
  afterAll(async () => {
    for (const n of [name, `${name}-nossh`]) await docker.getContainer(n).remove({ force: true }).catch(() => undefined);
    await docker.getImage(noSshRef).remove({ force: true }).catch(() => undefined);
  });

  function inputs(key: string, over: Partial<LocalContainerInputs> = {}): LocalContainerInputs {
    return {
      name, image: baseImageRef(), image_id: baseId, run_type: "dev-environment", keep_running: true, repo_dir: repo,
      working_dir: "/workflow", env: { A: "1", SPACED: "a b  c", MULTI: "line1\nline2", QUOTES: `it's "q" \\ $HOME` }, secret_env: { TOKEN: "s3cret" },
      setup: ["echo once >> /root/setup.count"], init: ["echo init >> /root/init.count"], commands: [], shell: "/bin/bash",
      ssh_user: "root", ssh_public_key: key, mounts: [], privileged: false, cpus: null, memory: null, shm_size: 0.25, gpus: 0,
      labels: { "dstack.run": "t-c", "dstack.owner": "tester" }, max_duration: 3600,
      start_script: fs.readFileSync(startScriptPath(), "utf8"), ...over,
    };
  }

  it("create → sshd key-only on 127.0.0.1 with the injected host key; diff/update/replace; drift; delete", async () => {
    const key = clientKey(home);
    const inp = inputs(key.publicKey);
    const t0 = Date.now();
    const c = await containerProvider.create!(inp);
    const out = c.outs as LocalContainerOutputs;
    const secs = await waitForBanner(out.ssh_port);
    process.stderr.write(`container create → sshd banner: ${((Date.now() - t0) / 1000).toFixed(2)} s (wait ${secs.toFixed(2)} s)\n`);

    const info = await docker.getContainer(c.id).inspect();
    expect(info.HostConfig.NetworkMode).toBe("host");
    expect(info.HostConfig.ShmSize).toBe(256 * 1024 * 1024);
    expect(info.Config.Labels["dstack.ssh-port"]).toBe(String(out.ssh_port));
    expect(Date.parse(info.Config.Labels["dstack.expires-at"]) - Date.parse(info.Config.Labels["dstack.created-at"])).toBe(3600 * 1000);
    expect(JSON.stringify(info.Config.Env)).not.toContain("s3cret"); // secrets stay out of docker inspect

    // the host key sshd presents is the one in the outputs
    expect(await keyscan(out.ssh_port)).toContain(out.host_key.split(" ").slice(0, 2).join(" "));
    const r = await sshRun(key, out.ssh_port, out.host_key, home, 'echo "$A|$SPACED|$TOKEN"; cat README; cat /root/setup.count; pwd');
    expect(r.stdout).toBe("1|a b  c|s3cret\nrepo file\nonce\n/workflow\n");
    const r1 = await sshRun(key, out.ssh_port, out.host_key, home, 'printf "%s|%s" "$MULTI" "$QUOTES"');
    expect(r1.stdout).toBe(`line1\nline2|it's "q" \\ $HOME`);
    // sftp (VS Code, scp -s) goes through the same ForceCommand
    const kh = path.join(home, `known_hosts_${out.ssh_port}`);
    const sftp = await new Promise<string>((resolve) => {
      const child = execFile("sftp", ["-F", "/dev/null", "-i", key.privatePath, "-P", String(out.ssh_port), "-o", `UserKnownHostsFile=${kh}`, "-o", "BatchMode=yes", "-b", "-", "root@127.0.0.1"], (_e, o, e2) => resolve(o + e2));
      child.stdin?.end("ls /workflow\n");
    });
    expect(sftp).toContain("README");
    // key-only: a password login is refused without asking
    const pw = await new Promise<string>((resolve) =>
      execFile("ssh", ["-F", "/dev/null", "-p", String(out.ssh_port), "-o", "BatchMode=yes", "-o", "PubkeyAuthentication=no", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "root@127.0.0.1", "true"], (_e, _o, err) => resolve(err)),
    );
    expect(pw).toMatch(/Permission denied \(publickey\)/);
    // listening on loopback only
    const listen = await sshRun(key, out.ssh_port, out.host_key, home, `grep -i '^ListenAddress' /etc/dstack/sshd_config`);
    expect(listen.stdout.trim()).toBe("ListenAddress 127.0.0.1");

    // diff: what updates in place, what replaces, what is ignored
    expect(await containerProvider.diff!(c.id, out, inp)).toMatchObject({ changes: false, replaces: [] });
    expect(await containerProvider.diff!(c.id, out, { ...inp, env: { A: "2" } })).toMatchObject({ changes: true, replaces: [] });
    expect(await containerProvider.diff!(c.id, out, { ...inp, image_id: "sha256:other" })).toMatchObject({ changes: true, replaces: ["image_id"], deleteBeforeReplace: true });
    expect(await containerProvider.diff!(c.id, out, { ...inp, labels: { ...inp.labels, "dstack.created-at": "2030-01-01T00:00:00Z" } })).toMatchObject({ changes: false });
    expect((await containerProvider.diff!(c.id, out, { ...inp, labels: { ...inp.labels, team: "x" } })).replaces).toEqual(["labels"]);

    // update in place: new env and limits, same container, port, host key; setup not rerun
    const news = { ...inp, env: { A: "2", SPACED: "x" }, cpus: 1, memory: 1 };
    const u = await containerProvider.update!(c.id, out, news);
    const uo = u.outs as LocalContainerOutputs;
    expect([uo.container_id, uo.ssh_port, uo.host_key, uo.created_at]).toEqual([out.container_id, out.ssh_port, out.host_key, out.created_at]);
    const ui = await docker.getContainer(c.id).inspect();
    expect(ui.HostConfig.NanoCpus).toBe(1e9);
    expect(ui.HostConfig.Memory).toBe(1024 ** 3);
    await waitForBanner(out.ssh_port);
    const r2 = await sshRun(key, out.ssh_port, out.host_key, home, 'echo "$A|$SPACED"; wc -l < /root/setup.count; wc -l < /root/init.count');
    expect(r2.stdout).toBe("2|x\n1\n2\n");

    // drift: stopped by hand → read says so → diff wants an update → update starts it
    await docker.getContainer(c.id).stop({ t: 1 });
    const rd = await containerProvider.read!(c.id, uo);
    expect(rd.props?.state).toBe("exited");
    expect((await containerProvider.diff!(c.id, rd.props as LocalContainerOutputs, news)).changes).toBe(true);
    const u2 = await containerProvider.update!(c.id, rd.props as LocalContainerOutputs, news);
    expect(u2.outs?.state).toBe("running");
    await waitForBanner(out.ssh_port);

    // drift: removed by hand → read returns no id (gone from state)
    await docker.getContainer(c.id).remove({ force: true });
    expect(await containerProvider.read!(c.id, uo)).toEqual({});
    await containerProvider.delete!(c.id, uo); // already gone: fine
  });

  it("a host key sshd refuses (ssh2's 31-byte keys) is replaced by the next update, and sshd presents the new one", async () => {
    const key = clientKey(home);
    const inp = inputs(key.publicKey);
    const c = await containerProvider.create!(inp);
    const out = c.outs as LocalContainerOutputs;
    await waitForBanner(out.ssh_port);
    expect(soundHostKey(out.host_key)).toBe(true);
    // what a container made with ssh2's generator may hold: the public key with its leading zero byte stripped
    const blob = Buffer.from(out.host_key.split(" ")[1]!, "base64");
    const stripped = Buffer.concat([blob.subarray(0, 15), Buffer.from([0, 0, 0, 31]), blob.subarray(20)]);
    const bad = { ...out, host_key: `ssh-ed25519 ${stripped.toString("base64")} dstack-old` };
    expect(await containerProvider.diff!(c.id, out, inp)).toMatchObject({ changes: false });
    expect(await containerProvider.diff!(c.id, bad, inp)).toMatchObject({ changes: true, replaces: [] });
    const u = await containerProvider.update!(c.id, bad, inp);
    const uo = u.outs as LocalContainerOutputs;
    expect(soundHostKey(uo.host_key)).toBe(true);
    expect(uo.host_key).not.toBe(out.host_key);
    expect([uo.container_id, uo.ssh_port]).toEqual([out.container_id, out.ssh_port]);
    await waitForBanner(out.ssh_port);
    expect(await keyscan(out.ssh_port)).toContain(uo.host_key.split(" ").slice(0, 2).join(" "));
    expect((await sshRun(key, out.ssh_port, uo.host_key, home, "echo ok")).stdout).toBe("ok\n");
    await containerProvider.delete!(c.id, uo);
  });

  it("an image without sshd and without apt-get fails with a clear message", async () => {
    const build = await docker.buildImage(
      { context: tempDirWithDockerfile(`FROM ${baseImageRef()}\nRUN rm -f /usr/sbin/sshd /usr/bin/apt-get\n`), src: ["Dockerfile"] },
      { t: noSshRef, networkmode: "host" },
    );
    await new Promise((res, rej) => docker.modem.followProgress(build, (e: Error | null) => (e ? rej(e) : res(null))));
    const id = (await docker.getImage(noSshRef).inspect()).Id;
    const key = clientKey(home);
    const c = await containerProvider.create!(inputs(key.publicKey, { name: `${name}-nossh`, image: noSshRef, image_id: id }));
    let st = await containerStatus(c.id, docker);
    for (let i = 0; i < 50 && st.running; i++) {
      await new Promise((r) => setTimeout(r, 100));
      st = await containerStatus(c.id, docker);
    }
    expect(st.running).toBe(false);
    expect(st.exit_code).toBe(97);
    expect(st.error).toMatch(/no sshd and no apt-get/);
    await containerProvider.delete!(c.id, c.outs!);
  });
});

describeWhen(dockerEngine, "LocalContainer on an image without sshd but with apt-get", () => {
  const home = tempDir("dstack-prov-apt-");
  const repo = tempDir("dstack-prov-apt-repo-");
  const name = `dstack-test-apt-${tag}`;
  const ref = `dstack-test-aptssh:${tag}`;
  afterAll(async () => {
    await docker.getContainer(name).remove({ force: true }).catch(() => undefined);
    await docker.getImage(ref).remove({ force: true }).catch(() => undefined);
  });

  it("installs openssh-server at start and answers", async () => {
    const build = await docker.buildImage(
      { context: tempDirWithDockerfile(`FROM ${baseImageRef()}\nRUN dpkg --purge --force-depends openssh-server openssh-sftp-server >/dev/null && test ! -e /usr/sbin/sshd\n`), src: ["Dockerfile"] },
      { t: ref, networkmode: "host" },
    );
    await new Promise((res, rej) => docker.modem.followProgress(build, (e: Error | null) => (e ? rej(e) : res(null))));
    const id = (await docker.getImage(ref).inspect()).Id;
    const key = clientKey(home);
    const c = await containerProvider.create!({
      name, image: ref, image_id: id, run_type: "dev-environment", keep_running: true, repo_dir: repo, working_dir: "/workflow",
      env: {}, secret_env: {}, setup: [], init: [], commands: [], shell: "/bin/bash", ssh_user: "root", ssh_public_key: key.publicKey,
      mounts: [], privileged: false, cpus: null, memory: null, shm_size: null, gpus: 0, labels: { "dstack.run": "t-apt" },
      max_duration: null, start_script: fs.readFileSync(startScriptPath(), "utf8"),
    });
    const out = c.outs as LocalContainerOutputs;
    await waitForBanner(out.ssh_port, 120000);
    const r = await sshRun(key, out.ssh_port, out.host_key, home, "test -x /usr/sbin/sshd && echo installed");
    expect(r.stdout.trim()).toBe("installed");
    await containerProvider.delete!(c.id, out);
  });
});

describeWhen(dockerEngine, "LocalContainer as a task", () => {
  const home = tempDir("dstack-prov-task-");
  const repo = tempDir("dstack-prov-task-repo-");
  const name = `dstack-test-task-${tag}`;
  afterAll(async () => {
    for (const n of [name, `${name}-2`]) await docker.getContainer(n).remove({ force: true }).catch(() => undefined);
  });

  function taskInputs(over: Partial<LocalContainerInputs>): LocalContainerInputs {
    return {
      name, image: baseImageRef(), image_id: "", run_type: "task", keep_running: false, repo_dir: repo, working_dir: "/workflow",
      env: { GREETING: "from-task" }, secret_env: {}, setup: [], init: [], commands: [], shell: "/bin/bash", ssh_user: "root",
      ssh_public_key: clientKey(home).publicKey, mounts: [], privileged: false, cpus: null, memory: null, shm_size: null, gpus: 0,
      labels: { "dstack.run": "t-task" }, max_duration: null, start_script: fs.readFileSync(startScriptPath(), "utf8"), ...over,
    };
  }

  it("runs the commands in /workflow with the env; a port it serves is reachable on the host's 127.0.0.1", async () => {
    const port = 18000 + (process.pid % 1000);
    const baseId = (await docker.getImage(baseImageRef()).inspect()).Id;
    const c = await containerProvider.create!(taskInputs({ image_id: baseId, commands: ['echo "$GREETING $PWD" > task-out.txt', `exec python3 -m http.server ${port} --bind 127.0.0.1`] }));
    let body = "";
    for (let i = 0; i < 100 && !body; i++) {
      body = await fetch(`http://127.0.0.1:${port}/task-out.txt`).then((r) => (r.ok ? r.text() : ""), () => "");
      if (!body) await new Promise((r) => setTimeout(r, 100));
    }
    expect(body).toBe("from-task /workflow\n");
    expect(fs.readFileSync(path.join(repo, "task-out.txt"), "utf8")).toBe("from-task /workflow\n"); // the repo is bind-mounted
    await containerProvider.delete!(c.id, c.outs!);
  });

  it("a finished task is exited and, not kept running, is no drift", async () => {
    const baseId = (await docker.getImage(baseImageRef()).inspect()).Id;
    const inp = taskInputs({ name: `${name}-2`, image_id: baseId, commands: ["echo done"] });
    const c = await containerProvider.create!(inp);
    let st = await containerStatus(c.id, docker);
    for (let i = 0; i < 100 && st.running; i++) {
      await new Promise((r) => setTimeout(r, 100));
      st = await containerStatus(c.id, docker);
    }
    expect(st).toMatchObject({ running: false, exit_code: 0 });
    expect(st.logs).toContain("done");
    const rd = await containerProvider.read!(c.id, c.outs!);
    expect(rd.props?.state).toBe("exited");
    expect((await containerProvider.diff!(c.id, rd.props as LocalContainerOutputs, inp)).changes).toBe(false);
    await containerProvider.delete!(c.id, c.outs!);
  });
});

function tempDirWithDockerfile(text: string): string {
  const dir = tempDir("dstack-df-");
  fs.writeFileSync(path.join(dir, "Dockerfile"), text);
  return dir;
}

describe("LocalContainer host keys (no Docker)", () => {
  it("soundHostKey: keygen's keys are sound; ssh2's stripped 31-byte keys, other types and garbage are not", () => {
    for (let i = 0; i < 50; i++) expect(soundHostKey(generateEd25519KeyPair(`dstack-h${i}`).publicKey)).toBe(true);
    const blob = Buffer.from(generateEd25519KeyPair().publicKey.split(" ")[1]!, "base64");
    const stripped = Buffer.concat([blob.subarray(0, 15), Buffer.from([0, 0, 0, 31]), blob.subarray(20)]);
    for (const line of [`ssh-ed25519 ${stripped.toString("base64")}`, "ssh-rsa AAAAB3NzaC1yc2E", "ssh-ed25519 AAAA", "", undefined]) expect(soundHostKey(line)).toBe(false);
  });
});
