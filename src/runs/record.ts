/**
 * The run record: what `dstack ps` and `dstack up --json` print. A run is a stack; the
 * stack's outputs carry the backend's RunOutputs plus `dstack_run` (RunMeta, written by
 * `runProgram`), so listing runs needs nothing but the state. Everything here is pure.
 */
import { createHash } from "crypto";
import { offerResources } from "../offers/format";
import type { Plan } from "../compiler/plan";

/** Stack output key under which dstack keeps the run's own facts. */
export const RUN_META_OUTPUT = "dstack_run";

/** Facts about a run kept in its stack's outputs (plain JSON, no secrets). */
export interface RunMeta {
  name: string;
  backend: string;
  region: string;
  run_type: Plan["run_type"];
  configuration_path: string | null;
  created_at: string;
  expires_at: string | null;
  price: number;
  spot: boolean;
  resources: string;
  instance_type: string;
  ide: Plan["ide"];
  owner: string;
  /** Hash of the plan the stack was last brought up with (`planHash`). */
  plan_hash: string;
  volumes: string[];
}

export type RunStatus = "running" | "stopped" | "failed" | "unknown";

/** The JSON record of `dstack ps --json` / `dstack up --json`. */
export interface RunRecord {
  name: string;
  backend: string;
  status: RunStatus;
  price: number | null;
  resources: string | null;
  created_at: string | null;
  ssh_host: string | null;
}

/** What a liveness probe found about the run's instance (container, VM). */
export type InstanceState = "running" | "stopped" | "missing" | "unknown";

/**
 * What of a plan makes the run: the plan without the machine facts that drift on their own
 * (the local machine's free disk moves with every image build; only the offer's identity and
 * price matter, and the local backend has no disk size).
 */
export function planIdentity(p: Plan): unknown {
  const o = p.offer;
  return {
    ...p,
    offer: { backend: o.backend, region: o.region, zone: o.zone, instance_type: o.instance_type, price: o.price, spot: o.spot, gpu_count: o.gpu_count, gpu_name: o.gpu_name },
    disk_size: p.backend === "local" ? null : p.disk_size,
  };
}

/** Stable hash of a plan's identity (key order independent), to tell "no change" without the engine. */
export function planHash(p: Plan): string {
  const canon = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canon);
    if (v && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v as object).sort()) out[k] = canon((v as Record<string, unknown>)[k]);
      return out;
    }
    return v;
  };
  return createHash("sha256").update(JSON.stringify(canon(planIdentity(p)))).digest("hex").slice(0, 32);
}

export function runMeta(p: Plan, configurationPath: string | null): RunMeta {
  return {
    name: p.run_name,
    backend: p.backend,
    region: p.offer.region,
    run_type: p.run_type,
    configuration_path: configurationPath,
    created_at: p.created_at,
    expires_at: p.expires_at,
    price: p.offer.price,
    spot: p.spot,
    resources: offerResources(p.offer),
    instance_type: p.offer.instance_type,
    ide: p.ide,
    owner: p.tags["dstack:owner"] ?? "",
    plan_hash: planHash(p),
    volumes: p.volumes.map((v) => v.name),
  };
}

/** The RunMeta in a stack's outputs, if it is there and well-formed. */
export function metaFromOutputs(outputs: Record<string, unknown> | null): RunMeta | null {
  const m = outputs?.[RUN_META_OUTPUT];
  if (!m || typeof m !== "object") return null;
  const r = m as Partial<RunMeta>;
  if (typeof r.name !== "string" || typeof r.backend !== "string" || typeof r.created_at !== "string") return null;
  return r as RunMeta;
}

/** Status from what the state says and what the probe saw. */
export function runStatus(outputs: Record<string, unknown> | null, probe: InstanceState): RunStatus {
  if (!outputs || typeof outputs.instance_id !== "string" || !outputs.instance_id) return "failed";
  if (probe === "running") return "running";
  if (probe === "stopped") return "stopped";
  if (probe === "missing") return "failed";
  return "unknown";
}

export function runRecord(name: string, outputs: Record<string, unknown> | null, probe: InstanceState): RunRecord {
  const meta = metaFromOutputs(outputs);
  return {
    name,
    backend: meta?.backend ?? (typeof outputs?.backend === "string" ? outputs.backend : "unknown"),
    status: runStatus(outputs, probe),
    price: meta ? meta.price : null,
    resources: meta ? meta.resources : null,
    created_at: meta ? meta.created_at : null,
    ssh_host: typeof outputs?.ssh_host === "string" ? outputs.ssh_host : null,
  };
}

/** `5s`, `3m`, `2h`, `4d` since `iso`. */
export function formatAge(iso: string | null, now: number): string {
  if (!iso) return "-";
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** `2h`, `30m`, `1h30m`, `off`. */
export function formatDuration(seconds: number | null): string {
  if (seconds == null) return "off";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [h ? `${h}h` : "", m ? `${m}m` : "", s || (!h && !m) ? `${s}s` : ""].join("");
}
