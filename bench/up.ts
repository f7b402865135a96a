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
 * The split by phase: each command runs with DSTACK_TRACE (src/trace.ts), and the medians of
 * the time between consecutive marks are printed per command (node start, configuration,
 * offers, plan, preflight, the Automation API's load, the stack's opening, the engine's steps
 * including its provider plugin's start, sshd). Then the module loads the levers are about,
 * each in a fresh `node -e`: the Automation API and the SDK with and without the deferred
 * modules (src/stacks/deferred-modules.ts), and the provider plugin's start (bundle, until it
 * prints its port) against the nodejs dynamic-provider host's.
 *
 * BENCH_BASELINE_CLI=<another checkout's bin/dstack> measures that CLI too, interleaved in the
 * same rounds (its own DSTACK_HOME), for old and new figures from one run.
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

interface Trace {
  argv: string[];
  marks: { name: string; ms: number }[];
}

/** Durations between consecutive marks of one command ("a → b"), in ms; the first from the process start. */
function phasesOf(t: Trace): [string, number][] {
  const out: [string, number][] = [];
  let prev = { name: "process start", ms: 0 };
  for (const m of t.marks) {
    out.push([`${prev.name} → ${m.name}`, m.ms - prev.ms]);
    prev = m;
  }
  return out;
}

/** The traces appended to a DSTACK_TRACE file since `from` lines. */
function readTraces(file: string): Trace[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Trace);
}

/** Median per phase over the runs (phases in the order of the last run). */
function phaseTable(traces: Trace[]): [string, number][] {
  const by = new Map<string, number[]>();
  for (const t of traces) for (const [k, v] of phasesOf(t)) by.set(k, [...(by.get(k) ?? []), v]);
  const last = traces[traces.length - 1];
  return last ? phasesOf(last).map(([k]) => [k, median(by.get(k) ?? [0])]) : [];
}

/** Median ms of `node -e <code>` (fresh process each time). */
function nodeEval(code: string, n: number): number {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = spawnSync(process.execPath, ["-e", code], { cwd: root, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`node -e failed: ${r.stderr}`);
    xs.push(Number(r.stdout.trim()));
  }
  return median(xs);
}

