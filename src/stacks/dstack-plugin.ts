/**
 * dstack's provider plugin, `pulumi-resource-dstack` (the local backend's resources; its code is
 * src/compiler/backends/local/plugin.ts, bundled by scripts/bundle.ts into
 * dist/bundle/pulumi-resource-dstack.js), installed where the engine looks for plugins:
 * `$PULUMI_HOME/plugins/resource-dstack-v<version>/pulumi-resource-dstack`, a small wrapper that
 * runs the bundle with this Node (absolute paths, so it works from any working directory).
 * Written by `dstack setup` and by every first use of the toolchain in a process (only when
 * its content differs: dstack moved or upgraded), like the nodejs plugin wrapper and the
 * engine guard (src/stacks/toolchain.ts).
 *
 * The version is dstack's own (package.json): the program asks for exactly that version
 * (src/compiler/backends/local/resources.ts), so an upgraded dstack gets its own plugin.
 */
import * as fs from "fs";
import * as path from "path";
import { DstackError, ExitCode } from "../diagnostics";
import { homePaths, packageRoot, packageVersion, writeFileAtomicIfDifferent } from "../paths";

export const DSTACK_PLUGIN = "pulumi-resource-dstack";

/** PULUMI_HOME of every engine run: $DSTACK_HOME/pulumi/home, or PULUMI_HOME when DSTACK_USE_PULUMI_HOME=1. */
export function enginePulumiHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.PULUMI_HOME && env.DSTACK_USE_PULUMI_HOME === "1" ? env.PULUMI_HOME : homePaths(env).pulumiHome;
}

/** The plugin's code: the bundle, else (a build without scripts/bundle.ts) bin/pulumi-resource-dstack.js over tsc's output. */
export function dstackPluginScript(root = packageRoot()): string {
  const compiled = path.join(root, "dist", "src", "compiler", "backends", "local", "plugin.js");
  const candidates = [path.join(root, "dist", "bundle", `${DSTACK_PLUGIN}.js`), path.join(root, "bin", `${DSTACK_PLUGIN}.js`)];
  const found = candidates.find((c, i) => fs.existsSync(c) && (i === 0 || fs.existsSync(compiled)));
  if (!found) {
    throw new DstackError(
      {
        code: "E4160",
        severity: "error",
        message: `dstack's provider plugin is not built: none of ${candidates.join(", ")} exists`,
        hint: "run `npm run build` in the dstack package (or reinstall dstack)",
      },
      ExitCode.Prerequisite,
    );
  }
  return found;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The wrapper's text (pure). */
export function dstackPluginWrapper(script: string, node = process.execPath): string {
  return [
    "#!/bin/sh",
    "# Written by dstack (src/stacks/dstack-plugin.ts): the local backend's provider plugin. Rewritten when dstack moves.",
    `exec ${shellQuote(node)} ${shellQuote(script)} "$@"`,
    "",
  ].join("\n");
}

/** The folder and file of the plugin in a PULUMI_HOME. */
export function dstackPluginPath(pulumiHome: string, version = packageVersion()): string {
  return path.join(pulumiHome, "plugins", `resource-dstack-v${version}`, DSTACK_PLUGIN);
}

/** Writes the plugin's wrapper into pulumiHome's plugins folder (when missing or different); returns its path. */
export function installDstackPlugin(pulumiHome: string): string {
  const target = dstackPluginPath(pulumiHome);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  writeFileAtomicIfDifferent(target, dstackPluginWrapper(dstackPluginScript()), 0o755);
  return target;
}
