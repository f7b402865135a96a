/**
 * The backend-neutral plan: everything a backend needs to emit its Pulumi program,
 * decided purely from a RunSpec, the chosen offer and a small context. `plan()` does no I/O:
 * the same inputs always give the same plan.
 */
import { createHash } from "crypto";
import type { MountSpec, PortSpec, RegistryAuth, RunSpec } from "../config/runspec";
import type { Offer } from "../offers/offer";
import { DSTACK_PROJECT } from "../project";

/** Inputs that come from the outside world, gathered by the caller (CLI / runs). */
export interface PlanContext {
  /** OpenSSH public key line (`ssh-ed25519 AAAA… comment`) of the run's key pair. */
  sshPublicKey: string;
  /** Who starts the run (OS user name), for the `dstack:owner` tag. */
  owner: string;
  /** Creation time, epoch milliseconds. */
  now: number;
  /** Default image when the RunSpec names none (the local base image for `local`, a GPU-ready image on clouds). */
  baseImage: string;
  /** Project name (Pulumi project and `dstack:project` tag). */
  project?: string;
  /**
   * sha256 of the repo's files (src/runs/repo-files.ts repoFilesHash), the build context of
   * `build:` commands: part of the prebuilt image's hash. Absent: the hash covers no files.
   */
  buildContextHash?: string;
}

export interface PlanImage {
  /**
   * `base`: the default image as is; `prebuilt`: the default (or given) image plus `build`
   * commands, tagged by content hash; `user`: the `image:` property as is.
   */
  kind: "base" | "prebuilt" | "user";
  /** Image the container starts from (for `prebuilt`, the prebuilt tag). */
  ref: string;
  /** For `prebuilt`: what to build. */
  build: {
    from: string;
    commands: string[];
    python: string | null;
    nvcc: boolean;
    hash: string;
    /** The directory the commands run in (the run's working_dir, where the repo's files are). */
    working_dir: string;
    /** PlanContext.buildContextHash, when the hash covers the repo's files. */
    context_hash?: string;
  } | null;
  registry_auth: RegistryAuth | null;
}

export interface PlanVolume {
  /** Volume name as the user wrote it (first of a list). */
  name: string;
  path: string;
}

export interface PlanInstanceMount {
  instance_path: string;
  path: string;
  optional: boolean;
}

export interface PlanContainer {
  working_dir: string;
  /** Plain env, including DSTACK_RUN_NAME, DSTACK_REPO_ID, DSTACK_GPUS_NUM. */
  env: Record<string, string>;
  /** Keys of `env` whose values must become secrets. */
  secret_env: string[];
  setup: string[];
  init: string[];
  /** Task commands (empty for dev environments). */
  commands: string[];
  ports: PortSpec[];
  shell: string;
  user: string | null;
  privileged: boolean;
  /** GB, or `null` to leave the engine default. */
  shm_size: number | null;
  /** CPU limit in cores (the offer's count for `local` only when resources cap it). */
  cpus: number | null;
  /** Memory limit GB, or `null`. */
  memory: number | null;
  gpus: number;
}

export interface Plan {
  project: string;
  run_name: string;
  run_type: RunSpec["type"];
  /** The host folder whose contents the run gets at /workflow (RunSpec.repo_dir); optional for hand-made plans. */
  repo_dir?: string;
  backend: string;
  offer: Offer;
  image: PlanImage;
  container: PlanContainer;
  volumes: PlanVolume[];
  instance_mounts: PlanInstanceMount[];
  ssh: { public_key: string; user: string };
  /** Root disk size, GB (the offer's, else the minimum of `resources.disk`, else 100). */
  disk_size: number;
  spot: boolean;
  max_price: number | null;
  /** Seconds, or `null`. */
  max_duration: number | null;
  /** ISO time the run must be torn down by, or `null`. */
  expires_at: string | null;
  created_at: string;
  ide: "vscode" | "cursor" | "windsurf" | null;
  /** Tags/labels applied to every resource (once, as a stack transformation). */
  tags: Record<string, string>;
}

/**
 * Content hash of what makes a prebuilt image: base image, build commands, python, nvcc and,
 * when given, the repo's files the commands see and the directory they run in.
 */
