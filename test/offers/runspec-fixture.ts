/**
 * A small RunSpec builder for offer tests: dstack's defaults (DEFAULT_RESOURCES, spot_policy
 * auto) with overrides, so each test states only what it is about.
 */
import * as path from "path";
import { DEFAULT_RESOURCES, type GpuSpec, type Range, type ResourcesSpec, type RunSpec } from "../../src/config/runspec";
import { commonRunFields } from "../support/run-fields";

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
    ...commonRunFields(),
    type: "dev-environment",
    ide: "vscode",
    version: null,
    inactivity_duration: null,
    resources,
    ...rest,
  };
}
