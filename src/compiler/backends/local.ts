/**
 * The `local` backend's Pulumi program: the Plan as a LocalImage, one LocalVolume per named
 * volume and a LocalContainer (resources of dstack's provider plugin over the Docker Engine
 * API: ./local/resources.ts declares them, ./local/plugin.ts serves them).
 *
 * Interface with the engine side (src/stacks, src/runs):
 * - `localPreflight(plan, …)` (src/runs/local-preflight.ts) runs before the engine: it fails
 *   fast (no stack touched) on a missing base image, a missing prebuilt image without
 *   `--build`, or a `python:` the base image cannot provide; `up` builds the prebuilt image
 *   (src/runs/image-build.ts) after the confirmation, before the engine runs.
 * - `EmitOptions.settings` (all optional):
 *     `delete_volumes: boolean`  volumes are deleted with the stack (default false: kept);
 *     `start_script: string`     override of templates/local/start.sh (tests);
 *     `repo_dir: string`         the folder mounted at /workflow (default: plan.repo_dir);
 *     `volumes: {name: {id}}`    volumes that are volume stacks' (src/runs/volumes.ts): mounted
 *                                by their Docker name, left to their stacks.
 * - Stack outputs (RunOutputs plus): `host_key` (the container's public ed25519 host key, for
 *   known_hosts), `container_name`, `image`, `volumes` (Docker volume names, for
 *   `down --volumes` → `removeVolumes()` in src/stacks/docker.ts), `created_at`, `expires_at`
 *   (set when the container was created; stable across updates), `run_type`.
 * - PlanContext.now should stay the run's first creation time on later `up`s (read it from
 *   the `created_at` output): the plan's tags carry it. The container's own created-at /
 *   expires-at labels do not depend on it (see container.ts), so a moving `now` does not
 *   replace the container.
 * - The container is named `dstack-<run>`; its labels: dstack.run, dstack.project,
 *   dstack.owner, dstack.created-at, dstack.expires-at, dstack.ssh-port, plus the user's tags.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { Plan } from "../plan";
import { LocalContainer, LocalImage, LocalVolume } from "./local/resources";
import type { BackendProgram, EmitOptions, RunOutputs } from "./program";
import { packageRoot } from "../../paths";

export interface LocalSettings {
  delete_volumes: boolean;
  start_script: string | null;
  /**
   * Volumes that are volume stacks' (`dstack volume`): name → Docker volume name. The run
   * mounts them and leaves them to their stacks (no LocalVolume of its own, not in `volumes`).
   */
  volume_stacks: Record<string, string>;
}

export function localSettings(opts: EmitOptions): LocalSettings {
  const s = opts.settings ?? {};
  const stacks: Record<string, string> = {};
  const vols = (s.volumes ?? {}) as Record<string, { id?: unknown } | undefined>;
  for (const [name, v] of Object.entries(vols)) if (typeof v?.id === "string") stacks[name] = v.id;
  return {
    delete_volumes: s.delete_volumes === true,
    start_script: typeof s.start_script === "string" ? s.start_script : null,
    volume_stacks: stacks,
  };
}

/** Plan tags → Docker labels: `dstack:run` becomes `dstack.run`; other tags as they are. */
export function dockerLabels(tags: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags)) {
    if (k === "dstack:created-at" || k === "dstack:expires-at") continue; // set by the container provider
    out[k.startsWith("dstack:") ? `dstack.${k.slice("dstack:".length)}` : k] = v;
  }
  return out;
}

export function containerName(runName: string): string {
  return `dstack-${runName}`;
}

export function startScriptPath(): string {
  return path.join(packageRoot(), "templates", "local", "start.sh");
}

/** Pulumi resource name of a volume (unique in the stack, stable for a given Docker name). */
function volumeResourceName(name: string): string {
  return `volume-${name}`;
}

export const localProgram: BackendProgram = async (plan: Plan, opts: EmitOptions): Promise<RunOutputs> => {
  const settings = localSettings(opts);
  const labels = dockerLabels(plan.tags);
  const c = plan.container;

  const auth = plan.image.registry_auth;
  const image = new LocalImage("image", {
    kind: plan.image.kind,
    ref: plan.image.ref,
    build: plan.image.build ? { ...plan.image.build, ref: plan.image.ref } : null,
    registry_auth: auth ? pulumi.secret({ username: auth.username, password: auth.password }) : null,
  }, { retainOnDelete: true }); // images are a shared cache: the engine need not even ask the provider

  // One resource per distinct Docker volume name (a name mounted twice is one volume).
  const volumes = new Map<string, LocalVolume>();
  for (const v of plan.volumes) {
    if (volumes.has(v.name) || Object.hasOwn(settings.volume_stacks, v.name)) continue;
    volumes.set(
      v.name,
      new LocalVolume(volumeResourceName(v.name), { name: v.name, labels, retain: !settings.delete_volumes }, { retainOnDelete: !settings.delete_volumes }),
    );
  }

  const secretKeys = new Set(c.secret_env);
  const env: Record<string, string> = {};
  const secretEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.env)) (secretKeys.has(k) ? secretEnv : env)[k] = v;

  const mounts = [
    ...plan.volumes.map((v) => ({ type: "volume" as const, source: settings.volume_stacks[v.name] ?? v.name, target: v.path })),
    ...plan.instance_mounts
      .filter((m) => !m.optional || fs.existsSync(m.instance_path))
      .map((m) => ({ type: "bind" as const, source: path.resolve(m.instance_path), target: m.path })),
  ];

  const container = new LocalContainer(
    "container",
    {
      name: containerName(plan.run_name),
      image: image.ref,
      image_id: image.image_id,
      run_type: plan.run_type,
      keep_running: plan.run_type !== "task",
      repo_dir: repoDirOf(plan, opts),
      working_dir: c.working_dir,
      env,
      secret_env: pulumi.secret(secretEnv),
      setup: c.setup,
      init: c.init,
      commands: c.commands,
      shell: c.shell,
      ssh_user: plan.ssh.user,
      ssh_public_key: plan.ssh.public_key,
      mounts,
      privileged: c.privileged,
      cpus: c.cpus,
      memory: c.memory,
      shm_size: c.shm_size,
      gpus: c.gpus,
      labels,
      max_duration: plan.max_duration,
      inactivity_duration: plan.inactivity_duration ?? null,
      stop_duration: plan.stop_duration ?? null,
      start_script: settings.start_script ?? fs.readFileSync(startScriptPath(), "utf8"),
    },
    { dependsOn: [...volumes.values()] },
  );

  return {
    ssh_host: "127.0.0.1",
    ssh_port: container.ssh_port,
    ssh_user: plan.ssh.user,
    instance_id: container.container_id,
    host_key: container.host_key,
    container_name: containerName(plan.run_name),
    image: plan.image.ref,
    volumes: [...volumes.keys()],
    created_at: container.created_at,
    expires_at: container.expires_at,
    run_type: plan.run_type,
    backend: "local",
    region: "local",
  };
};

/** The host folder mounted at /workflow: `settings.repo_dir`, else `plan.repo_dir`. */
function repoDirOf(plan: Plan, opts: EmitOptions): string {
  const fromSettings = opts.settings?.repo_dir;
  const dir = typeof fromSettings === "string" ? fromSettings : plan.repo_dir;
  if (!dir) throw new Error("the local program needs the repo folder: plan.repo_dir (or settings.repo_dir)");
  return path.resolve(dir);
}
