/**
 * bench/up: `dstack up` to SSH-ready on the local backend against its floor, in one run.
 *
 * - floor: a plain `docker run` of the same base image (host network) that starts sshd on a
 *   free loopback port with a fresh host key and the key in authorized_keys, until ssh2
 *   authenticates — what any tool must pay for a container with sshd;
 * - `dstack up -y` (the CLI as a child process: node start, config, offers, plan, Pulumi
 *   engine with the dynamic providers, waiting for sshd, ssh config), warm: Pulumi built, base
 *   image present, the run absent;
 * - `dstack up -y` again with no change (the no-op), and `dstack down -y`.
 * Rounds interleave the four measures; medians are reported with the ratio and the overhead
 * (dstack up − floor). Temporary DSTACK_HOME and HOME: nothing of the user's is touched.
 *
 *   npm run build && node dist/bench/up.js [rounds]
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { packageRoot } from "../src/paths";

const root = packageRoot();
const cli = path.join(root, "bin", "dstack");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number | null; ms: number; stdout: string; stderr: string }> {
  const t = process.hrtime.bigint();
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("exit", (code) => resolve({ code, ms: Number(process.hrtime.bigint() - t) / 1e6, stdout, stderr }));
  });
}

function must(r: { code: number | null; stdout: string; stderr: string }, what: string): void {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
}

function pulumiBin(): string | null {
  for (const c of [path.join(os.homedir(), ".dstack", "pulumi", "bin")]) if (fs.existsSync(path.join(c, "pulumi"))) return c;
  return null;
}

async function floor(image: string, key: { private: string; public: string }): Promise<number> {
  const { waitForSsh } = await import("../src/ssh/wait");
  const port = await freePort();
  const name = `dstack-bench-floor-${process.pid}-${port}`;
  const script = [
    "set -e",
    "mkdir -p /run/sshd /tmp/f",
    "ssh-keygen -q -t ed25519 -N '' -f /tmp/f/host",
    'printf "%s\\n" "$AK" > /tmp/f/ak && chmod 600 /tmp/f/ak',
    `exec /usr/sbin/sshd -D -e -o ListenAddress=127.0.0.1 -p ${port} -h /tmp/f/host -o AuthorizedKeysFile=/tmp/f/ak -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no -o UsePAM=no -o StrictModes=no`,
  ].join("\n");
  const t = process.hrtime.bigint();
  const r = spawnSync("docker", ["run", "-d", "--rm", "--network", "host", "--name", name, "-e", `AK=${key.public}`, image, "/bin/sh", "-c", script], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`docker run failed: ${r.stderr}`);
  try {
    await waitForSsh({ host: "127.0.0.1", port, username: "root", privateKey: key.private, timeoutMs: 30_000, intervalMs: 20 });
    return Number(process.hrtime.bigint() - t) / 1e6;
  } finally {
    spawnSync("docker", ["rm", "-f", name], { encoding: "utf8" });
  }
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 3);
  const bin = pulumiBin();
  const sb = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-bench-up-"));
  const project = path.join(sb, "project");
  fs.mkdirSync(project);
  fs.mkdirSync(path.join(sb, "home"));
  fs.writeFileSync(path.join(project, "hello.txt"), "hi\n");
  const name = `bench-up-${process.pid}`;
  fs.writeFileSync(path.join(project, ".dstack.yml"), `type: dev-environment\nname: ${name}\nenv:\n  - FOO=bar\nresources:\n  disk: 1GB..\n`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DSTACK_HOME: path.join(sb, "dstack"),
    HOME: path.join(sb, "home"),
    PATH: [bin, process.env.PATH].filter(Boolean).join(path.delimiter),
    CI: "true",
  };
  const { baseImageRef } = await import("../src/stacks/base-image");
  const image = baseImageRef();
  const { utils } = await import("ssh2");
  const key = utils.generateKeyPairSync("ed25519");
  const figures = { floor: [] as number[], up: [] as number[], noop: [] as number[], down: [] as number[] };
  try {
    // warm-up: the engine's first run in a fresh DSTACK_HOME (plugin wrapper, workspace) and the floor's image cache
    await floor(image, key);
    must(await run(process.execPath, [cli, "up", "-y"], env, project), "warm-up up");
    must(await run(process.execPath, [cli, "down", name, "-y"], env, project), "warm-up down");
    for (let i = 0; i < rounds; i++) {
      figures.floor.push(await floor(image, key));
      const up = await run(process.execPath, [cli, "up", "-y"], env, project);
      must(up, "dstack up");
      figures.up.push(up.ms);
      const noop = await run(process.execPath, [cli, "up", "-y"], env, project);
      must(noop, "dstack up (no-op)");
      if (!noop.stdout.includes("no changes")) throw new Error(`the second up was not a no-op:\n${noop.stdout}`);
      figures.noop.push(noop.ms);
      const down = await run(process.execPath, [cli, "down", name, "-y"], env, project);
      must(down, "dstack down");
      figures.down.push(down.ms);
    }
  } finally {
    spawnSync("docker", ["rm", "-f", `dstack-${name}`]);
    fs.rmSync(sb, { recursive: true, force: true });
  }
  const s = (xs: number[]) => `${(median(xs) / 1000).toFixed(2)} s  (${xs.map((x) => (x / 1000).toFixed(2)).join(", ")})`;
  const f = median(figures.floor);
  const u = median(figures.up);
  const line = (label: string, value: string) => process.stdout.write(`${label.padEnd(44)} ${value}\n`);
  process.stdout.write(`bench/up: ${rounds} rounds, image ${image}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}, ${os.cpus().length} CPUs\n`);
  line("floor: docker run + sshd until ssh2 auth", s(figures.floor));
  line("dstack up -y to SSH-ready (warm)", s(figures.up));
  line("ratio up / floor", `${(u / f).toFixed(1)}×`);
  line("overhead up − floor", `${((u - f) / 1000).toFixed(2)} s  (goal < 3 s: ${u - f < 3000 ? "met" : "not met"})`);
  line("dstack up -y, no change (no-op)", `${s(figures.noop)}  (goal < 2 s: ${median(figures.noop) < 2000 ? "met" : "not met"})`);
  line("dstack down -y", `${s(figures.down)}  (goal < 2 s: ${median(figures.down) < 2000 ? "met" : "not met"})`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
