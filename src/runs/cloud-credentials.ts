/**
 * Cloud credentials, found the way each provider's SDK looks for them, before any engine call
 * (so a missing credential is E3031, not a provider stack trace minutes later):
 * - AWS (the SDK's default chain): AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY; the profile
 *   AWS_PROFILE (or `default`) in the shared credentials file or the config file, with keys,
 *   SSO (`sso_session` / `sso_start_url`), a role or `credential_process`; web identity
 *   (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN); container credentials (ECS/EKS).
 * - GCP (Google's application default credentials): GOOGLE_CREDENTIALS, GOOGLE_APPLICATION_CREDENTIALS
 *   (a file that exists), an access token (GOOGLE_OAUTH_ACCESS_TOKEN, CLOUDSDK_AUTH_ACCESS_TOKEN),
 *   or gcloud's ADC file (`gcloud auth application-default login`).
 * - Azure (azure-native's order): a service principal (ARM_CLIENT_ID + ARM_CLIENT_SECRET or
 *   ARM_CLIENT_CERTIFICATE_PATH, + ARM_TENANT_ID), managed identity (ARM_USE_MSI), OIDC
 *   (ARM_USE_OIDC), or the az CLI logged in (`az login`: a subscription in azureProfile.json).
 * Instance metadata credentials (a VM's role) cannot be seen without the network: set
 * DSTACK_CLOUD_CREDENTIALS=instance to say they are there.
 */
import * as fs from "fs";
import * as path from "path";
import { DstackError, ExitCode } from "../diagnostics";
import type { CloudBackend } from "../compiler/backends/cloud/settings";

export interface FoundCredentials {
  /** Where they come from, for messages (`env AWS_ACCESS_KEY_ID`, `profile default (~/.aws/credentials)`). */
  source: string;
}

const set = (env: NodeJS.ProcessEnv, ...names: string[]) => names.every((n) => (env[n] ?? "") !== "");

function home(env: NodeJS.ProcessEnv): string {
  return env.HOME ?? "";
}

