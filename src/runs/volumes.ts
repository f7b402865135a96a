/**
 * Volumes by name (dstack's `type: volume`): each volume is a stack of its own, `volume.<name>`
 * (src/stacks/volume-stacks.ts), in the runs' state backend, tagged `dstack:kind=volume`,
 * `dstack:volume`, `dstack:backend`, `dstack:region`, `dstack:zone`, `dstack:owner`,
 * `dstack:project`. Its program is the backend's volume program
 * (src/compiler/backends/volume.ts); its outputs (`VolumeOutputs`: id, region, zone, size) are
 * what runs read to attach it.
 *
 *   applyVolume(spec)          `dstack up`/`apply` of a `type: volume` configuration (create,
 *                              register a `volume_id`, or nothing when it is as asked)
 *   previewVolume(spec)        `dstack preview` of it (a new one leaves no stack behind)
 *   listVolumes()              `dstack volume ls`: volume stacks, plus the local Docker volumes
 *                              runs made by name (not stacks), with the live runs using each
 *   deleteVolume(name)         `dstack volume delete`: refused while a live run uses it (E6402);
 *                              destroys the stack (the volume with it, unless registered) and
 *                              removes it
 *   existingRunVolumes(spec)   a run's volumes that have stacks, for its offers and program
 *   createRunVolumes(planned)  `up` of a cloud run: its names without a stack, created first
 *
 * Heavy (Automation API, dockerode): load lazily from CLI actions.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { RunSpec, VolumeSpec } from "../config/runspec";
import { planVolume, type VolumeOutputs, type VolumePlan } from "../compiler/backends/volume";
import { volumeBackends, volumeProgramFor } from "../compiler/backends/volume-programs";
import { cloudPrerequisites, isCloudBackend } from "../compiler/backends/cloud/prerequisites";
import { DstackError, ExitCode, type Diagnostic } from "../diagnostics";
import { backendSettings, readBackendsConfig } from "../offers/backends-config";
import { dockerClient } from "../stacks/docker";
import { collectChanges, type ResourceChange } from "../stacks/events";
import * as ws from "../stacks/workspace";
import { requireCloudCredentials } from "./cloud-credentials";
import { ensureProviderPlugin } from "./cloud-preflight";
import { programSettings } from "./inputs";
import { ownerName, type PlannedRun } from "./lifecycle";
import { isActive } from "./record";
import { listRecords } from "./records";
import { constrainToVolumes, pendingVolumes, runVolumeNames, withVolumeRefs } from "./volume-refs";

type Env = { env?: NodeJS.ProcessEnv };

/** A volume as `dstack volume ls` shows it (schemas/volume-ls.schema.json). */
export interface VolumeView {
  name: string;
  backend: string;
  region: string | null;
  zone: string | null;
  /** The cloud's id (EBS `vol-…`, GCP disk id, Azure disk resource id) or the Docker volume's name; null while its stack holds none. */
  volume_id: string | null;
  size_gb: number | null;
  /** Registered from `volume_id`: `dstack volume delete` forgets it and leaves it in place. */
  external: boolean;
  /** `stack`: a volume stack's; `run`: a local Docker volume a run made by name (no stack). */
  source: "stack" | "run";
  stack: string | null;
  /** `ready`, or `incomplete` (the stack holds no volume: an interrupted apply; `dstack up` it again or delete it). */
  status: "ready" | "incomplete";
  owner: string | null;
  created_at: string | null;
  /** Live runs that mount it. */
  used_by: string[];
}

export interface VolumeList {
  volumes: VolumeView[];
  /** E4104 when Docker does not answer: local volumes made by runs are not listed. */
  warnings: Diagnostic[];
}

/** A volume stack's outputs, or null when there is no such stack; `volume_id` absent while incomplete. */
function volumeOf(outputs: Record<string, unknown> | null): VolumeOutputs | null {
  if (!outputs || outputs.kind !== "volume" || typeof outputs.volume_id !== "string") return null;
  return outputs as unknown as VolumeOutputs;
}

/** The volume stack's outputs (null: no stack, or one that holds no volume yet). */
export async function readVolume(name: string, o: Env = {}): Promise<VolumeOutputs | null> {
  return volumeOf(await ws.readOutputs(ws.volumeStackName(name), o.env ?? process.env));
}

