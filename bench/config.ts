/**
 * bench/config: the configuration front end.
 *   1. load + validate + normalize a typical configuration (with a profiles file), p50/p99 over
 *      many iterations after warm-up; baselines in the same run: bare `yaml.parse` of the same
 *      text, and `fs.readFileSync` + `yaml.parseDocument` (what any positioned loader pays).
 *   2. cold start of `node dist/cli.js config DIR --json`, spawned N times (median), against
 *      `node -e 0`.
 * Run: npm run bench -- config   (or node dist/bench/config.js)
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, parseDocument } from "yaml";
import { loadRunSpec } from "../src/config";

const TYPICAL = `type: task
name: train-qlora
python: "3.11"
env:
  - HF_TOKEN
  - HF_HUB_ENABLE_HF_TRANSFER=1
  - MODEL_ID=meta-llama/Llama-3.1-8B
commands:
  - pip install -r requirements.txt
  - python train.py --model $MODEL_ID
ports:
  - 6006
volumes:
  - name: checkpoints
    path: /checkpoints
  - /mnt/cache:/root/.cache
resources:
  gpu: 24GB..80GB:1..2
  cpu: 8..
  memory: 32GB..
  disk: 200GB..
  shm_size: 16GB
retry:
  on_events: [no-capacity, interruption]
  duration: 2h
max_duration: 1d
spot_policy: auto
`;

const PROFILES = `profiles:
  - name: default
    default: true
    backends: [aws, gcp]
    max_price: 2.5
`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function time(n: number, fn: () => void): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    fn();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out.sort((a, b) => a - b);
}

const fmt = (ms: number) => `${ms.toFixed(3)} ms`;

function report(label: string, samples: number[]): void {
  process.stdout.write(`${label.padEnd(44)} p50 ${fmt(percentile(samples, 50)).padStart(10)}   p99 ${fmt(percentile(samples, 99)).padStart(10)}   (n=${samples.length})\n`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function spawnTimes(n: number, args: string[], env: NodeJS.ProcessEnv): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { env, encoding: "utf8" });
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  }
  return out;
}

function main(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-config-"));
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "bench-config-home-"));
  fs.writeFileSync(path.join(dir, ".dstack.yml"), TYPICAL);
  fs.mkdirSync(path.join(dir, ".dstack"));
  fs.writeFileSync(path.join(dir, ".dstack", "profiles.yml"), PROFILES);
  const env: NodeJS.ProcessEnv = { ...process.env, DSTACK_HOME: home, HF_TOKEN: "hf_x" };
  const file = path.join(dir, ".dstack.yml");

  const iterations = Number(process.env.BENCH_ITERATIONS ?? 3000);
  const warm = 300;
  time(warm, () => loadRunSpec({ dir, env }));
  time(warm, () => parse(TYPICAL));

  process.stdout.write(`typical configuration: ${TYPICAL.split("\n").length} lines, with a profiles file; ${os.cpus().length} CPUs, node ${process.version}\n`);
  // interleaved rounds, so that load from other processes on the machine hits all three alike
  const rounds = 10;
  const load: number[] = [];
  const bare: number[] = [];
  const positioned: number[] = [];
  for (let r = 0; r < rounds; r++) {
    load.push(...time(iterations / rounds, () => loadRunSpec({ dir, env })));
    bare.push(...time(iterations / rounds, () => parse(TYPICAL)));
    positioned.push(...time(iterations / rounds, () => parseDocument(fs.readFileSync(file, "utf8"))));
  }
  for (const xs of [load, bare, positioned]) xs.sort((a, b) => a - b);
  report("loadRunSpec (read+parse+validate+normalize)", load);
  report("baseline: yaml.parse(text)", bare);
  report("baseline: readFileSync + yaml.parseDocument", positioned);

  const cli = path.join(__dirname, "..", "cli.js");
  const n = Number(process.env.BENCH_SPAWNS ?? 15);
  spawnTimes(2, [cli, "config", dir, "--json"], env);
  const cold: number[] = [];
  const nodeBaseline: number[] = [];
  const version: number[] = [];
  for (let i = 0; i < n; i++) {
    cold.push(...spawnTimes(1, [cli, "config", dir, "--json"], env));
    nodeBaseline.push(...spawnTimes(1, ["-e", "0"], env));
    version.push(...spawnTimes(1, [cli, "--version"], env));
  }
  process.stdout.write(`\ncold start, median of ${n} spawns:\n`);
  process.stdout.write(`  node dist/cli.js config DIR --json   ${median(cold).toFixed(1)} ms\n`);
  process.stdout.write(`  node dist/cli.js --version           ${median(version).toFixed(1)} ms\n`);
  process.stdout.write(`  baseline: node -e 0                  ${median(nodeBaseline).toFixed(1)} ms\n`);
  process.stdout.write(`  config's own cost over node          ${(median(cold) - median(nodeBaseline)).toFixed(1)} ms (of which loading every command module: ${(median(version) - median(nodeBaseline)).toFixed(1)} ms)\n`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
}

main();
