/**
 * `dstack audit`: what exists, from Pulumi's state, and what exists outside it.
 *
 * - Resources: every resource of every run's stack (the state backend's checkpoints: read
 *   directly on file:// and postgres://, else `pulumi stack export`), with the run's owner,
 *   its price per hour and cost so far (on the resource that is the run's instance) and its
 *   expiry. The engine's own resources (the stack, providers) are left out.
 * - Orphans (local backend): Docker containers, volumes and images carrying dstack's labels
 *   (`dstack.run`, `dstack.urn`: src/compiler/backends/local/urn.ts) that no stack owns — their
 *   id is recorded by no stack, and their URN is no stack's pending create (an `up` in flight).
 *   Orphans are judged against this state backend's stacks: objects another backend's runs
 *   made on the same Docker engine look orphaned too (`runs` narrows the audit to given runs).
 * - Stale runs: stacks that record an instance that is gone (local: no such container).
 *
 * `pruneOrphans` removes orphans: containers and images always, volumes only when asked (a
 * volume outlives its run on purpose; `down --volumes` is how it goes with the run).
 */
import type Docker from "dockerode";
import { dockerClient } from "../stacks/docker";
import { readDeployment } from "../stacks/pending";
import * as ws from "../stacks/workspace";
import { costSoFar, projectedCost, roundCost } from "./cost";
import { probeInstance } from "./lifecycle";
import { metaFromOutputs } from "./record";
import { DstackError } from "../diagnostics";

const RUN_LABEL = "dstack.run";
const URN_LABEL = "dstack.urn";

export interface AuditResource {
  run: string;
  /** The resource's Pulumi type token (`pulumi-nodejs:dynamic/dstack:LocalContainer`, `aws:ec2/instance:Instance`). */
  type: string;
  /** The resource's logical name (the last part of its URN). */
  name: string;
  urn: string;
  /** The provider's id of the object (container id, instance id), or null (not created yet). */
  provider_id: string | null;
  owner: string | null;
  /** When the engine created it (the state's `created`), else the run's creation time. */
  created: string | null;
  /** The run's price per hour on its instance resource, 0 on the others. */
  price_per_hour: number;
  cost_so_far: number;
  expires_at: string | null;
}

export interface AuditRun {
  name: string;
  backend: string | null;
  owner: string | null;
  created_at: string | null;
  expires_at: string | null;
  price_per_hour: number | null;
  cost_so_far: number | null;
  projected_cost: number | null;
  resources: number;
  /** What a probe found of the run's instance: running, stopped, missing, unknown. */
  instance: string;
}

export interface AuditOrphan {
  kind: "container" | "volume" | "image";
  /** Container id, volume name or image id. */
  id: string;
  /** Container name, volume name, image tag. */
  name: string;
  run: string | null;
  urn: string | null;
  created: string | null;
}

export interface AuditStale {
  name: string;
  backend: string | null;
  instance_id: string | null;
  reason: string;
}

export interface AuditReport {
  generated_at: string;
  runs: AuditRun[];
  resources: AuditResource[];
  orphans: AuditOrphan[];
  stale_runs: AuditStale[];
  /** Sum of the runs' cost so far, in dollars. */
  total_cost_so_far: number;
  /** Why orphans could not be looked for (Docker unreachable), else null. */
  orphans_unknown: string | null;
}

type StateResource = { urn?: string; type?: string; id?: string; created?: string; custom?: boolean };
type Deployment = { resources?: StateResource[]; pending_operations?: { resource?: { urn?: string } }[] };

function deploymentOf(doc: unknown): Deployment | null {
  const d = doc as { checkpoint?: { latest?: Deployment }; deployment?: Deployment } | null;
  return d?.checkpoint?.latest ?? d?.deployment ?? null;
}