function noVolumeProgram(backend: string): DstackError {
  return new DstackError(
    { code: "E6400", severity: "error", message: `volumes on backend ${backend} are not supported`, hint: `use one of: ${volumeBackends().join(", ")}` },
    ExitCode.Usage,
  );
}

/** The region a volume goes to: its own, else the backend's first region in config.yml (`local` for local). */
export function volumeRegion(spec: Pick<VolumeSpec, "name" | "backend" | "region" | "configuration_path">, env?: NodeJS.ProcessEnv): string {
  if (spec.backend === "local") return "local";
  if (spec.region) return spec.region;
  const cfg = readBackendsConfig({ env }).backends.find((b) => b.type === spec.backend);
  if (cfg?.regions?.length) return cfg.regions[0];
  throw new DstackError(
    {
      code: "E6400",
      severity: "error",
      message: `volume ${spec.name}: no region for ${spec.backend} (the configuration names none, and config.yml gives the backend no regions)`,
      hint: `add \`region: <region>\` to ${spec.configuration_path}, or \`regions: [...]\` to the ${spec.backend} entry of config.yml`,
      file: spec.configuration_path,
    },
    ExitCode.Usage,
  );
}

/** Credentials and plugin (clouds) or the Docker engine (local) before any engine call. */
async function volumePreflight(backend: string, o: Env & { onNotice?: (m: string) => void }): Promise<void> {
  const env = o.env ?? process.env;
  if (backend === "local") {
    await dockerClient(env); // E4101 / E4102 (exit 5)
    return;
  }
  if (!isCloudBackend(backend)) throw noVolumeProgram(backend);
  requireCloudCredentials(backend, env);
  await ensureProviderPlugin(backend, cloudPrerequisites(backend).plugin, { env, onNotice: o.onNotice });
}

/** An existing volume of that name that is not the one asked for (E6401). */
function conflict(spec: VolumeSpec, region: string, prev: VolumeOutputs): DstackError | null {
  const differs: string[] = [];
  if (prev.backend !== spec.backend) differs.push(`backend ${prev.backend}`);
  else if (prev.region !== region) differs.push(`region ${prev.region}`);
  if (spec.availability_zone && prev.zone && prev.zone !== spec.availability_zone) differs.push(`zone ${prev.zone}`);
  if (spec.volume_id && prev.volume_id !== spec.volume_id && prev.backend !== "local") differs.push(`id ${prev.volume_id}`);
  if (!spec.volume_id && prev.external) differs.push(`a registered volume (${prev.volume_id})`);
  if (differs.length === 0) return null;
  return new DstackError(
    {
      code: "E6401",
      severity: "error",
      message: `volume ${spec.name} exists already with ${differs.join(", ")}; a volume's backend, region, zone and id cannot change`,
      hint: `use another name, or \`dstack volume delete ${spec.name}\` first (its data goes with it)`,
      file: spec.configuration_path,
    },
    ExitCode.Usage,
  );
}

export interface PlannedVolume {
  spec: VolumeSpec;
  plan: VolumePlan;
  stack: string;
  /** The volume stack's outputs before this apply (null: a new volume). */
  previous: VolumeOutputs | null;
  /** The stack exists (possibly incomplete). */
  exists: boolean;
  settings: Record<string, unknown>;
}

/** Plans a volume: region, conflicts, the stack's creation time kept (a re-apply is a no-op). */
export async function planVolumeApply(spec: VolumeSpec, o: Env & { instanceType?: string | null; now?: number } = {}): Promise<PlannedVolume> {
  const env = o.env ?? process.env;
  if (!volumeBackends().includes(spec.backend)) throw noVolumeProgram(spec.backend);
  const region = volumeRegion(spec, env);
  const stack = ws.volumeStackName(spec.name);
  const outputs = await ws.readOutputs(stack, env);
  const previous = volumeOf(outputs);
  if (previous) {
    const c = conflict(spec, region, previous);
    if (c) throw c;
  }
  const created = previous?.created_at ? Date.parse(previous.created_at) : (o.now ?? Date.now());
  const instanceType = o.instanceType ?? null;
  const plan = planVolume(
    // an existing volume keeps the zone it has (a re-apply without a zone asks for no change)
    { ...spec, availability_zone: spec.availability_zone ?? previous?.zone ?? null },
    { owner: ownerName(), now: created, region, instance_type: instanceType },
  );
  const settings = spec.backend === "local" ? {} : backendSettings(spec.backend, { env });
  return { spec, plan, stack, previous, exists: outputs !== null, settings };
}

