/**
 * bench/reconcile: what the reconcile step costs and how fast it acts.
 *
 * 1. `dstack ps` (lazily reconciled) with 100 runs — 50 active whose containers run (real
 *    containers labelled as the runs', so that nothing is due), 50 ended — against a baseline
 *    measured in the same run: `dstack ps` with no run at all (node start and module loads).
 *    The state is real Pulumi state: two runs written through the engine (record-only
 *    programs), their checkpoint and tags files copied under 98 other names.
 * 2. The time from a deadline to the teardown: a dev environment with `max_duration: 15s`
 *    started with `dstack up -y --detach` (the real engine, Docker, the detached agent), then
 *    no command: when its container is gone, and when its record says `terminated`, both
 *    measured from the record's `expires_at`.
 *
 *   npm run build && node dist/bench/reconcile.js [rounds]
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { packageRoot } from "../src/paths";
import * as ws from "../src/stacks/workspace";
import { baseImageRef } from "../src/stacks/base-image";
import { endRecord, recordForUp, recordTags, RUN_RECORD_OUTPUT, type RunRecord } from "../src/runs/record";
import { plan } from "../src/compiler/plan";
import { DEFAULT_RESOURCES, type DevEnvironmentRunSpec } from "../src/config/runspec";
import type { Offer } from "../src/offers/offer";

const rounds = Number(process.argv[2] ?? 5);
const line = (label: string, value: string) => process.stdout.write(`${label.padEnd(62)} ${value}\n`);
const tag = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
const cli = path.join(packageRoot(), "bin", "dstack");

const offer: Offer = {
  backend: "local", region: "local", zone: null, instance_type: "local", price: 0, spot: false,
  cpu: 2, cpu_arch: "x86", memory: 8, disk: 100, gpu_count: 0, gpu_name: null, gpu_memory: null, gpu_vendor: null, flags: [], provider_data: {},
};

function spec(name: string): DevEnvironmentRunSpec {
  return {
    type: "dev-environment", ide: "vscode", version: null, inactivity_duration: null, configuration_path: "/p/.dstack.yml", repo_dir: "/p", repo_id: "r", name, name_generated: false,
    python_defaulted: false, image: null, python: null, nvcc: false, registry_auth: null, working_dir: "/workflow", shell: null, user: null, privileged: false, entrypoint: null,
    docker: null, env: {}, secret_env: [], ports: [], volumes: [], resources: DEFAULT_RESOURCES, build: [], setup: [], init: [], spot_policy: "on-demand",
    retry: { enabled: false, on_events: [], duration: null }, max_duration: null, max_price: null, max_cost: null, build_missing: false, backends: null, regions: null, availability_zones: null,
    instance_types: null, idle_duration: null, stop_duration: null, creation_policy: null, fleets: null, tags: {}, reservation: null, priority: null,
    utilization_policy: null, schedule: null, force_build: false, profile: { name: null, path: null, sources: {} }, unsupported: [],
  };
}

async function writeRun(name: string, ended: boolean, env: NodeJS.ProcessEnv): Promise<void> {
  const now = new Date().toISOString();
  const p = plan(spec(name), offer, { sshPublicKey: "ssh-ed25519 AAAA bench", owner: "bench", now: Date.now(), baseImage: "dstack-base" });
  let record: RunRecord = { ...recordForUp(p, null, spec(name), null, now), status: "running" };
  if (ended) record = endRecord(record, { kind: "stopped_by_user" }, now);
  const stack = await ws.openStack(name, async () => ({ [RUN_RECORD_OUTPUT]: record, backend: "local", instance_id: ended ? "" : `dstack-${name}`, ssh_host: "127.0.0.1" }), { env, exists: false });
  await ws.upStack(stack, { env, message: `bench: ${name}` });
  await ws.setStackTags(name, recordTags(record), env);
}

function copyRun(dir: string, from: string, to: string): void {
  for (const ext of [".json", ".pulumi-tags"]) {
    const text = fs.readFileSync(path.join(dir, from + ext), "utf8");
    fs.writeFileSync(path.join(dir, to + ext), text.split(from).join(to));
  }
}

function run(args: string[], env: NodeJS.ProcessEnv, cwd?: string): { ms: number; stdout: string } {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: "utf8", cwd });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`dstack ${args.join(" ")} exited ${r.status}\n${r.stderr}`);
  return { ms, stdout: r.stdout };
}

function timeCli(args: string[], env: NodeJS.ProcessEnv): number[] {
  const samples: number[] = [];
  for (let i = 0; i < rounds + 1; i++) {
    const { ms } = run(args, env);
    if (i > 0) samples.push(ms); // the first is a warm-up
  }
  return samples.sort((a, b) => a - b);
}

const median = (s: number[]) => s[Math.floor(s.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function psWithRuns(root: string, base: NodeJS.ProcessEnv): Promise<void> {
  const env = { ...base, DSTACK_HOME: path.join(root, "home") };
  const empty = { ...base, DSTACK_HOME: path.join(root, "empty") };
  const active = (i: number) => `bench-${tag}-a${i}`;
  const ended = (i: number) => `bench-${tag}-e${i}`;
  const containers: string[] = [];
  try {
    await writeRun(active(0), false, env);
    await writeRun(ended(0), true, env);
    const dir = ws.diyStacksDir(env) as string;
    for (let i = 1; i < 50; i++) {
      copyRun(dir, active(0), active(i));
      copyRun(dir, ended(0), ended(i));
    }
    // the active runs' containers: running, labelled as the runs' own (nothing is due)
    for (let i = 0; i < 50; i++) {
      const name = `dstack-${active(i)}`;
      const r = spawnSync("docker", ["run", "-d", "--name", name, "--label", `dstack.run=${active(i)}`, "--network", "none", "--entrypoint", "sleep", baseImageRef(), "3600"], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`docker run: ${r.stderr}`);
      containers.push(name);
    }
    const all = JSON.parse(run(["ps", "-a", "--json"], env).stdout) as { status: string }[];
    const counts = all.reduce<Record<string, number>>((m, r) => ((m[r.status] = (m[r.status] ?? 0) + 1), m), {});
    line("runs listed by ps -a (after a first ps)", JSON.stringify(counts));
    const baseline = timeCli(["ps", "--json"], empty);
    const act = timeCli(["ps", "--json"], env);
    const every = timeCli(["ps", "-a", "--json"], env);
    line(`baseline: dstack ps, no run (median of ${rounds})`, `${median(baseline).toFixed(0)} ms`);
    line("dstack ps --json, 100 runs (50 active, containers running)", `${median(act).toFixed(0)} ms (max ${act[act.length - 1]!.toFixed(0)})`);
    line("dstack ps -a --json, 100 runs", `${median(every).toFixed(0)} ms (max ${every[every.length - 1]!.toFixed(0)})`);
    line("listing + lazy reconcile over the baseline (ps -a --json)", `${(median(every) - median(baseline)).toFixed(0)} ms`);
    line("goal: ps with 100 runs < 1 s", median(every) < 1000 ? "met" : "NOT met");
  } finally {
    if (containers.length) spawnSync("docker", ["rm", "-f", ...containers], { encoding: "utf8" });
  }
}

async function deadlineToTeardown(root: string, base: NodeJS.ProcessEnv): Promise<void> {
  const home = path.join(root, "md");
  const project = path.join(root, "project");
  fs.mkdirSync(project, { recursive: true });
  const env = { ...base, DSTACK_HOME: home, HOME: path.join(root, "user") };
  fs.mkdirSync(env.HOME, { recursive: true });
  const name = `bench-${tag}-md`;
  fs.writeFileSync(path.join(project, ".dstack.yml"), `type: dev-environment\nname: ${name}\nide: vscode\nmax_duration: 15s\nresources:\n  disk: 1GB..\n`);
  const container = `dstack-${name}`;
  try {
    const up = run(["up", "-y", "--detach", "--no-ssh-config"], env, project);
    line("dstack up -y --detach (max_duration: 15s)", `${(up.ms / 1000).toFixed(1)} s`);
    const views = JSON.parse(run(["ps", "-a", "--json"], env).stdout) as { name: string; expires_at: string | null }[];
    const deadline = Date.parse(views.find((v) => v.name === name)?.expires_at ?? "");
    let gone: number | null = null;
    let terminated: number | null = null;
    const stateTags = path.join(ws.diyStacksDir(env) as string, `${name}.pulumi-tags`);
    for (const until = Date.now() + 180_000; Date.now() < until && (gone === null || terminated === null); await sleep(250)) {
      if (gone === null && spawnSync("docker", ["inspect", container]).status !== 0) gone = Date.now();
      if (terminated === null && fs.existsSync(stateTags) && fs.readFileSync(stateTags, "utf8").includes("terminated")) terminated = Date.now();
    }
    line("deadline (expires_at) → container gone (the agent, no CLI)", gone === null ? "not within 180 s" : `${((gone - deadline) / 1000).toFixed(1)} s`);
    line("deadline (expires_at) → record terminated", terminated === null ? "not within 180 s" : `${((terminated - deadline) / 1000).toFixed(1)} s`);
  } finally {
    spawnSync("docker", ["rm", "-f", container], { encoding: "utf8" });
  }
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-bench-reconcile-"));
  const base: NodeJS.ProcessEnv = { ...process.env, CI: "true" };
  delete base.DSTACK_STATE_URL;
  try {
    line("load average at the start", os.loadavg().map((x) => x.toFixed(1)).join(" "));
    await psWithRuns(root, base);
    await deadlineToTeardown(root, base);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(String((e as Error).stack ?? e) + "\n");
  process.exit(1);
});
