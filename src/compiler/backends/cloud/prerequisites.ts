/**
 * The provider plugin a cloud program needs under a real engine (the mock engine needs none):
 * its name and version, from the installed SDK package's package.json (`pulumi.name`,
 * `pulumi.version`), which is the version the SDK asks the engine for. src/runs/cloud-preflight.ts
 * checks it (and the credentials, src/runs/cloud-credentials.ts) before `dstack up` / `preview`.
 */
import * as fs from "fs";
import * as path from "path";
import type { CloudBackend } from "./settings";

export interface CloudPrerequisites {
  plugin: { name: string; version: string };
}

const SDK: Record<CloudBackend, string> = { aws: "@pulumi/aws", gcp: "@pulumi/gcp", azure: "@pulumi/azure-native" };

/** The SDK package's Pulumi plugin name and version (`pulumi.name` / `pulumi.version` of its package.json). */
function sdkPlugin(pkg: string): { name: string; version: string } {
  const file = require.resolve(`${pkg}/package.json`);
  const json = JSON.parse(fs.readFileSync(file, "utf8")) as { version: string; pulumi?: { name?: string; version?: string } };
  return { name: json.pulumi?.name ?? path.basename(pkg), version: json.pulumi?.version ?? json.version };
}

export function isCloudBackend(b: string): b is CloudBackend {
  return b === "aws" || b === "gcp" || b === "azure";
}

export function cloudPrerequisites(backend: CloudBackend): CloudPrerequisites {
  return { plugin: sdkPlugin(SDK[backend]) };
}

/** Also needed by every cloud run with `build:`: the docker provider (local Docker builds and pushes). */
export function dockerPluginPrerequisite(): { name: string; version: string } {
  return sdkPlugin("@pulumi/docker");
}