/** The resources of one run's deployment, as audit rows (pure). */
export function auditResources(run: string, doc: unknown, outputs: Record<string, unknown> | null, now: number): AuditResource[] {
  const meta = metaFromOutputs(outputs);
  const instanceId = typeof outputs?.instance_id === "string" ? outputs.instance_id : null;
  return (deploymentOf(doc)?.resources ?? [])
    .filter((r) => typeof r.urn === "string" && typeof r.type === "string" && r.type !== "pulumi:pulumi:Stack" && !r.type.startsWith("pulumi:providers:"))
    .map((r) => {
      const isInstance = instanceId !== null && r.id === instanceId;
      const price = isInstance && meta ? meta.price : 0;
      const created = r.created ?? meta?.created_at ?? null;
      return {
        run,
        type: r.type as string,
        name: (r.urn as string).split("::").pop() as string,
        urn: r.urn as string,
        provider_id: r.id || null,
        owner: meta?.owner || null,
        created,
        price_per_hour: price,
        cost_so_far: price && created ? roundCost(costSoFar(price, created, meta?.expires_at ?? null, now)) : 0,
        expires_at: meta?.expires_at ?? null,
      };
    });
}

/** What the stacks own: every recorded id, and the URNs of pending operations (creates in flight). */
export function ownedBy(docs: unknown[]): { ids: Set<string>; urns: Set<string> } {
  const ids = new Set<string>();
  const urns = new Set<string>();
  for (const doc of docs) {
    const d = deploymentOf(doc);
    for (const r of d?.resources ?? []) if (r.id) ids.add(r.id);
    for (const p of d?.pending_operations ?? []) if (p.resource?.urn) urns.add(p.resource.urn);
  }
  return { ids, urns };
}

const iso = (seconds: number | undefined) => (seconds ? new Date(seconds * 1000).toISOString() : null);

/** Docker objects with dstack's labels that the stacks do not own. */
export async function findOrphans(owned: { ids: Set<string>; urns: Set<string> }, o: { env?: NodeJS.ProcessEnv; runs?: string[]; docker?: Docker } = {}): Promise<AuditOrphan[]> {
  const d = o.docker ?? (await dockerClient(o.env));
  const out: AuditOrphan[] = [];
  const wanted = (labels: Record<string, string> | undefined) => {
    const run = labels?.[RUN_LABEL] ?? null;
    const urn = labels?.[URN_LABEL] ?? null;
    if (run === null && urn === null) return null;
    if (o.runs?.length && !(run && o.runs.includes(run))) return null;
    if (urn && owned.urns.has(urn)) return null;
    return { run, urn };
  };
  for (const label of [RUN_LABEL, URN_LABEL]) {
    for (const c of await d.listContainers({ all: true, filters: { label: [label] } })) {
      const w = wanted(c.Labels);
      if (!w || owned.ids.has(c.Id) || out.some((x) => x.id === c.Id)) continue;
      out.push({ kind: "container", id: c.Id, name: (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, ""), ...w, created: iso(c.Created) });
    }
    for (const v of (await d.listVolumes({ filters: { label: [label] } })).Volumes ?? []) {
      const w = wanted(v.Labels ?? undefined);
      if (!w || owned.ids.has(v.Name) || out.some((x) => x.id === v.Name)) continue;
      out.push({ kind: "volume", id: v.Name, name: v.Name, ...w, created: (v as { CreatedAt?: string }).CreatedAt ?? null });
    }
    for (const i of await d.listImages({ filters: { label: [label] } })) {
      const w = wanted(i.Labels ?? undefined);
      if (!w || owned.ids.has(i.Id) || out.some((x) => x.id === i.Id)) continue;
      out.push({ kind: "image", id: i.Id, name: i.RepoTags?.[0] ?? i.Id.slice(7, 19), ...w, created: iso(i.Created) });
    }
  }
  return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
}