function volumeStackProgram(p: PlannedVolume): ws.PulumiFn {
  return async () => {
    const program = await volumeProgramFor(p.plan.backend);
    return program(p.plan, { settings: p.settings });
  };
}

function stackTags(plan: VolumePlan): Record<string, string> {
  return {
    "dstack:kind": "volume",
    "dstack:volume": plan.name,
    "dstack:backend": plan.backend,
    "dstack:region": plan.region,
    "dstack:zone": plan.zone ?? "",
    "dstack:owner": plan.tags["dstack:owner"] ?? "",
    "dstack:project": plan.project,
  };
}

export interface ApplyVolumeOptions extends Env {
  onEvent?: (e: EngineEvent) => void;
  onNotice?: (m: string) => void;
  signal?: AbortSignal;
}

export interface AppliedVolume {
  volume: VolumeOutputs;
  /** The volume stack was new. */
  created: boolean;
  changes: Record<string, number>;
}

/** `pulumi up` of the volume's stack (created when new), then its tags. */
export async function applyPlannedVolume(p: PlannedVolume, o: ApplyVolumeOptions = {}): Promise<AppliedVolume> {
  const env = o.env ?? process.env;
  await volumePreflight(p.plan.backend, o);
  const stack = await ws.openStack(p.stack, volumeStackProgram(p), { env, exists: p.exists });
  const verb = p.plan.volume_id ? `registers ${p.plan.volume_id}` : `${p.previous ? "updates" : "creates"} it`;
  const res = await ws.upStack(stack, { env, onEvent: o.onEvent, signal: o.signal, message: `dstack: volume ${p.plan.name} on ${p.plan.backend}/${p.plan.region}: ${verb}` });
  const zone = typeof res.outputs.zone === "string" ? res.outputs.zone : null;
  await ws.setStackTags(p.stack, { ...stackTags(p.plan), "dstack:zone": zone ?? "" }, env);
  const volume = volumeOf(res.outputs);
  if (!volume) throw new DstackError({ code: "E6407", severity: "error", message: `volume ${p.plan.name}: its stack has no volume after the update`, hint: "this is a backend bug; `dstack volume delete` removes the stack" }, ExitCode.Provisioning);
  return { volume, created: !p.exists, changes: res.changes };
}

/** `dstack up` of a `type: volume` configuration. */
export async function applyVolume(spec: VolumeSpec, o: ApplyVolumeOptions = {}): Promise<AppliedVolume> {
  return applyPlannedVolume(await planVolumeApply(spec, o), o);
}

/** `dstack preview` of a volume: Pulumi's diff (a new volume's stack is removed afterwards). */
export async function previewPlannedVolume(p: PlannedVolume, o: ApplyVolumeOptions = {}): Promise<ResourceChange[]> {
  const env = o.env ?? process.env;
  await volumePreflight(p.plan.backend, o);
  const events: EngineEvent[] = [];
  const stack = await ws.openStack(p.stack, volumeStackProgram(p), { env, exists: p.exists });
  try {
    await stack.preview({
      signal: o.signal,
      onEvent: (e) => {
        events.push(e);
        o.onEvent?.(e);
      },
    });
  } catch (e) {
    throw ws.engineError(e, `previewing volume ${p.plan.name}`);
  } finally {
    if (!p.exists) await stack.workspace.removeStack(p.stack).catch(() => undefined);
  }
  return collectChanges(events);
}

export async function previewVolume(spec: VolumeSpec, o: ApplyVolumeOptions & { instanceType?: string | null } = {}): Promise<{ planned: PlannedVolume; changes: ResourceChange[] }> {
  const planned = await planVolumeApply(spec, o);
  return { planned, changes: await previewPlannedVolume(planned, o) };
}

/** Live runs by the volume names they mount. */
export async function volumesInUse(o: Env = {}): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const r of await listRecords({ env: o.env })) {
    if (!r.record || !isActive(r.record.status)) continue;
    for (const v of r.record.volumes) out.set(v, [...(out.get(v) ?? []), r.name]);
  }
  return out;
}

