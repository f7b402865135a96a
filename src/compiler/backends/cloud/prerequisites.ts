/**
 * What a real preview / up on a cloud backend needs that the mock engine does not: the
 * provider plugin (name and version, from the installed SDK package) and credentials (the
 * environment variables each provider reads). `dstack preview` reports exactly what is missing.
 */
import * as fs from "fs";
import * as path from "path";
import { DstackError, ExitCode, type Diagnostic } from "../../../diagnostics";
import type { CloudBackend } from "./settings";

export interface CloudPrerequisites {
  plugin: { name: string; version: string };
  /**
   * Credential environment variables. Each entry is one alternative: a variable, or several
   * joined by `+` that are needed together (`AWS_ACCESS_KEY_ID+AWS_SECRET_ACCESS_KEY`).
   */
  credentials: string[];
}

const SDK: Record<CloudBackend, string> = { aws: "@pulumi/aws", gcp: "@pulumi/gcp", azure: "@pulumi/azure-native" };

const CREDENTIALS: Record<CloudBackend, string[]> = {
  aws: ["AWS_ACCESS_KEY_ID+AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE+AWS_ROLE_ARN"],
  gcp: ["GOOGLE_CREDENTIALS", "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_OAUTH_ACCESS_TOKEN"],
  azure: ["ARM_CLIENT_ID+ARM_CLIENT_SECRET+ARM_TENANT_ID+ARM_SUBSCRIPTION_ID", "ARM_USE_MSI+ARM_SUBSCRIPTION_ID", "ARM_USE_OIDC+ARM_CLIENT_ID+ARM_TENANT_ID+ARM_SUBSCRIPTION_ID"],
};

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
  return { plugin: sdkPlugin(SDK[backend]), credentials: CREDENTIALS[backend] };
}

/** Also needed by every cloud run with `build:`: the docker provider (local Docker builds and pushes). */
export function dockerPluginPrerequisite(): { name: string; version: string } {
  return sdkPlugin("@pulumi/docker");
}

export interface MissingPrerequisites {
  /** The plugin, when it is not installed under PULUMI_HOME/plugins (or the given plugins folder). */
  plugin: { name: string; version: string; install: string } | null;
  /** When no credential alternative is complete: every alternative, for the message. */
  credentials: string[] | null;
}

/** Whether a Pulumi plugin folder (`resource-<name>-v<version>`) is present. */
export function pluginInstalled(pluginsDir: string, name: string, version: string): boolean {
  return fs.existsSync(path.join(pluginsDir, `resource-${name}-v${version}`));
}

/**
 * What is missing for a real preview on `backend`: checks the environment for a complete
 * credential alternative (AWS also accepts ~/.aws/credentials via AWS_PROFILE/default, GCP the
 * gcloud application-default credentials file) and `pluginsDir` for the provider plugin.
 */
export function missingCloudPrerequisites(backend: CloudBackend, env: NodeJS.ProcessEnv, pluginsDir?: string): MissingPrerequisites {
  const req = cloudPrerequisites(backend);
  const has = (alt: string) => alt.split("+").every((v) => (env[v] ?? "") !== "");
  let credentialsOk = req.credentials.some(has);
  const home = env.HOME ?? "";
  if (!credentialsOk && backend === "aws" && home) credentialsOk = fs.existsSync(path.join(home, ".aws", "credentials"));
  if (!credentialsOk && backend === "gcp" && home) credentialsOk = fs.existsSync(path.join(home, ".config", "gcloud", "application_default_credentials.json"));
  const dir = pluginsDir ?? path.join(env.PULUMI_HOME ?? path.join(home, ".pulumi"), "plugins");
  const pluginOk = pluginInstalled(dir, req.plugin.name, req.plugin.version);
  return {
    plugin: pluginOk ? null : { ...req.plugin, install: `pulumi plugin install resource ${req.plugin.name} v${req.plugin.version}` },
    credentials: credentialsOk ? null : req.credentials,
  };
}

/**
 * The error `dstack preview` / `up` report when a real run on `backend` cannot start (exit code 5):
 * E3030 for the plugin (with its install command), E3031 for credentials (every alternative).
 * Returns null when nothing is missing.
 */
export function missingPrerequisitesError(backend: CloudBackend, missing: MissingPrerequisites): DstackError | null {
  const diags: Diagnostic[] = [];
  if (missing.plugin)
    diags.push({
      code: "E3030",
      severity: "error",
      message: `the Pulumi provider plugin ${missing.plugin.name} v${missing.plugin.version} is not installed (needed for a real ${backend} preview)`,
      hint: `${missing.plugin.install}; \`dstack compile --backend ${backend}\` shows the program without it`,
    });
  if (missing.credentials)
    diags.push({
      code: "E3031",
      severity: "error",
      message: `no ${backend} credentials: set ${missing.credentials.map((c) => c.split("+").join(" and ")).join(", or ")}`,
      hint: `\`dstack compile --backend ${backend}\` reviews the program without credentials`,
    });
  return diags.length ? new DstackError(diags, ExitCode.Prerequisite) : null;
}