/** Median ms from spawning a plugin until it prints its port. */
async function pluginStart(cmd: string, args: string[], n: number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
      let err = "";
      p.stderr.on("data", (d: Buffer) => (err += d.toString()));
      p.stdout.once("data", () => {
        xs.push(Number(process.hrtime.bigint() - t) / 1e6);
        p.kill();
        resolve();
      });
      p.on("exit", (code) => (code ? reject(new Error(`${cmd} exited ${code}: ${err}`)) : undefined));
    });
  }
  return median(xs);
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
  const trace = path.join(os.tmpdir(), `dstack-bench-up-trace-${process.pid}.jsonl`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DSTACK_HOME: path.join(sb, "dstack"),
    HOME: path.join(sb, "home"),
    PATH: [bin, process.env.PATH].filter(Boolean).join(path.delimiter),
    CI: "true",
    DSTACK_TRACE: trace,
  };
  const baseline = process.env.BENCH_BASELINE_CLI ? path.resolve(process.env.BENCH_BASELINE_CLI) : null;
  const baseEnv: NodeJS.ProcessEnv = { ...env, DSTACK_HOME: path.join(sb, "dstack-baseline"), DSTACK_TRACE: "" };
  const { baseImageRef } = await import("../src/stacks/base-image");
  const image = baseImageRef();
  const { utils } = await import("ssh2");
  const key = utils.generateKeyPairSync("ed25519");
  const figures = { floor: [] as number[], up: [] as number[], noop: [] as number[], down: [] as number[] };
  const old = { up: [] as number[], noop: [] as number[], down: [] as number[] };
  /** One up, no-op up and down of `cliPath`; returns their times. */
  const cycle = async (cliPath: string, e: NodeJS.ProcessEnv, what: string): Promise<[number, number, number]> => {
    const up = await run(process.execPath, [cliPath, "up", "-y"], e, project);
    must(up, `${what} up`);
    const noop = await run(process.execPath, [cliPath, "up", "-y"], e, project);
    must(noop, `${what} up (no-op)`);
    if (!noop.stdout.includes("no changes")) throw new Error(`the second up was not a no-op:\n${noop.stdout}`);
    const down = await run(process.execPath, [cliPath, "down", name, "-y"], e, project);
    must(down, `${what} down`);
    return [up.ms, noop.ms, down.ms];
  };
  try {
    // warm-up: the engine's first run in a fresh DSTACK_HOME (plugin wrapper, workspace) and the floor's image cache
    await floor(image, key);
    await cycle(cli, env, "warm-up");
    if (baseline) await cycle(baseline, baseEnv, "baseline warm-up");
    fs.rmSync(trace, { force: true });
    for (let i = 0; i < rounds; i++) {
      figures.floor.push(await floor(image, key));
      const [u, n, d] = await cycle(cli, env, "dstack");
      figures.up.push(u);
      figures.noop.push(n);
      figures.down.push(d);
      if (baseline) {
        const [bu, bn, bd] = await cycle(baseline, baseEnv, "baseline");
        old.up.push(bu);
        old.noop.push(bn);
        old.down.push(bd);
      }
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
  line("overhead up − floor", `${((u - f) / 1000).toFixed(2)} s  (goal ≤ 1.0 s: ${u - f <= 1000 ? "met" : "not met"})`);
  line("dstack up -y, no change (no-op)", `${s(figures.noop)}  (goal ≤ 0.3 s: ${median(figures.noop) <= 300 ? "met" : "not met"})`);
  line("dstack down -y", `${s(figures.down)}  (goal ≤ 0.8 s: ${median(figures.down) <= 800 ? "met" : "not met"})`);
  if (baseline) {
    process.stdout.write(`\nbaseline CLI ${baseline}, same rounds:\n`);
    line("baseline: dstack up -y to SSH-ready", `${s(old.up)}  (overhead ${((median(old.up) - f) / 1000).toFixed(2)} s, ${(median(old.up) / f).toFixed(1)}×)`);
    line("baseline: dstack up -y, no change", s(old.noop));
    line("baseline: dstack down -y", s(old.down));
  }

  const traces = readTraces(trace);
  fs.rmSync(trace, { force: true });
  for (const [label, pick] of [
    ["up", (t: Trace) => t.argv[0] === "up" && t.marks.some((m) => m.name === "engine start")],
    ["no-op up", (t: Trace) => t.argv[0] === "up" && !t.marks.some((m) => m.name === "engine start")],
    ["down", (t: Trace) => t.argv[0] === "down"],
  ] as [string, (t: Trace) => boolean][]) {
    process.stdout.write(`\nsplit by phase: ${label} (median ms of ${traces.filter(pick).length} runs; from one mark to the next)\n`);
    for (const [k, v] of phaseTable(traces.filter(pick))) process.stdout.write(`  ${v.toFixed(0).padStart(6)}  ${k}\n`);
  }

  const n = 5;
  const loadMs = (mods: string[], deferred: boolean) =>
    `${deferred ? 'require("./dist/src/stacks/deferred-modules").deferUnusedModules();' : ""}const t=performance.now();${mods.map((m) => `require(${JSON.stringify(m)});`).join("")}console.log(performance.now()-t)`;
  process.stdout.write(`\nmodule loads (median ms of ${n} fresh processes; node -e 0 itself: ${nodeEvalWall(n).toFixed(0)} ms wall)\n`);
  const sdk = ["@pulumi/pulumi/automation", "@pulumi/pulumi"];
  process.stdout.write(`  ${nodeEval(loadMs(sdk, false), n).toFixed(0).padStart(6)}  Automation API + SDK, as installed\n`);
  process.stdout.write(`  ${nodeEval(loadMs(sdk, true), n).toFixed(0).padStart(6)}  Automation API + SDK, closure serialization deferred (what dstack up loads)\n`);
  process.stdout.write(`  ${nodeEval(loadMs(["dockerode"], false), n).toFixed(0).padStart(6)}  dockerode, as installed\n`);
  process.stdout.write(`  ${nodeEval(loadMs(["dockerode"], true), n).toFixed(0).padStart(6)}  dockerode, BuildKit session deferred\n`);
  const { dstackPluginScript } = await import("../src/stacks/dstack-plugin");
  // the nodejs plugin as dstack's wrapper runs it (its preload defers TypeScript), in a temporary folder
  const { installNodejsPlugin } = await import("../src/stacks/toolchain");
  const pluginDir = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-bench-nodejs-plugin-"));
  const nodejsPlugin = installNodejsPlugin(pluginDir);
  process.stdout.write(`  ${(await pluginStart(process.execPath, [dstackPluginScript()], n)).toFixed(0).padStart(6)}  provider plugin start to its port: pulumi-resource-dstack (bundle)\n`);
  // (an engine address it never needs to reach before printing its port)
  process.stdout.write(`  ${(await pluginStart(nodejsPlugin, ["127.0.0.1:1"], n)).toFixed(0).padStart(6)}  provider plugin start to its port: the nodejs dynamic-provider host (before the plugin)\n`);
  fs.rmSync(pluginDir, { recursive: true, force: true });
}

/** Median wall ms of `node -e 0`. */
function nodeEvalWall(n: number): number {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    spawnSync(process.execPath, ["-e", "0"]);
    xs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(xs);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
