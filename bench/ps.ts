/**
 * bench/ps: `dstack ps` and `dstack ps -a` with 100 runs (50 active, 50 ended) in the file
 * backend, as a child process (node start, the listing, one Docker call for the containers),
 * against a baseline measured in the same run: `dstack ps` with no run at all (the same node
 * start and module loads). The runs' state is real Pulumi state: two runs are written through
 * the engine (a record-only program: one running, one failed, with their stack tags), then
 * their checkpoint and tags files are copied under 98 other names (the run's name replaced).
 *
 *   npm run build && node dist/bench/ps.js [rounds]
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { packageRoot } from "../src/paths";
import * as ws from "../src/stacks/workspace";
import { listRunsChecked } from "../src/runs/lifecycle";
import { endRecord, recordForUp, recordTags, RUN_RECORD_OUTPUT, type RunRecord } from "../src/runs/record";
import { plan } from "../src/compiler/plan";
import { DEFAULT_RESOURCES, type TaskRunSpec } from "../src/config/runspec";
import type { Offer } from "../src/offers/offer";

const rounds = Number(process.argv[2] ?? 10);
const line = (label: string, value: string) => process.stdout.write(`${label.padEnd(58)} ${value}\n`);

const offer: Offer = {
  backend: "local", region: "local", zone: null, instance_type: "local", price: 0, spot: false,
  cpu: 2, cpu_arch: "x86", memory: 8, disk: 100, gpu_count: 0, gpu_name: null, gpu_memory: null, gpu_vendor: null, flags: [], provider_data: {},
};

function spec(name: string): TaskRunSpec {
  return {
    type: "task", commands: ["true"], nodes: 1, configuration_path: "/p/.dstack.yml", repo_dir: "/p", repo_id: "r", name, name_generated: false, python_defaulted: false,
    image: null, python: null, nvcc: false, registry_auth: null, working_dir: "/workflow", shell: null, user: null, privileged: false, entrypoint: null, docker: null,
    env: {}, secret_env: [], ports: [], volumes: [], resources: DEFAULT_RESOURCES, build: [], setup: [], init: [], spot_policy: "auto",
    retry: { enabled: false, on_events: [], duration: null }, max_duration: 3600, max_price: null, max_cost: null, backends: null, regions: null, availability_zones: null,
    instance_types: null, idle_duration: null, stop_duration: null, creation_policy: null, fleets: null, tags: {}, reservation: null, priority: null,
    utilization_policy: null, schedule: null, force_build: false, profile: { name: null, path: null, sources: {} }, unsupported: [],
  };
}

async function writeRun(name: string, ended: boolean, env: NodeJS.ProcessEnv): Promise<void> {
  const now = new Date().toISOString();
  const p = plan(spec(name), offer, { sshPublicKey: "ssh-ed25519 AAAA bench", owner: "bench", now: Date.now(), baseImage: "dstack-base" });
  let record: RunRecord = { ...recordForUp(p, null, spec(name), null, now), status: "running" };
  if (ended) record = endRecord(record, { kind: "exited", exit_code: 3 }, now);
  const stack = await ws.openStack(name, async () => ({ [RUN_RECORD_OUTPUT]: record, backend: "local", instance_id: ended ? "" : `bench-none-${name}`, ssh_host: "127.0.0.1" }), { env, exists: false });
  await ws.upStack(stack, { env, message: `bench: ${name}` });
  await ws.setStackTags(name, recordTags(record), env);
}

function copyRun(dir: string, from: string, to: string): void {
  for (const ext of [".json", ".pulumi-tags"]) {
    const text = fs.readFileSync(path.join(dir, from + ext), "utf8");
    fs.writeFileSync(path.join(dir, to + ext), text.split(from).join(to));
  }
}

function timeCli(args: string[], env: NodeJS.ProcessEnv): number[] {
  const cli = path.join(packageRoot(), "bin", "dstack");
  const samples: number[] = [];
  for (let i = 0; i < rounds + 1; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: "utf8" });
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (r.status !== 0) throw new Error(`dstack ${args.join(" ")} exited ${r.status}\n${r.stderr}`);
    if (i > 0) samples.push(ms); // the first is a warm-up
  }
  return samples.sort((a, b) => a - b);
}

const median = (s: number[]) => s[Math.floor(s.length / 2)];

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-bench-ps-"));
  const base: NodeJS.ProcessEnv = { ...process.env, CI: "true" };
  delete base.DSTACK_STATE_URL;
  const env = { ...base, DSTACK_HOME: path.join(root, "home") };
  const empty = { ...base, DSTACK_HOME: path.join(root, "empty") };
  try {
    await writeRun("bench-active-0", false, env);
    await writeRun("bench-ended-0", true, env);
    const dir = ws.diyStacksDir(env) as string;
    for (let i = 1; i < 50; i++) {
      copyRun(dir, "bench-active-0", `bench-active-${i}`);
      copyRun(dir, "bench-ended-0", `bench-ended-${i}`);
    }
    const all = JSON.parse(spawnSync(process.execPath, [path.join(packageRoot(), "bin", "dstack"), "ps", "-a", "--json"], { env, encoding: "utf8" }).stdout) as { status: string }[];
    const counts = all.reduce<Record<string, number>>((m, r) => ((m[r.status] = (m[r.status] ?? 0) + 1), m), {});
    line("runs listed by ps -a", JSON.stringify(counts));
    const baseline = timeCli(["ps", "--json"], empty);
    const active = timeCli(["ps", "--json"], env);
    const every = timeCli(["ps", "-a", "--json"], env);
    const table = timeCli(["ps", "-a"], env);
    line(`baseline: dstack ps, no run (median of ${rounds})`, `${median(baseline).toFixed(0)} ms`);
    line(`dstack ps --json, 100 runs (50 active listed)`, `${median(active).toFixed(0)} ms (max ${active[active.length - 1].toFixed(0)})`);
    line(`dstack ps -a --json, 100 runs`, `${median(every).toFixed(0)} ms (max ${every[every.length - 1].toFixed(0)})`);
    line(`dstack ps -a (table), 100 runs`, `${median(table).toFixed(0)} ms (max ${table[table.length - 1].toFixed(0)})`);
    line(`listing cost over the baseline (ps -a --json)`, `${(median(every) - median(baseline)).toFixed(0)} ms`);
    const inproc: number[] = [];
    for (let i = 0; i < rounds + 1; i++) {
      const t = process.hrtime.bigint();
      await listRunsChecked({ all: true, env });
      if (i > 0) inproc.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    inproc.sort((a, b) => a - b);
    line(`in process: listRunsChecked({all}), 100 runs`, `${median(inproc).toFixed(1)} ms (max ${inproc[inproc.length - 1].toFixed(1)})`);
    line(`goal: ps with 100 runs < 1 s`, median(every) < 1000 ? "met" : "NOT met");
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(String((e as Error).stack ?? e) + "\n");
  process.exit(1);
});