function viewOfStack(stack: string, outputs: Record<string, unknown> | null, tags: Record<string, string> | null, usedBy: string[]): VolumeView {
  const v = volumeOf(outputs);
  const t = tags ?? {};
  return {
    name: ws.volumeNameOfStack(stack),
    backend: v?.backend ?? t["dstack:backend"] ?? "unknown",
    region: v?.region ?? t["dstack:region"] ?? null,
    zone: v?.zone ?? (t["dstack:zone"] || null),
    volume_id: v?.volume_id ?? null,
    size_gb: typeof v?.size === "number" ? v.size : null,
    external: v?.external === true,
    source: "stack",
    stack,
    status: v ? "ready" : "incomplete",
    owner: t["dstack:owner"] || null,
    created_at: v?.created_at ?? null,
    used_by: usedBy,
  };
}

/** Local Docker volumes that runs made by name (label `dstack.run`), not volume stacks'. */
async function runMadeDockerVolumes(env: NodeJS.ProcessEnv): Promise<{ name: string; labels: Record<string, string>; created: string | null }[]> {
  const docker = await dockerClient(env);
  const { Volumes } = await docker.listVolumes({ filters: { label: ["dstack.run"] } });
  return (Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {}, created: (v as { CreatedAt?: string }).CreatedAt ?? null }));
}

/** `dstack volume ls`: every volume stack, and the local Docker volumes runs made by name. */
export async function listVolumes(o: Env = {}): Promise<VolumeList> {
  const env = o.env ?? process.env;
  const stacks = await ws.listVolumeStackNames(env);
  const used = await volumesInUse({ env });
  const volumes = await Promise.all(
    stacks.map(async (s) => {
      const [outputs, tags] = await Promise.all([ws.readOutputs(s, env), ws.readStackTags(s, env)]);
      return viewOfStack(s, outputs, tags, used.get(ws.volumeNameOfStack(s)) ?? []);
    }),
  );
  const warnings: Diagnostic[] = [];
  try {
    const known = new Set(volumes.filter((v) => v.backend === "local").flatMap((v) => [v.name, v.volume_id]));
    for (const d of await runMadeDockerVolumes(env)) {
      if (known.has(d.name)) continue;
      volumes.push({
        name: d.name,
        backend: "local",
        region: "local",
        zone: null,
        volume_id: d.name,
        size_gb: null,
        external: false,
        source: "run",
        stack: null,
        status: "ready",
        owner: d.labels["dstack.owner"] ?? null,
        created_at: d.created,
        used_by: used.get(d.name) ?? [],
      });
    }
  } catch (e) {
    if (!(e instanceof DstackError) || !/^E410[12]$/.test(e.diagnostics[0]?.code ?? "")) throw e;
    const d = e.diagnostics[0];
    warnings.push({ code: "E4104", severity: "warning", message: `local volumes made by runs are not listed: ${d.message}`, hint: d.hint });
  }
  volumes.sort((a, b) => a.name.localeCompare(b.name));
  return { volumes, warnings };
}

export interface DeletedVolume {
  name: string;
  /** `stack`: the volume stack was destroyed and removed; `docker`: a run-made local Docker volume was removed. */
  removed: "stack" | "docker";
  /** A registered volume: forgotten, left in place. */
  kept_in_place: boolean;
  volume_id: string | null;
}

/**
 * `dstack volume delete NAME`: refused while a live run mounts it (E6402); a volume stack is
 * destroyed (its volume with it, unless registered from `volume_id`) and removed; a local
 * Docker volume a run made by name is removed. Neither: E6404.
 */
