/**
 * TEST ONLY — installs the emulated AWS (test/emulator/aws) as the `aws` resource plugin of a
 * test PULUMI_HOME: `plugins/resource-aws-v<version>/pulumi-resource-aws`, a wrapper running
 * the emulator (transpiled here with @swc/core) on this Node, at the version the installed
 * @pulumi/aws SDK requests (its package.json's `pulumi.version`). The dstack CLI never ships it.
 */
import * as fs from "fs";
import * as path from "path";
import { transformFileSync } from "@swc/core";

const repoRoot = path.resolve(__dirname, "..", "..", "..");
const SOURCES = ["state.ts", "errors.ts", "instances.ts", "provider.ts"];

/** The plugin version the @pulumi/aws SDK asks the engine for. */
export function awsSdkPluginVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(require.resolve("@pulumi/aws/package.json", { paths: [repoRoot] }), "utf8")) as { version: string; pulumi?: { version?: string } };
  return pkg.pulumi?.version ?? pkg.version;
}

/** The plugin's folder under a PULUMI_HOME. */
export function awsPluginDir(pulumiHome: string): string {
  return path.join(pulumiHome, "plugins", `resource-aws-v${awsSdkPluginVersion()}`);
}

/** Writes the plugin into `pulumiHome`; returns its folder. */
export function installEmulatedAws(pulumiHome: string): string {
  const version = awsSdkPluginVersion();
  const dir = awsPluginDir(pulumiHome);
  const lib = path.join(dir, "lib");
  fs.mkdirSync(lib, { recursive: true });
  for (const f of SOURCES) {
    const out = transformFileSync(path.join(__dirname, f), { jsc: { target: "es2022", parser: { syntax: "typescript" } }, module: { type: "commonjs" } });
    fs.writeFileSync(path.join(lib, f.replace(/\.ts$/, ".js")), out.code);
  }
  fs.writeFileSync(path.join(lib, "VERSION"), version + "\n");
  const wrapper = [
    "#!/bin/sh",
    "# TEST ONLY: the emulated AWS provider plugin (test/emulator/aws), installed by the tests.",
    `NODE_PATH=${JSON.stringify(path.join(repoRoot, "node_modules"))} DSTACK_AWS_EMULATOR_VERSION=${version} exec ${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(lib, "provider.js"))} "$@"`,
    "",
  ].join("\n");
  fs.writeFileSync(path.join(dir, "pulumi-resource-aws"), wrapper, { mode: 0o755 });
  return dir;
}
