/**
 * How a run meets its volumes by name (pure): which names it mounts, how its offers are
 * narrowed to where those volumes live, what its program gets to read them by id, and which
 * volumes `up` creates first (a name with no volume stack on a cloud: reuse-or-create).
 * The I/O (reading and applying volume stacks) is ./volumes.ts.
 */
import type { RunSpec, VolumeSpec } from "../config/runspec";
import type { VolumeOutputs } from "../compiler/backends/volume";
import { PENDING_VOLUME_ID } from "../compiler/backends/cloud/volume-refs";
import { ConfigError, type Diagnostic } from "../diagnostics";
import type { Offer } from "../offers/offer";

/** The volume names a run mounts, each once (the first of a `name: [a, b]` list, as the plan takes it). */
export function runVolumeNames(spec: Pick<RunSpec, "volumes">): string[] {
  const out: string[] = [];
  for (const m of spec.volumes) if (m.kind === "volume" && !out.includes(m.name[0])) out.push(m.name[0]);
  return out;
}

function intersect(given: string[] | null, only: string, what: string, volume: VolumeOutputs, file: string): { value: string[]; error: Diagnostic | null } {
  if (given === null || given.map((x) => x.toLowerCase()).includes(only.toLowerCase())) return { value: [only], error: null };
  return {
    value: given,
    error: {
      code: "E6405",
      severity: "error",
      message: `volume ${volume.name} is on ${volume.backend}${volume.region !== "local" ? ` in ${volume.region}${volume.zone ? ` (${volume.zone})` : ""}` : ""}, which the run's ${what} (${given.join(", ")}) exclude`,
      hint: `add ${only} to ${what}, or mount another volume`,
      file,
    },
  };
}

/**
 * The run's offers narrowed to where its existing volumes live: their backend, region and zone
 * (a volume attaches only there). Volumes on different backends, regions or zones, or a
 * configuration that excludes them, are E6405.
 */
export function constrainToVolumes(spec: RunSpec, volumes: VolumeOutputs[]): RunSpec {
  if (volumes.length === 0) return spec;
  const errors: Diagnostic[] = [];
  let out: RunSpec = spec;
  for (const v of volumes) {
    const b = intersect(out.backends, v.backend, "backends", v, spec.configuration_path);
    if (b.error) errors.push(b.error);
    else out = { ...out, backends: b.value };
    if (v.backend === "local") continue;
    const r = intersect(out.regions, v.region, "regions", v, spec.configuration_path);
    if (r.error) errors.push(r.error);
    else out = { ...out, regions: r.value };
    if (v.zone) {
      const z = intersect(out.availability_zones, v.zone, "availability_zones", v, spec.configuration_path);
      if (z.error) errors.push(z.error);
      else out = { ...out, availability_zones: z.value };
    }
  }
  if (errors.length) throw new ConfigError(errors);
  return out;
}

/** The program settings with each existing volume's id (`settings.volumes[name].id`), as the programs read them. */
export function withVolumeRefs(settings: Record<string, unknown>, volumes: VolumeOutputs[], pending: string[] = []): Record<string, unknown> {
  if (volumes.length === 0 && pending.length === 0) return settings;
  const own = (settings.volumes ?? {}) as Record<string, Record<string, unknown>>;
  const refs: Record<string, Record<string, unknown>> = { ...own };
  for (const v of volumes) refs[v.name] = { ...(own[v.name] ?? {}), size: v.size ?? own[v.name]?.size ?? 100, id: v.volume_id };
  for (const name of pending) refs[name] = { ...(own[name] ?? {}), id: PENDING_VOLUME_ID };
  return { ...settings, volumes: refs };
}

/**
 * The volumes `up` creates before a cloud run (reuse-or-create): the names without a volume
 * stack, each as a `type: volume` configuration in the chosen offer's region (and zone, when the
 * offer has one), sized and registered as the backend's config.yml says (`volumes: {name: {size,
 * id}}`, default 100 GB). Local runs create none (their Docker volumes are made by the run, as
 * before), nor do kubernetes runs (their PersistentVolumeClaims are the run program's, retained
 * on delete: docs/kubernetes-backend.md). Pure.
 */
export function pendingVolumes(spec: RunSpec, existing: VolumeOutputs[], offer: Offer, settings: Record<string, unknown>): VolumeSpec[] {
  if (offer.backend === "local" || offer.backend === "kubernetes") return [];
  const have = new Set(existing.map((v) => v.name));
  const cfg = (settings.volumes ?? {}) as Record<string, { size?: unknown; id?: unknown } | undefined>;
  return runVolumeNames(spec)
    .filter((name) => !have.has(name))
    .map((name) => ({
      type: "volume" as const,
      configuration_path: spec.configuration_path,
      name,
      backend: offer.backend,
      region: offer.region,
      availability_zone: offer.zone ?? null,
      size: typeof cfg[name]?.size === "number" ? (cfg[name]?.size as number) : null,
      volume_id: typeof cfg[name]?.id === "string" && cfg[name]?.id !== PENDING_VOLUME_ID ? (cfg[name]?.id as string) : null,
    }));
}