/** INI sections (`[default]`, `[profile x]`, `[sso-session y]`) → their keys. */
export function parseIni(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let cur: Record<string, string> | null = null;
  for (const raw of text.replace(/^\uFEFF/, "").split(/\r?\n/)) {
    const line = raw.replace(/\s[#;].*$/, "").trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const sec = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (sec) {
      cur = out[sec[1]] ??= {};
      continue;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (kv && cur) cur[kv[1].toLowerCase()] = kv[2];
  }
  return out;
}

function readIni(file: string): Record<string, Record<string, string>> {
  try {
    return parseIni(fs.readFileSync(file, "utf8"));
  } catch {
    return {};
  }
}

function awsCredentials(env: NodeJS.ProcessEnv): FoundCredentials | null {
  if (set(env, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")) return { source: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" };
  const profile = env.AWS_PROFILE || env.AWS_DEFAULT_PROFILE || "default";
  const credFile = env.AWS_SHARED_CREDENTIALS_FILE || path.join(home(env), ".aws", "credentials");
  const confFile = env.AWS_CONFIG_FILE || path.join(home(env), ".aws", "config");
  const creds = readIni(credFile)[profile];
  if (creds && creds.aws_access_key_id && creds.aws_secret_access_key) return { source: `profile ${profile} (${credFile})` };
  const conf = readIni(confFile)[profile === "default" ? "default" : `profile ${profile}`];
  if (conf) {
    if (conf.aws_access_key_id && conf.aws_secret_access_key) return { source: `profile ${profile} (${confFile})` };
    if (conf.sso_session || conf.sso_start_url) return { source: `SSO profile ${profile} (${confFile}; \`aws sso login\` refreshes it)` };
    if (conf.role_arn && (conf.source_profile || conf.credential_source || conf.web_identity_token_file)) return { source: `role profile ${profile} (${confFile})` };
    if (conf.credential_process) return { source: `credential_process of profile ${profile} (${confFile})` };
  }
  if (set(env, "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")) return { source: "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN)" };
  if (set(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") || set(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI")) return { source: "container credentials" };
  return null;
}

function gcpCredentials(env: NodeJS.ProcessEnv): FoundCredentials | null {
  if (set(env, "GOOGLE_CREDENTIALS")) return { source: "GOOGLE_CREDENTIALS" };
  if (set(env, "GOOGLE_APPLICATION_CREDENTIALS") && fs.existsSync(env.GOOGLE_APPLICATION_CREDENTIALS as string)) return { source: `GOOGLE_APPLICATION_CREDENTIALS (${env.GOOGLE_APPLICATION_CREDENTIALS})` };
  if (set(env, "GOOGLE_OAUTH_ACCESS_TOKEN")) return { source: "GOOGLE_OAUTH_ACCESS_TOKEN" };
  if (set(env, "CLOUDSDK_AUTH_ACCESS_TOKEN")) return { source: "CLOUDSDK_AUTH_ACCESS_TOKEN" };
  const adc = path.join(env.CLOUDSDK_CONFIG || path.join(home(env), ".config", "gcloud"), "application_default_credentials.json");
  if (fs.existsSync(adc)) return { source: `gcloud application default credentials (${adc})` };
  return null;
}

function azureCredentials(env: NodeJS.ProcessEnv): FoundCredentials | null {
  if (set(env, "ARM_CLIENT_ID", "ARM_CLIENT_SECRET", "ARM_TENANT_ID")) return { source: "service principal (ARM_CLIENT_ID, ARM_CLIENT_SECRET, ARM_TENANT_ID)" };
  if (set(env, "ARM_CLIENT_ID", "ARM_CLIENT_CERTIFICATE_PATH", "ARM_TENANT_ID")) return { source: "service principal certificate (ARM_CLIENT_CERTIFICATE_PATH)" };
  if (/^(true|1)$/i.test(env.ARM_USE_MSI ?? "")) return { source: "managed identity (ARM_USE_MSI)" };
  if (/^(true|1)$/i.test(env.ARM_USE_OIDC ?? "") && set(env, "ARM_CLIENT_ID", "ARM_TENANT_ID")) return { source: "OIDC (ARM_USE_OIDC)" };
  const dir = env.AZURE_CONFIG_DIR || path.join(home(env), ".azure");
  try {
    const profile = JSON.parse(fs.readFileSync(path.join(dir, "azureProfile.json"), "utf8").replace(/^\uFEFF/, "")) as { subscriptions?: unknown[] };
    if ((profile.subscriptions ?? []).length > 0) return { source: `the az CLI's login (${dir})` };
  } catch {
    // not logged in with the az CLI
  }
  return null;
}

/** What each backend's chain looks at, for E3031. */
export const CREDENTIAL_CHAINS: Record<CloudBackend, string> = {
  aws: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; AWS_PROFILE (or the default profile) in ~/.aws/credentials or ~/.aws/config, with keys, SSO, a role or credential_process; AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN; container credentials",
  gcp: "GOOGLE_CREDENTIALS; GOOGLE_APPLICATION_CREDENTIALS (an existing file); GOOGLE_OAUTH_ACCESS_TOKEN; gcloud's application default credentials (~/.config/gcloud/application_default_credentials.json)",
  azure: "ARM_CLIENT_ID, ARM_CLIENT_SECRET (or ARM_CLIENT_CERTIFICATE_PATH) and ARM_TENANT_ID; ARM_USE_MSI; ARM_USE_OIDC; the az CLI's login (~/.azure/azureProfile.json)",
};

const HOW: Record<CloudBackend, string> = {
  aws: "`aws configure` (or `aws sso login --profile X` and AWS_PROFILE=X), or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
  gcp: "`gcloud auth application-default login`, or GOOGLE_APPLICATION_CREDENTIALS=<service account key file>",
  azure: "`az login`, or export ARM_CLIENT_ID, ARM_CLIENT_SECRET, ARM_TENANT_ID and ARM_SUBSCRIPTION_ID",
};

/** The backend's credentials from its SDK's standard chain, or null. */
export function findCloudCredentials(backend: CloudBackend, env: NodeJS.ProcessEnv = process.env): FoundCredentials | null {
  if (env.DSTACK_CLOUD_CREDENTIALS === "instance") return { source: "the instance's role (DSTACK_CLOUD_CREDENTIALS=instance)" };
  return backend === "aws" ? awsCredentials(env) : backend === "gcp" ? gcpCredentials(env) : azureCredentials(env);
}

/** The backend's credentials, or E3031 (exit 5) saying which were looked for and how to get them. */
export function requireCloudCredentials(backend: CloudBackend, env: NodeJS.ProcessEnv = process.env): FoundCredentials {
  const found = findCloudCredentials(backend, env);
  if (found) return found;
  throw new DstackError(
    {
      code: "E3031",
      severity: "error",
      message: `no ${backend} credentials: looked for ${CREDENTIAL_CHAINS[backend]}`,
      hint: `${HOW[backend]}; \`dstack compile --backend ${backend}\` reviews the program without credentials`,
    },
    ExitCode.Prerequisite,
  );
}
