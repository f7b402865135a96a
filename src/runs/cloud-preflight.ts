/**
 * What a run on aws, gcp or azure needs before the engine runs, checked in this order:
 * 1. credentials, from the provider SDK's own chain (./cloud-credentials.ts): E3031;
 * 2. the provider plugin at the version the installed SDK requests (and the docker plugin for
 *    `build:`), in the engine's PULUMI_HOME: installed when missing (`pulumi plugin install`,
 *    which needs the internet); when that fails (offline), E3030 with the exact command.
 * Nothing is written to the state before these pass.
 */
import { cloudPrerequisites, dockerPluginPrerequisite, isCloudBackend } from "../compiler/backends/cloud/prerequisites";
import type { CloudBackend } from "../compiler/backends/cloud/settings";
import type { Plan } from "../compiler/plan";
import { DstackError, ExitCode } from "../diagnostics";
import { installProviderPlugin, pluginInstallCommand, providerPluginInstalled } from "../stacks/plugins";
import { requireCloudCredentials } from "./cloud-credentials";

/** How long `dstack up` waits for a new instance's sshd, by backend (boot, Docker, image pull). */
export const PROVISIONING_TIMEOUT_MS: Readonly<Record<string, number>> = {
  local: 120_000,
  aws: 15 * 60_000,
  gcp: 15 * 60_000,
  azure: 20 * 60_000,
};

export function provisioningTimeoutMs(backend: string, env: NodeJS.ProcessEnv = process.env): number {
  const override = Number(env.DSTACK_PROVISIONING_TIMEOUT);
  if (Number.isFinite(override) && override > 0) return override * 1000;
  return PROVISIONING_TIMEOUT_MS[backend] ?? 15 * 60_000;
}

export interface CloudPreflightOptions {
  env?: NodeJS.ProcessEnv;
  /** Told before a plugin download starts. */
  onNotice?: (message: string) => void;
}

/** The plugin at its version, installed when missing and online; else E3030 (exit 5). */
export async function ensureProviderPlugin(backend: CloudBackend | "docker", plugin: { name: string; version: string }, o: CloudPreflightOptions = {}): Promise<void> {
  const env = o.env ?? process.env;
  if (providerPluginInstalled(plugin.name, plugin.version, env)) return;
  const command = pluginInstallCommand(plugin.name, plugin.version, env);
  let why = "DSTACK_OFFLINE=1: no download attempted";
  if (env.DSTACK_OFFLINE !== "1") {
    o.onNotice?.(`installing the Pulumi provider plugin ${plugin.name} v${plugin.version}`);
    const failed = await installProviderPlugin(plugin.name, plugin.version, { env, timeoutMs: 120_000 });
    if (failed === null) return;
    why = failed;
  }
  throw new DstackError(
    {
      code: "E3030",
      severity: "error",
      message: `the Pulumi provider plugin ${plugin.name} v${plugin.version} (needed for ${backend}) is not installed, and it could not be downloaded: ${why}`,
      hint: `with internet access, run: ${command}`,
    },
    ExitCode.Prerequisite,
  );
}

/** Credentials, then plugins, for a cloud plan; nothing for other backends. */
export async function cloudPreflight(plan: Plan, o: CloudPreflightOptions = {}): Promise<void> {
  const backend = plan.backend;
  if (!isCloudBackend(backend)) return;
  requireCloudCredentials(backend, o.env ?? process.env);
  await ensureProviderPlugin(backend, cloudPrerequisites(backend).plugin, o);
  if (plan.image.kind === "prebuilt") await ensureProviderPlugin(backend, dockerPluginPrerequisite(), o);
}
