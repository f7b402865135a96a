/**
 * bench/compile: RunSpec → resource graph per backend (plan + the backend's program under the
 * mock engine, as `dstack compile` does), against a baseline measured in the same run: an empty
 * program (one stack, no resources) under the same mocks, so the figures show what the cloud
 * programs themselves cost. Also: the first compile per backend in this process (SDK module
 * load included), and the real configurations of ../shared/dstack-configs compiled for AWS.
 *
 *   npm run build && node dist/bench/compile.js
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadRunSpec } from "../src/config/index";
import type { RunSpec } from "../src/config/runspec";
import type { BackendProgram } from "../src/compiler/backends/index";
import { plan, type PlanContext } from "../src/compiler/plan";
import { runUnderMocks } from "../src/compiler/mock-engine";
import type { Offer } from "../src/offers/offer";
import { packageRoot } from "../src/paths";

const ms = (x: number) => `${x.toFixed(1)} ms`;
const line = (label: string, value: string) => process.stdout.write(`${label.padEnd(58)} ${value}\n`);

function stats(samples: number[]): { p50: number; p90: number; min: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { p50: at(0.5), p90: at(0.9), min: s[0] };
}

async function timeAsync(fn: () => Promise<unknown>, iterations: number, warmup = 3): Promise<{ p50: number; p90: number; min: number }> {
  for (let k = 0; k < warmup; k++) await fn();
  const samples: number[] = [];
  for (let k = 0; k < iterations; k++) {
    const t = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return stats(samples);
}

function offer(backend: string, region: string, zone: string | null, instance_type: string, price: number, gpu_count: number, gpu_name: string, gpu_memory: number): Offer {
  return { backend, region, zone, instance_type, price, spot: false, cpu: 4, cpu_arch: "x86", memory: 16, disk: null, gpu_count, gpu_name, gpu_memory, gpu_vendor: "nvidia", flags: [], provider_data: {} };
}

// Rows of the shipped catalogs (aws.csv, gcp.csv, azure.csv).
const OFFERS: Record<string, Offer> = {
  aws: offer("aws", "us-east-1", null, "g5.xlarge", 1.006, 1, "A10G", 24),
  gcp: offer("gcp", "us-central1", "us-central1-a", "g2-standard-4", 0.70683, 1, "L4", 24),
  azure: offer("azure", "eastus", null, "Standard_NC4as_T4_v3", 0.526, 1, "T4", 16),
};

const CTX: PlanContext = {
  sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0cUPhs9r0UJHo8hJBk5pq4WmrS5hUjU2dCyZbTbQX bench",
  owner: "bench",
  now: Date.UTC(2026, 11, 1, 9, 0, 0),
  baseImage: "dstackai/base:py3.12-0.7-cuda-12.1",
};

/** A second baseline: 10 bare custom resources (no cloud SDK, no cloud-init), to size the engine's own per-resource cost. */
const bareProgram: BackendProgram = async (p) => {
  const pulumi = await import("@pulumi/pulumi");
  class Thing extends pulumi.CustomResource {
    constructor(name: string, index: number) {
      super("bench:index:Thing", name, { index, tags: {} });
    }
  }
  for (let i = 0; i < 10; i++) new Thing(`thing-${i}`, i);
  return emptyProgram(p, {});
};

const emptyProgram: BackendProgram = async (p) => ({ ssh_host: "127.0.0.1", ssh_port: 22, ssh_user: "root", instance_id: "none", backend: p.backend, region: p.offer.region });

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-bench-compile-"));
  process.env.DSTACK_HOME = path.join(tmp, "home");
  const repo = path.join(tmp, "repo");
  fs.mkdirSync(repo, { recursive: true });
  fs.writeFileSync(
    path.join(repo, ".dstack.yml"),
    [
      "type: task",
      "name: bench-train",
      "python: '3.12'",
      "env: [HF_HOME=/workflow/.hf]",
      "commands: [python train.py]",
      "volumes:",
      "  - name: data",
      "    path: /data",
      "max_duration: 2h",
      "resources:",
      "  gpu: 24GB",
      "",
    ].join("\n"),
  );
  const spec: RunSpec = loadRunSpec({ dir: repo, env: process.env, profile: null });

  const programs: Record<string, BackendProgram> = {};
  process.stdout.write(`RunSpec → resource graph (plan + program under setMocks), ${os.cpus().length} CPUs, node ${process.version}\n\n`);
  process.stdout.write("first compile in this process (SDK modules loaded on demand):\n");
  for (const b of ["aws", "gcp", "azure"]) {
    const t = process.hrtime.bigint();
    const mod = (await import(`../src/compiler/backends/${b}`)) as { default: BackendProgram };
    programs[b] = mod.default;
    await runUnderMocks(programs[b], plan(spec, OFFERS[b], CTX));
    line(`  ${b}`, ms(Number(process.hrtime.bigint() - t) / 1e6));
  }

  const N = 30;
  process.stdout.write(`\nwarm, ${N} runs each (p50 / p90 / min):\n`);
  const base = await timeAsync(() => runUnderMocks(emptyProgram, plan(spec, OFFERS.aws, CTX)), N);
  line("  baseline: empty program under the same mocks", `${ms(base.p50)} / ${ms(base.p90)} / ${ms(base.min)}`);
  const bare = await timeAsync(() => runUnderMocks(bareProgram, plan(spec, OFFERS.aws, CTX)), N);
  line("  baseline: 10 bare resources under the same mocks", `${ms(bare.p50)} / ${ms(bare.p90)} / ${ms(bare.min)}`);
  for (const b of ["aws", "gcp", "azure"]) {
    let resources = 0;
    const r = await timeAsync(async () => {
      const g = await runUnderMocks(programs[b], plan(spec, OFFERS[b], CTX));
      resources = g.resources.length;
    }, N);
    line(`  ${b} (${resources} resources)`, `${ms(r.p50)} / ${ms(r.p90)} / ${ms(r.min)}   (${(r.p50 / base.p50).toFixed(1)}× baseline)`);
  }

  const configs = path.join(packageRoot(), "..", "shared", "dstack-configs");
  if (fs.existsSync(configs)) {
    const files = fs.readdirSync(configs).filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"));
    let ok = 0;
    let skipped = 0;
    let total = 0;
    for (const f of files) {
      let s: RunSpec;
      try {
        s = loadRunSpec({ file: path.join(configs, f), dir: repo, env: { ...process.env, HF_TOKEN: "x", WANDB_API_KEY: "x" }, profile: null });
      } catch {
        skipped++;
        continue;
      }
      const t = process.hrtime.bigint();
      try {
        await runUnderMocks(programs.aws, plan(s, OFFERS.aws, CTX));
        ok++;
      } catch {
        skipped++;
      }
      total += Number(process.hrtime.bigint() - t) / 1e6;
    }
    process.stdout.write("\nreal configurations (../shared/dstack-configs) compiled for aws g5.xlarge:\n");
    line(`  ${ok} compiled, ${skipped} not a run configuration / not loadable`, `${ms(total)} total, ${ms(total / Math.max(1, ok))} each`);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
