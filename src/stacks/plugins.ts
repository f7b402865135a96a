/**
 * Resource provider plugins of the cloud programs (aws, gcp, azure-native, docker) in the
 * engine's PULUMI_HOME (dstack's own, $DSTACK_HOME/pulumi/home, unless DSTACK_USE_PULUMI_HOME=1):
 * whether one is installed at the version its SDK requests, and installing it with
 * `pulumi plugin install resource <name> v<version>` (which needs the internet: Pulumi's
 * releases on GitHub / get.pulumi.com).
 */
import * as fs from "fs";
import * as path from "path";
import { execFile } from "child_process";
import { engineProcess } from "./cli-run";
import { engineEnv } from "./state";
import { homePaths } from "../paths";

/** The engine's PULUMI_HOME (as engineEnv sets it). */
export function enginePulumiHome(env: NodeJS.ProcessEnv = process.env): string {
  return engineEnv({ binDir: homePaths(env).pulumiBin, plugin: path.join(homePaths(env).pulumiBin, "x") }, env, { passphrase: "" }).PULUMI_HOME;
}

/** Whether `resource-<name>-v<version>` is installed (a folder holding its executable, no `.partial` marker). */
export function providerPluginInstalled(name: string, version: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const dir = path.join(enginePulumiHome(env), "plugins", `resource-${name}-v${version}`);
  return fs.existsSync(path.join(dir, `pulumi-resource-${name}`)) && !fs.existsSync(`${dir}.partial`);
}

/** The command that installs the plugin where dstack's engine finds it. */
export function pluginInstallCommand(name: string, version: string, env: NodeJS.ProcessEnv = process.env): string {
  const home = enginePulumiHome(env);
  return `PULUMI_HOME=${home} pulumi plugin install resource ${name} v${version}`;
}

/**
 * Installs the plugin through the Pulumi CLI; resolves to null when installed, else to the
 * CLI's reason (offline: a download error), never throwing. `timeoutMs` bounds the attempt.
 */
export async function installProviderPlugin(name: string, version: string, o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string | null> {
  const env = o.env ?? process.env;
  const engine = await engineProcess(env);
  const timeout = o.timeoutMs ?? 60_000;
  const why = await new Promise<string | null>((resolve) => {
    execFile(engine.binary, ["plugin", "install", "resource", name, `v${version}`, "--non-interactive"], { env: { ...env, ...engine.env }, timeout, killSignal: "SIGTERM" }, (err, _stdout, stderr) => {
      if (!err) return resolve(null);
      if ((err as { killed?: boolean }).killed) return resolve(`no answer within ${Math.round(timeout / 1000)} s`);
      resolve((stderr || err.message).trim().split("\n").slice(-2).join(" "));
    });
  });
  if (why !== null) return why;
  return providerPluginInstalled(name, version, env) ? null : "the CLI reported success, but the plugin is not in PULUMI_HOME";
}
