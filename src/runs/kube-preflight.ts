/**
 * What a kubernetes run needs before the engine runs:
 * 1. the kubeconfig file config.yml names (E7003);
 * 2. Pulumi's Kubernetes provider plugin at the version @pulumi/kubernetes requests, in the
 *    engine's PULUMI_HOME. It cannot be downloaded here: scripts/build-kubernetes.sh builds it
 *    from the Go module proxy into a cache folder keyed by the versions
 *    (DSTACK_KUBE_CACHE, default ~/.cache/dstack/kube-v1.34.4-plugin-4.25.0), from which it is
 *    linked into PULUMI_HOME/plugins/resource-kubernetes-v<version>/. Missing: E7004 (exit 5),
 *    with the command that builds it (or, with internet access, installs it).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DstackError, ExitCode } from "../diagnostics";
import { parseKubeSettings } from "../offers/kubernetes-settings";
import { enginePulumiHome, pluginInstallCommand, providerPluginInstalled } from "../stacks/plugins";

export const KUBE_BUILD_CACHE = "kube-v1.34.4-plugin-4.25.0";

/** The plugin the installed @pulumi/kubernetes asks the engine for (its package.json's `pulumi`). */
export function kubePlugin(): { name: string; version: string } {
  const json = JSON.parse(fs.readFileSync(require.resolve("@pulumi/kubernetes/package.json"), "utf8")) as { version: string; pulumi?: { name?: string; version?: string } };
  return { name: json.pulumi?.name ?? "kubernetes", version: json.pulumi?.version ?? json.version };
}

/** Where scripts/build-kubernetes.sh leaves the plugin's binary. */
export function builtKubePlugin(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.DSTACK_KUBE_CACHE || path.join(os.homedir(), ".cache", "dstack", KUBE_BUILD_CACHE);
  return path.join(cache, "bin", "pulumi-resource-kubernetes");
}

/** Links the built plugin into PULUMI_HOME when it is not installed there; true when it is there afterwards. */
export function linkBuiltKubePlugin(env: NodeJS.ProcessEnv = process.env): boolean {
  const p = kubePlugin();
  if (providerPluginInstalled(p.name, p.version, env)) return true;
  const built = builtKubePlugin(env);
  if (!fs.existsSync(built)) return false;
  const dir = path.join(enginePulumiHome(env), "plugins", `resource-${p.name}-v${p.version}`);
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, `pulumi-resource-${p.name}`);
  fs.rmSync(target, { force: true });
  fs.symlinkSync(built, target);
  return providerPluginInstalled(p.name, p.version, env);
}

/** The kubeconfig, then the plugin; throws E7003 / E7004 (exit 5). */
export async function kubePreflight(settings: Record<string, unknown>, o: { env?: NodeJS.ProcessEnv } = {}): Promise<void> {
  const env = o.env ?? process.env;
  const s = parseKubeSettings(settings, undefined, env);
  if (!fs.existsSync(s.kubeconfig)) {
    throw new DstackError(
      { code: "E7003", severity: "error", message: `the kubernetes backend's kubeconfig ${s.kubeconfig} does not exist`, hint: "set `kubeconfig: {filename: ...}` of the kubernetes backend in ~/.dstack/config.yml to your cluster's kubeconfig" },
      ExitCode.Prerequisite,
    );
  }
  if (linkBuiltKubePlugin(env)) return;
  const p = kubePlugin();
  throw new DstackError(
    {
      code: "E7004",
      severity: "error",
      message: `the Pulumi provider plugin kubernetes v${p.version} is not installed, and it was not built on this machine (no ${builtKubePlugin(env)})`,
      hint: `build it from the Go module proxy: scripts/build-kubernetes.sh plugin; or, with internet access: ${pluginInstallCommand(p.name, p.version, env)}`,
    },
    ExitCode.Prerequisite,
  );
}
