/**
 * Capacity of the local machine: whether the CPUs, memory and GPUs a run asks for are free now,
 * given what the other runs on this machine hold.
 *
 * What a local run holds is what it reserves, read from its container (HostConfig): its CPU
 * limit (`resources.cpu` with a maximum → NanoCpus), its memory limit (`resources.memory` with a
 * maximum → Memory) and its GPUs (DeviceRequests). A run without limits shares the machine's
 * CPUs and memory with everyone and holds none of them, so runs with dstack's default
 * resources (`cpu: 2..`, `memory: 8GB..`) never crowd each other out; GPUs are never shared.
 * Every running dstack container on this Docker engine counts (whatever DSTACK_HOME started
 * it: the machine is one), except the run's own.
 *
 * "No capacity" then means: the run's minimum CPUs, memory or GPUs exceed the machine's total
 * minus what the others hold — the local form of a cloud's "no capacity" answer, retried under
 * `retry.on_events: [no-capacity]` (reconcile-decision.ts).
 */
import type { RunSpec } from "../config/runspec";
import type { Offer } from "../offers/offer";
import { dockerClient } from "../stacks/docker";

/** What one run's container holds. */
export interface Holding {
  run: string;
  cpus: number;
  /** GB */
  memory: number;
  gpus: number;
}

export interface Free {
  cpus: number;
  memory: number;
  gpus: number;
}

/** What of the machine is free once the others' holdings are taken out (pure). */
export function freeCapacity(machine: Pick<Offer, "cpu" | "memory" | "gpu_count">, holdings: Holding[]): Free {
  const held = holdings.reduce((a, h) => ({ cpus: a.cpus + h.cpus, memory: a.memory + h.memory, gpus: a.gpus + h.gpus }), { cpus: 0, memory: 0, gpus: 0 });
  const r = (x: number) => Math.round(x * 10) / 10;
  return { cpus: r(Math.max(0, machine.cpu - held.cpus)), memory: r(Math.max(0, machine.memory - held.memory)), gpus: Math.max(0, machine.gpu_count - held.gpus) };
}

/**
 * What the run asks for that is not free now, as readable phrases (pure); empty when it fits.
 * The run's minimums are compared (what it needs to start), never more than the machine has:
 * a request beyond the machine itself is no offer at all, not a lack of capacity.
 */
export function capacityShortfall(spec: Pick<RunSpec, "resources">, free: Free, holdings: Holding[]): string[] {
  const r = spec.resources;
  const out: string[] = [];
  const holders = (k: keyof Omit<Holding, "run">) => holdings.filter((h) => h[k] > 0).map((h) => h.run);
  const by = (k: keyof Omit<Holding, "run">) => (holders(k).length ? ` (held by ${holders(k).join(", ")})` : "");
  const cpus = r.cpu.count.min ?? 0;
  const memory = r.memory.min ?? 0;
  const gpus = r.gpu.count.min ?? 0;
  if (cpus > free.cpus) out.push(`${cpus} CPUs asked, ${free.cpus} free${by("cpus")}`);
  if (memory > free.memory) out.push(`${memory}GB of memory asked, ${free.memory}GB free${by("memory")}`);
  if (gpus > free.gpus) out.push(`${gpus} GPU(s) asked, ${free.gpus} free${by("gpus")}`);
  return out;
}

/** The holdings of the running dstack containers on this Docker engine, the run's own excepted. */
export async function localHoldings(exceptRun: string, env: NodeJS.ProcessEnv = process.env): Promise<Holding[]> {
  const docker = await dockerClient(env);
  const list = await docker.listContainers({ filters: { label: ["dstack.run"], status: ["running"] } });
  const GB = 1024 ** 3;
  const out: Holding[] = [];
  for (const c of list) {
    const run = c.Labels["dstack.run"] ?? "";
    if (run === exceptRun) continue;
    try {
      const h = (await docker.getContainer(c.Id).inspect()).HostConfig as { NanoCpus?: number; Memory?: number; DeviceRequests?: { Count?: number }[] | null };
      // Count -1: every GPU of the machine
      const gpus = (h.DeviceRequests ?? []).reduce((a, d) => a + (d.Count === -1 ? Number.MAX_SAFE_INTEGER : Math.max(0, d.Count ?? 0)), 0);
      out.push({ run, cpus: (h.NanoCpus ?? 0) / 1e9, memory: (h.Memory ?? 0) / GB, gpus });
    } catch {
      // gone meanwhile: holds nothing
    }
  }
  return out;
}
