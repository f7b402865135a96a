/**
 * The volume programs by backend (./volume.ts says what a volume program is), each loaded on
 * first use, as ./index.ts loads the run programs.
 */
import type { VolumeProgram } from "./volume";

const LOADERS: Readonly<Record<string, () => Promise<VolumeProgram>>> = {
  local: async () => (await import("./volume-local")).localVolumeProgram,
  aws: async () => (await import("./volume-aws")).awsVolumeProgram,
  gcp: async () => (await import("./volume-gcp")).gcpVolumeProgram,
  azure: async () => (await import("./volume-azure")).azureVolumeProgram,
};

/** Backends that have a volume program. */
export function volumeBackends(): string[] {
  return Object.keys(LOADERS).sort();
}

/** The volume program of a backend (its module loaded on first use). */
export async function volumeProgramFor(backend: string): Promise<VolumeProgram> {
  const load = Object.hasOwn(LOADERS, backend) ? LOADERS[backend] : undefined;
  if (!load) throw new Error(`no volume program for backend ${backend}; known: ${volumeBackends().join(", ")}`);
  return load();
}