export async function deleteVolume(name: string, o: Env & { signal?: AbortSignal; onStep?: (s: { type: string; name: string; state: "start" | "done" | "failed" }) => void; onEvent?: (e: EngineEvent) => void } = {}): Promise<DeletedVolume> {
  const env = o.env ?? process.env;
  const users = (await volumesInUse({ env })).get(name) ?? [];
  if (users.length) {
    throw new DstackError(
      {
        code: "E6402",
        severity: "error",
        message: `volume ${name} is in use by ${users.length === 1 ? "run" : "runs"} ${users.join(", ")}; nothing was deleted`,
        hint: `stop ${users.length === 1 ? "it" : "them"} first (\`dstack down ${users.join(" ")}\`), then delete the volume`,
      },
      ExitCode.Usage,
    );
  }
  const stack = ws.volumeStackName(name);
  const outputs = await ws.readOutputs(stack, env);
  if (outputs !== null) {
    const v = volumeOf(outputs);
    if (v?.backend === "local" || (!v && (await ws.readStackTags(stack, env))?.["dstack:backend"] === "local")) await dockerClient(env);
    if (ws.diyStacksDir(env) !== null) await ws.destroyWithCli(stack, { env, signal: o.signal, onStep: o.onStep });
    else await ws.destroyAndRemove(await ws.openStack(stack, async () => ({}), { env, create: false }), { onEvent: o.onEvent, signal: o.signal, env });
    return { name, removed: "stack", kept_in_place: v?.external === true, volume_id: v?.volume_id ?? null };
  }
  // a local Docker volume a run made by name (listed by `volume ls`)
  let made: { name: string }[] = [];
  try {
    made = await runMadeDockerVolumes(env);
  } catch (e) {
    if (!(e instanceof DstackError) || !/^E410[12]$/.test(e.diagnostics[0]?.code ?? "")) throw e;
  }
  if (made.some((d) => d.name === name)) {
    const { removeVolumes } = await import("../stacks/docker");
    await removeVolumes([name]);
    return { name, removed: "docker", kept_in_place: false, volume_id: name };
  }
  throw new DstackError({ code: "E6404", severity: "error", message: `no volume named ${name}`, hint: "`dstack volume ls` lists the volumes" }, ExitCode.NotFound);
}

// ---------------------------------------------------------------------------------------------
// Runs and their volumes

/** A run's volumes that have volume stacks (holding a volume), by name. */
export async function existingRunVolumes(spec: Pick<RunSpec, "volumes">, o: Env = {}): Promise<VolumeOutputs[]> {
  const names = runVolumeNames(spec);
  if (names.length === 0) return [];
  const found = await Promise.all(names.map((n) => readVolume(n, o)));
  return found.filter((v): v is VolumeOutputs => v !== null);
}

/** The run's spec narrowed to where its existing volumes live (E6405 when it excludes them). */
export async function runSpecForVolumes(spec: RunSpec, o: Env = {}): Promise<{ spec: RunSpec; volumes: VolumeOutputs[] }> {
  const volumes = await existingRunVolumes(spec, o);
  return { spec: constrainToVolumes(spec, volumes), volumes };
}

/** A run's program settings (programSettings) with its volumes' ids from their stacks. */
export async function runProgramSettings(spec: RunSpec, backend: string, o: Env & { forceBuild?: boolean } = {}): Promise<Record<string, unknown>> {
  const base = programSettings(backend, { env: o.env, forceBuild: o.forceBuild });
  return withVolumeRefs(base, await existingRunVolumes(spec, o));
}

/** The volumes `up` creates before a cloud run: its names without a stack (reuse-or-create). */
export function volumesToCreate(planned: PlannedRun, existing: VolumeOutputs[]): VolumeSpec[] {
  return pendingVolumes(planned.spec, existing, planned.plan.offer, planned.settings);
}

/**
 * `up` of a cloud run whose volumes have no stacks: each is created as its own volume stack
 * (in the run's region, in a zone that offers its instance type), then the run's program gets
 * its id and the run's spec is narrowed to its region and zone (so that a retry stays there).
 * Updates `run` in place: the run's program reads `planned.settings` and `planned.spec` when the
 * engine runs it, and later attempts plan from `spec`.
 */
export async function createRunVolumes(run: { spec: RunSpec; planned: PlannedRun }, specs: VolumeSpec[], o: ApplyVolumeOptions = {}): Promise<VolumeOutputs[]> {
  const made: VolumeOutputs[] = [];
  for (const s of specs) {
    const p = await planVolumeApply(s, { env: o.env, instanceType: run.planned.plan.offer.instance_type });
    made.push((await applyPlannedVolume(p, o)).volume);
  }
  run.planned.settings = withVolumeRefs(run.planned.settings, made);
  run.planned.spec = constrainToVolumes(run.planned.spec, made);
  run.spec = constrainToVolumes(run.spec, made);
  return made;
}
