/**
 * bench/local-backend: what the local backend itself costs, against a floor measured in the
 * same run.
 *
 * - floor: `docker create` + `start` of the base image running sshd directly (an ed25519 host
 *   key made by ssh-keygen at start, as a hand-written `docker run` would) until sshd sends
 *   its banner;
 * - provider: LocalContainer's create (port choice, host key, file injection, start.sh) until
 *   the banner, then its delete;
 * - engine: the local program through the Automation API (file backend, passphrase secrets,
 *   run from a temporary directory): `up` until the banner, a no-change `preview`, `destroy`;
 * - with BENCH_BASE_IMAGE=1 also the base image build (debootstrap + docker import) into a
 *   throw-away tag.
 *
 *   npm run build && node dist/bench/local-backend.js          (BENCH_ROUNDS=3 by default)
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import type Docker from "dockerode";

const line = (label: string, value: string) => process.stdout.write(`${label.padEnd(58)} ${value}\n`);
const secs = (x: number) => `${x.toFixed(2)} s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function banner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => s.once("data", () => (s.destroy(), resolve(true))));
    s.setTimeout(1000, () => (s.destroy(), resolve(false)));
    s.once("error", () => resolve(false));
  });
}

async function waitBanner(port: number, timeoutMs = 60000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await banner(port)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no sshd banner on ${port}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen({ host: "127.0.0.1", port: 0 }, () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function floor(docker: Docker, image: string): Promise<number> {
  const port = await freePort();
  const t = Date.now();
  const c = await docker.createContainer({
    Image: image,
    Entrypoint: [
      "/bin/sh",
      "-c",
      `ssh-keygen -q -t ed25519 -N "" -f /tmp/hk && mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e -h /tmp/hk -p ${port} -o ListenAddress=127.0.0.1`,
    ],
    HostConfig: { NetworkMode: "host" },
  });
  await c.start();
  await waitBanner(port);
  const took = (Date.now() - t) / 1000;
  await c.remove({ force: true });
  return took;
}

async function main(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const { dockerClient } = await import("../src/stacks/docker");
  const { baseImageRef, baseImageInfo } = await import("../src/stacks/base-image");
  const docker = await dockerClient();
  const base = await baseImageInfo(docker);
  if (!base.present) {
    process.stdout.write(`base image ${base.ref} missing: run dstack setup first\n`);
    process.exit(1);
  }
  line("machine", `${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB, Docker ${(await docker.version()).Version}`);

  if (process.env.BENCH_BASE_IMAGE === "1") {
    const tag = `dstack-base:bench-${process.pid}`;
    const t = Date.now();
    const r = spawnSync("bash", [path.join(__dirname, "..", "..", "scripts", "build-base-image.sh"), tag], { encoding: "utf8" });
    const timings = Object.fromEntries([...r.stderr.matchAll(/^timing (\S+) ([\d.]+)$/gm)].map((m) => [m[1], Number(m[2])]));
    line("base image build (debootstrap + import)", secs((Date.now() - t) / 1000));
    line("  debootstrap", secs(timings.debootstrap ?? NaN));
    line("  docker import", secs(timings.import ?? NaN));
    await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
  }

  // floor
  await floor(docker, base.ref); // warm the page cache
  const floors: number[] = [];
  for (let i = 0; i < rounds; i++) floors.push(await floor(docker, base.ref));
  line("floor: docker create+start, sshd until banner (median)", secs(median(floors)));

  // provider alone
  const { containerProvider } = await import("../src/compiler/backends/local/container");
  const { startScriptPath, localProgram } = await import("../src/compiler/backends/local");
  const { utils } = await import("ssh2");
  const key = utils.generateKeyPairSync("ed25519").public;
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-bench-repo-"));
  const provs: number[] = [];
  const dels: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = Date.now();
    const c = await containerProvider.create!({
      name: `dstack-bench-${process.pid}`, image: base.ref, image_id: base.id!, run_type: "dev-environment", keep_running: true,
      repo_dir: repo, working_dir: "/workflow", env: { A: "1" }, secret_env: {}, setup: [], init: [], commands: [], shell: "/bin/bash",
      ssh_user: "root", ssh_public_key: key, mounts: [], privileged: false, cpus: null, memory: null, shm_size: null, gpus: 0,
      labels: { "dstack.run": "bench" }, max_duration: null, start_script: fs.readFileSync(startScriptPath(), "utf8"),
    });
    await waitBanner(c.outs!.ssh_port);
    provs.push((Date.now() - t) / 1000);
    const d = Date.now();
    await containerProvider.delete!(c.id, c.outs!);
    dels.push((Date.now() - d) / 1000);
  }
  const prov = median(provs);
  line("LocalContainer create → banner (median)", `${secs(prov)}  (${(prov / median(floors)).toFixed(2)}× floor, +${secs(prov - median(floors))})`);
  line("LocalContainer delete (median)", secs(median(dels)));

  // through the engine
  const { ensurePulumi } = await import("../src/stacks/toolchain");
  const { engineEnv } = await import("../src/stacks/state");
  const { LocalWorkspace, Stack } = await import("@pulumi/pulumi/automation");
  const { loadRunSpec } = await import("../src/config/index");
  const { plan } = await import("../src/compiler/plan");
  const tc = await ensurePulumi({ noInstall: true });
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-bench-home-"));
  fs.writeFileSync(path.join(repo, ".dstack.yml"), "type: dev-environment\nname: bench\nide: vscode\nresources:\n  cpu: 1..\n  memory: 1GB..\n  disk: 1GB..\n");
  const cwd = process.cwd();
  process.chdir(os.tmpdir());
  const spec = loadRunSpec({ dir: repo, profile: null });
  const offer = { backend: "local", region: "local", zone: null, instance_type: "local", price: 0, spot: false, cpu: os.cpus().length, cpu_arch: "x86" as const, memory: 8, disk: null, gpu_count: 0, gpu_name: null, gpu_memory: null, gpu_vendor: null, flags: [], provider_data: {} };
  const p = plan({ ...spec, name: `bench-${process.pid}` }, offer, { sshPublicKey: key, owner: "bench", now: Date.now(), baseImage: baseImageRef() });
  fs.mkdirSync(path.join(home, "state"), { recursive: true });
  const ws = await LocalWorkspace.create({
    workDir: fs.mkdtempSync(path.join(home, "ws-")), pulumiHome: path.join(home, "pulumi"), pulumiCommand: tc.command,
    program: async () => localProgram(p, {}),
    envVars: { ...engineEnv(tc, process.env, { passphrase: "bench" }), PULUMI_HOME: path.join(home, "pulumi") },
    secretsProvider: "passphrase",
    projectSettings: { name: "dstack", runtime: "nodejs", backend: { url: `file://${path.join(home, "state")}` } },
  });
  const stack = await Stack.createOrSelect(p.run_name, ws);
  let t = Date.now();
  let engineDone = 0;
  const up = await stack.up({ onEvent: (e) => (e.summaryEvent ? (engineDone = Date.now()) : undefined) });
  const upReturned = Date.now();
  await waitBanner(up.outputs.ssh_port.value as number);
  const upSecs = (Date.now() - t) / 1000;
  line("engine up (cold provider process) → banner", `${secs(upSecs)}  (${(upSecs / median(floors)).toFixed(2)}× floor, +${secs(upSecs - median(floors))})`);
  line("  of which after the engine's summary (outputs, history)", secs((upReturned - engineDone) / 1000));
  t = Date.now();
  const pre = await stack.preview();
  line(`engine preview, no change (${JSON.stringify(pre.changeSummary)})`, secs((Date.now() - t) / 1000));
  t = Date.now();
  await stack.destroy();
  line("engine destroy", secs((Date.now() - t) / 1000));
  await ws.removeStack(p.run_name);
  process.chdir(cwd);
  fs.rmSync(home, { recursive: true, force: true });
  fs.rmSync(repo, { recursive: true, force: true });
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