/** The audit of this state backend (see the file comment). `runs` narrows it to those runs. */
export async function audit(o: { env?: NodeJS.ProcessEnv; runs?: string[]; now?: number } = {}): Promise<AuditReport> {
  const env = o.env ?? process.env;
  const now = o.now ?? Date.now();
  const names = (await ws.listRunNames(env)).filter((n) => !o.runs?.length || o.runs.includes(n));
  const docs = await Promise.all(names.map((n) => readDeployment(n, env)));
  const runs: AuditRun[] = [];
  const resources: AuditResource[] = [];
  const stale: AuditStale[] = [];
  for (const [i, name] of names.entries()) {
    const doc = docs[i];
    const outputs = ws.outputsOfCheckpoint(doc ?? {});
    const meta = metaFromOutputs(outputs);
    const rows = auditResources(name, doc, outputs, now);
    resources.push(...rows);
    const instanceId = typeof outputs.instance_id === "string" ? outputs.instance_id : null;
    const instance = await probeInstance(instanceId ? outputs : null).catch(() => "unknown" as const);
    if (instanceId && instance === "missing") stale.push({ name, backend: meta?.backend ?? null, instance_id: instanceId, reason: "its instance no longer exists" });
    const price = meta ? meta.price : null;
    const projected = price === null ? null : projectedCost(price, meta?.expires_at ? (Date.parse(meta.expires_at) - Date.parse(meta.created_at)) / 1000 : null);
    runs.push({
      name,
      backend: meta?.backend ?? null,
      owner: meta?.owner || null,
      created_at: meta?.created_at ?? null,
      expires_at: meta?.expires_at ?? null,
      price_per_hour: price,
      cost_so_far: price !== null && meta ? roundCost(costSoFar(price, meta.created_at, meta.expires_at, now)) : null,
      projected_cost: projected === null ? null : roundCost(projected),
      resources: rows.length,
      instance: instanceId ? instance : "missing",
    });
  }
  let orphans: AuditOrphan[] = [];
  let orphansUnknown: string | null = null;
  try {
    // owned by any stack of this backend, not only the runs audited
    // volume stacks' Docker volumes (`dstack volume`) are owned too
    const all = await Promise.all((await ws.listStackNames(env)).map((n) => (names.includes(n) ? docs[names.indexOf(n)] : readDeployment(n, env))));
    orphans = await findOrphans(ownedBy(all), { env, runs: o.runs });
  } catch (e) {
    if (!(e instanceof DstackError) || !/^E410[12]$/.test(e.diagnostics[0]?.code ?? "")) throw e;
    orphansUnknown = e.diagnostics[0].message;
  }
  const total = roundCost(runs.reduce((s, r) => s + (r.cost_so_far ?? 0), 0));
  return { generated_at: new Date(now).toISOString(), runs, resources, orphans, stale_runs: stale, total_cost_so_far: total, orphans_unknown: orphansUnknown };
}

export interface PruneResult {
  removed: AuditOrphan[];
  /** Volumes kept (no `volumes`), images still used by a container. */
  kept: (AuditOrphan & { reason: string })[];
}

/** Removes the orphans: containers and images; volumes only with `volumes`. */
export async function pruneOrphans(orphans: AuditOrphan[], o: { volumes?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<PruneResult> {
  const d = await dockerClient(o.env);
  const out: PruneResult = { removed: [], kept: [] };
  const gone = (e: unknown) => (e as { statusCode?: number }).statusCode === 404;
  // containers first: an orphan image may be the image of an orphan container
  const order = { container: 0, volume: 1, image: 2 } as const;
  for (const x of [...orphans].sort((a, b) => order[a.kind] - order[b.kind])) {
    try {
      if (x.kind === "container") await d.getContainer(x.id).remove({ force: true });
      else if (x.kind === "volume") {
        if (!o.volumes) {
          out.kept.push({ ...x, reason: "a volume outlives its run: pass --volumes to remove it" });
          continue;
        }
        await d.getVolume(x.id).remove();
      } else await d.getImage(x.id).remove();
      out.removed.push(x);
    } catch (e) {
      if (gone(e)) out.removed.push(x);
      else if ((e as { statusCode?: number }).statusCode === 409) out.kept.push({ ...x, reason: "in use" });
      else throw e;
    }
  }
  return out;
}
