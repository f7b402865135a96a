/**
 * The backend programs by name. Each is loaded on first use, so that a command only pays for
 * the cloud SDK of the backend it runs (`@pulumi/aws` alone takes seconds to load).
 */
import type { BackendProgram } from "./program";

export type { BackendProgram, EmitOptions, RunOutputs } from "./program";

const LOADERS: Readonly<Record<string, () => Promise<BackendProgram>>> = {
  local: async () => (await import("./local")).localProgram,
  aws: async () => (await import("./aws")).awsProgram,
  gcp: async () => (await import("./gcp")).gcpProgram,
  azure: async () => (await import("./azure")).azureProgram,
  kubernetes: async () => (await import("./kubernetes")).kubernetesProgram,
};

/** Names of the backends with a program, sorted. */
export function knownBackends(): string[] {
  return Object.keys(LOADERS).sort();
}

/** The program of a backend (loading its module on first use). */
export async function loadBackend(name: string): Promise<BackendProgram> {
  const load = Object.hasOwn(LOADERS, name) ? LOADERS[name] : undefined;
  if (!load) throw new Error(`no program for backend ${name}; known: ${knownBackends().join(", ")}`);
  return load();
}
