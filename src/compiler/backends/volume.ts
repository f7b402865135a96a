/**
 * Volumes by name: a `type: volume` configuration (src/config/runspec.ts VolumeSpec) becomes a
 * VolumePlan (pure: `planVolume`), which each backend's volume program turns into its own
 * stack's resources (`volumeProgramFor` in ./volume-programs.ts): a Docker volume (local), an EBS volume (aws), a
 * persistent disk (gcp), a managed disk (azure). A volume's stack is its own (src/runs/volumes.ts
 * names it and drives it), so destroying it deletes the volume; a `volume_id` registers an
 * existing volume, read by id (`Resource.get`), which the stack never deletes.
 *
 * Runs attach volumes by name: their programs get the volume stack's outputs (`VolumeOutputs`:
 * the cloud id, region and zone) in `settings.volumes[name].id` and read the volume; they never
 * create one.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { VolumeSpec } from "../../config/runspec";
import { DSTACK_PROJECT } from "../../project";

export interface VolumePlan {
  project: string;
  name: string;
  backend: string;
  /** The cloud region (`local` for the local backend). */
  region: string;
  /** The availability zone asked for (aws, gcp), or null: the program picks one (aws: one that offers `instance_type`). */
  zone: string | null;
  /** GB of a new volume (ignored with `volume_id`). */
  size: number;
  /** An existing volume to register (EBS id, GCP disk id, Azure disk resource id, Docker volume name): read, never deleted. */
  volume_id: string | null;
  /** aws: a zone offering this instance type is chosen when `zone` is null (the run the volume is created for). */
  instance_type: string | null;
  /** gcp: the disk type (`hyperdisk-balanced` for the Hyperdisk-only machine series). */
  disk_type: string | null;
  /** Tags/labels of the volume's resources (dstack:volume, dstack:kind, dstack:project, dstack:owner, dstack:created-at). */
  tags: Record<string, string>;
  created_at: string;
}

/** What a volume stack outputs (and what `dstack volume ls` and runs read). */
export interface VolumeOutputs {
  kind: "volume";
  name: string;
  backend: string;
  region: string;
  zone: string | null;
  /** The cloud's id of the volume (the Docker volume's name for local). */
  volume_id: string;
  size: number | null;
  /** Registered from `volume_id`: the volume is not dstack's, deleting the stack leaves it. */
  external: boolean;
  created_at: string;
}

/** A volume program's outputs: the same fields, as the program knows them (outputs of its resources). */
export type VolumeProgramOutputs = { [K in keyof VolumeOutputs]: pulumi.Input<VolumeOutputs[K]> } & Record<string, unknown>;

/** The size of a volume created without `size` (the old per-run default), GB. */
export const DEFAULT_VOLUME_SIZE = 100;

export interface VolumePlanContext {
  owner: string;
  now: number;
  project?: string;
  /** The region, resolved by the caller (the spec's, else the backend's first configured one; `local`). */
  region: string;
  instance_type?: string | null;
  disk_type?: string | null;
}

/** The pure planning step of a volume. */
export function planVolume(spec: Pick<VolumeSpec, "name" | "backend" | "availability_zone" | "size" | "volume_id">, ctx: VolumePlanContext): VolumePlan {
  const project = ctx.project ?? DSTACK_PROJECT;
  const created = new Date(ctx.now).toISOString();
  return {
    project,
    name: spec.name,
    backend: spec.backend,
    region: ctx.region,
    zone: spec.availability_zone,
    size: Math.max(1, Math.ceil(spec.size ?? DEFAULT_VOLUME_SIZE)),
    volume_id: spec.volume_id,
    instance_type: ctx.instance_type ?? null,
    disk_type: ctx.disk_type ?? null,
    tags: {
      "dstack:volume": spec.name,
      "dstack:kind": "volume",
      "dstack:project": project,
      "dstack:owner": ctx.owner,
      "dstack:created-at": created,
    },
    created_at: created,
  };
}

export interface VolumeEmitOptions {
  /** The backend's settings (config.yml: gcp_project, azure_project_resource_group, …). */
  settings?: Record<string, unknown>;
}

export type VolumeProgram = (plan: VolumePlan, opts: VolumeEmitOptions) => Promise<VolumeProgramOutputs>;
