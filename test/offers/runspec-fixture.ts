/**
 * A small RunSpec builder for offer tests: dstack's defaults (DEFAULT_RESOURCES, spot_policy
 * auto) with overrides, so each test states only what it is about.
 */
import * as path from "path";
import { DEFAULT_RESOURCES, type GpuSpec, type Range, type ResourcesSpec, type RunSpec } from "../../src/config/runspec";

export const FIXTURE_CATALOG = path.join(__dirname, "fixtures", "catalog");

export const range = (min: number | null, max: number | null = min): Range => ({ min, max });
export const atLeast = (min: number): Range => ({ min, max: null });

export interface SpecOverrides extends Partial<Omit<RunSpec, "resources" | "type">> {
  cpu?: Partial<ResourcesSpec["cpu"]>;
  memory?: Range;
  disk?: Range | null;
  gpu?: Partial<GpuSpec>;
}

export function runSpec(o: SpecOverrides = {}): RunSpec {
  const { cpu, memory, disk, gpu, ...rest } = o;
  const resources: ResourcesSpec = {
    cpu: { ...DEFAULT_RESOURCES.cpu, ...cpu },
    memory: memory ?? DEFAULT_RESOURCES.memory,
    shm_size: null,
    gpu: { ...DEFAULT_RESOURCES.gpu, ...gpu },
    disk: disk === null ? null : disk ? { size: disk } : DEFAULT_RESOURCES.disk,
  };
  return {
    type: "dev-environment",
    ide: "vscode",
    version: null,
    inactivity_duration: null,
    configuration_path: "/repo/.dstack.yml",
    repo_dir: "/repo",
    repo_id: "0000",
    name: "test-run",
    name_generated: false,
    python_defaulted: false,
    image: null,
    python: null,
    nvcc: false,
    registry_auth: null,
    working_dir: "/workflow",
    shell: null,
    user: null,
    privileged: false,
    entrypoint: null,
    docker: null,
    env: {},
    secret_env: [],
    ports: [],
    volumes: [],
    resources,
    build: [],
    setup: [],
    init: [],
    spot_policy: "auto",
    retry: { enabled: false, on_events: [], duration: null },
    max_duration: null,
    max_price: null,
    max_cost: null,
    backends: null,
    regions: null,
    availability_zones: null,
    instance_types: null,
    idle_duration: null,
    stop_duration: null,
    creation_policy: null,
    fleets: null,
    tags: {},
    reservation: null,
    priority: null,
    utilization_policy: null,
    schedule: null,
    build_missing: false,
    force_build: false,
    profile: { name: null, path: null, sources: {} },
    unsupported: [],
    ...rest,
  };
}