export function prebuiltImageHash(from: string, commands: string[], python: string | null, nvcc: boolean, context?: { hash: string; working_dir: string }): string {
  const h = createHash("sha256");
  h.update(JSON.stringify({ from, commands, python, nvcc }));
  if (context) h.update(JSON.stringify({ context: context.hash, working_dir: context.working_dir }));
  return h.digest("hex").slice(0, 16);
}

function planImage(spec: RunSpec, ctx: PlanContext): PlanImage {
  const from = spec.image ?? ctx.baseImage;
  if (spec.build.length > 0) {
    const context = ctx.buildContextHash ? { hash: ctx.buildContextHash, working_dir: spec.working_dir } : undefined;
    const hash = prebuiltImageHash(from, spec.build, spec.python, spec.nvcc, context);
    return {
      kind: "prebuilt",
      ref: `dstack-prebuilt:${hash}`,
      build: { from, commands: spec.build, python: spec.python, nvcc: spec.nvcc, hash, working_dir: spec.working_dir, ...(context ? { context_hash: context.hash } : {}) },
      registry_auth: spec.registry_auth,
    };
  }
  return { kind: spec.image ? "user" : "base", ref: from, build: null, registry_auth: spec.registry_auth };
}

function splitMounts(mounts: MountSpec[]): { volumes: PlanVolume[]; instance: PlanInstanceMount[] } {
  const volumes: PlanVolume[] = [];
  const instance: PlanInstanceMount[] = [];
  for (const m of mounts) {
    if (m.kind === "volume") volumes.push({ name: m.name[0], path: m.path });
    else instance.push({ instance_path: m.instance_path, path: m.path, optional: m.optional });
  }
  return { volumes, instance };
}

/** The pure planning step: RunSpec + chosen offer + context → backend-neutral plan. */
export function plan(spec: RunSpec, offer: Offer, ctx: PlanContext): Plan {
  const project = ctx.project ?? DSTACK_PROJECT;
  const created = new Date(ctx.now);
  const expires = spec.max_duration != null ? new Date(ctx.now + spec.max_duration * 1000) : null;
  const { volumes, instance } = splitMounts(spec.volumes);
  const gpus = offer.gpu_count;
  const env: Record<string, string> = {
    ...spec.env,
    DSTACK_RUN_NAME: spec.name,
    DSTACK_REPO_ID: spec.repo_id,
    DSTACK_GPUS_NUM: String(gpus),
  };
  const r = spec.resources;
  const tags: Record<string, string> = {
    ...spec.tags,
    "dstack:run": spec.name,
    "dstack:project": project,
    "dstack:owner": ctx.owner,
    "dstack:created-at": created.toISOString(),
    "dstack:expires-at": expires ? expires.toISOString() : "never",
  };
  return {
    project,
    run_name: spec.name,
    run_type: spec.type,
    repo_dir: spec.repo_dir,
    backend: offer.backend,
    offer,
    image: planImage(spec, ctx),
    container: {
      working_dir: spec.working_dir,
      env,
      secret_env: [...spec.secret_env].sort(),
      setup: spec.setup,
      init: spec.init,
      commands: spec.type === "task" ? spec.commands : [],
      ports: spec.ports,
      shell: spec.shell ?? "/bin/bash",
      user: spec.user,
      privileged: spec.privileged,
      shm_size: r.shm_size,
      cpus: r.cpu.count.max != null ? Math.min(r.cpu.count.max, offer.cpu) : null,
      memory: r.memory.max != null ? Math.min(r.memory.max, offer.memory) : null,
      gpus,
    },
    volumes,
    instance_mounts: instance,
    ssh: { public_key: ctx.sshPublicKey, user: "root" },
    disk_size: offer.disk ?? r.disk?.size.min ?? 100,
    spot: offer.spot,
    max_price: spec.max_price,
    max_duration: spec.max_duration,
    expires_at: expires ? expires.toISOString() : null,
    created_at: created.toISOString(),
    ide: spec.type === "dev-environment" ? spec.ide : null,
    tags,
  };
}
