/**
 * The RunSpec: one validated, merged, normalized run request. Everything after
 * `src/config` compiles from it. Property names follow dstack's (snake_case).
 * `dstack config --json` prints exactly this object; docs/runspec.md documents it.
 */

/** An inclusive range; `null` is an open end. */
export interface Range {
  min: number | null;
  max: number | null;
}

export type GpuVendor = "nvidia" | "amd" | "intel" | "google" | "tenstorrent";
export type CpuArch = "x86" | "arm";

export interface GpuSpec {
  /** `null` when not given and not inferable. */
  vendor: GpuVendor | null;
  /** Acceptable GPU names (any of), as written (matched case-insensitively); `null` = any. */
  name: string[] | null;
  count: Range;
  /** Per-GPU memory in GB. */
  memory: Range | null;
  /** Total GPU memory (count × per-GPU) in GB. */
  total_memory: Range | null;
  compute_capability: [number, number] | null;
}

export interface ResourcesSpec {
  cpu: { arch: CpuArch | null; count: Range };
  /** GB */
  memory: Range;
  /** GB */
  shm_size: number | null;
  gpu: GpuSpec;
  /** GB */
  disk: { size: Range } | null;
}

export type SpotPolicy = "spot" | "on-demand" | "auto";
export type RetryEvent = "no-capacity" | "interruption" | "error";

export interface RetrySpec {
  enabled: boolean;
  on_events: RetryEvent[];
  /** Seconds; `null` = no limit. */
  duration: number | null;
}

export interface VolumeMountSpec {
  /** A named (network/Docker) volume; a list means "any of these" (dstack semantics). */
  kind: "volume";
  name: string[];
  path: string;
}

export interface InstanceMountSpec {
  /** A path on the instance (host) bind-mounted into the container. */
  kind: "instance";
  instance_path: string;
  path: string;
  optional: boolean;
}

export type MountSpec = VolumeMountSpec | InstanceMountSpec;

export interface PortSpec {
  /** Port inside the container. */
  container_port: number;
  /** Port on the host's 127.0.0.1 (equal to container_port unless mapped, e.g. `8080:80`). */
  local_port: number;
}

export interface RegistryAuth {
  username: string;
  /** Secret: becomes a Pulumi secret, never printed. */
  password: string;
}

/** Where a merged value came from, for `dstack config` and audits. */
export type ValueSource = "cli" | "configuration" | "profile" | "default";

export interface RunSpecBase {
  /** Configuration file, absolute path. */
  configuration_path: string;
  /** The working directory (repo) whose contents the run gets at /workflow; absolute. */
  repo_dir: string;
  /** Stable id of the repo (hash of repo_dir), exported as DSTACK_REPO_ID. */
  repo_id: string;
  name: string;
  /** True when `name` was generated (fast-moth-1), not given. */
  name_generated: boolean;

  image: string | null;
  python: string | null;
  /**
   * True when `python` was not written (nor given by a flag) but taken from this machine's
   * python3: a backend whose image lacks that version may use its own instead (with a warning).
   */
  python_defaulted: boolean;
  nvcc: boolean;
  registry_auth: RegistryAuth | null;
  /** Absolute working directory inside the container (default /workflow). */
  working_dir: string;
  shell: string | null;
  user: string | null;
  privileged: boolean;
  entrypoint: string | null;
  docker: boolean | null;

  /** Resolved environment (every value known). */
  env: Record<string, string>;
  /** Keys of `env` whose values are secret (taken from the caller's environment or `-e`, not written in the file). */
  secret_env: string[];
  ports: PortSpec[];
  volumes: MountSpec[];
  resources: ResourcesSpec;

  /** Commands baked into a prebuilt image (the `build:` property). */
  build: string[];
  /** Run once at the first start. */
  setup: string[];
  /** Run at every start, before the IDE / commands. */
  init: string[];

  // --- profile properties (merged: CLI > configuration > profile > default) ---
  spot_policy: SpotPolicy;
  retry: RetrySpec;
  /** Seconds; `null` = off. */
  max_duration: number | null;
  max_price: number | null;
  /** Dollars: the most the run may cost over its max_duration (price per hour × hours); `null` = no cap. */
  max_cost: number | null;
  backends: string[] | null;
  regions: string[] | null;
  availability_zones: string[] | null;
  instance_types: string[] | null;
  /** Seconds; `null` = off. */
  idle_duration: number | null;
  /** Seconds; `null` = off. */
  stop_duration: number | null;
  creation_policy: "reuse" | "reuse-or-create" | null;
  fleets: string[] | null;
  tags: Record<string, string>;
  reservation: string | null;
  priority: number | null;
  utilization_policy: { min_gpu_utilization: number; time_window: number } | null;
  schedule: { cron: string[] } | null;

  /** Build the prebuilt image when it is missing, else reuse it (`--build`; implied by `--force-build`). */
  build_missing: boolean;
  /** Build the prebuilt image again even when it exists (`--force-build`). */
  force_build: boolean;

  /** Which profile was applied and where each profile-level value came from. */
  profile: { name: string | null; path: string | null; sources: Record<string, ValueSource> };

  /**
   * Properties that were accepted and validated but that no backend honours yet
   * (e.g. `repos`, `files`, `schedule`). `dstack up` reports them; `dstack config` lists them.
   */
  unsupported: { property: string; line?: number; col?: number; /** Why, and what happens instead. */ reason?: string }[];
}

export interface DevEnvironmentRunSpec extends RunSpecBase {
  type: "dev-environment";
  ide: "vscode" | "cursor" | "windsurf" | null;
  version: string | null;
  inactivity_duration: number | null;
}

export interface TaskRunSpec extends RunSpecBase {
  type: "task";
  commands: string[];
  nodes: number;
}

export type RunSpec = DevEnvironmentRunSpec | TaskRunSpec;

/** A `type: volume` configuration. */
export interface VolumeSpec {
  type: "volume";
  configuration_path: string;
  name: string;
  backend: string;
  region: string | null;
  availability_zone: string | null;
  /** GB */
  size: number | null;
  volume_id: string | null;
}

/** Default resources when nothing is given (dstack's). */
export const DEFAULT_RESOURCES: ResourcesSpec = {
  cpu: { arch: null, count: { min: 2, max: null } },
  memory: { min: 8, max: null },
  shm_size: null,
  gpu: { vendor: null, name: null, count: { min: 0, max: null }, memory: null, total_memory: null, compute_capability: null },
  disk: { size: { min: 100, max: null } },
};
