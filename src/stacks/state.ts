/**
 * The state settings every engine invocation shares (no Automation API here):
 * - State: Pulumi's DIY file backend `file://$DSTACK_HOME/state` by default; `DSTACK_STATE_URL`
 *   selects any other Pulumi backend (s3://, gs://, azblob://, postgres://, Pulumi Cloud).
 * - Secrets: the passphrase provider; the passphrase comes from PULUMI_CONFIG_PASSPHRASE (or
 *   PULUMI_CONFIG_PASSPHRASE_FILE) or is generated once into $DSTACK_HOME/passphrase (0600).
 * - PULUMI_HOME lives under DSTACK_HOME; the workspace folder (Pulumi.yaml and the stacks'
 *   settings with their encryption salts) is $DSTACK_HOME/workspaces/<hash of the backend URL>,
 *   so dstack works from any directory.
 * - `engineEnv()`: the environment of every Pulumi CLI invocation, from the CLI found by
 *   src/stacks/toolchain.ts (passed in, not remembered here).
 */
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { homePaths, packageRoot } from "../paths";
import { DSTACK_PROJECT } from "../project";
import { enginePulumiHome } from "./dstack-plugin";
import { writeProjectFile } from "./project-file";
import type { PulumiBinary } from "./toolchain";

/** The state backend URL: DSTACK_STATE_URL, else file://$DSTACK_HOME/state. */
export function stateBackendUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DSTACK_STATE_URL) return env.DSTACK_STATE_URL;
  return `file://${homePaths(env).state}`;
}

export interface SecretsPassphrase {
  passphrase?: string;
  passphraseFile?: string;
}

/**
 * The secrets passphrase: PULUMI_CONFIG_PASSPHRASE(_FILE) when set, else the content of
 * $DSTACK_HOME/passphrase, generated once (32 random bytes, mode 0600, created exclusively so
 * that two concurrent first runs agree).
 */
export function secretsPassphrase(env: NodeJS.ProcessEnv = process.env): SecretsPassphrase {
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined) return { passphrase: env.PULUMI_CONFIG_PASSPHRASE };
  if (env.PULUMI_CONFIG_PASSPHRASE_FILE) return { passphraseFile: env.PULUMI_CONFIG_PASSPHRASE_FILE };
  const file = homePaths(env).passphrase;
  try {
    return { passphrase: fs.readFileSync(file, "utf8").trim() };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const value = randomBytes(32).toString("base64url");
  try {
    fs.writeFileSync(file, value + "\n", { mode: 0o600, flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    return { passphrase: fs.readFileSync(file, "utf8").trim() };
  }
  return { passphrase: value };
}

/** The workspace folder for a backend URL (holds Pulumi.yaml and Pulumi.<run>.yaml). */
export function workspaceDir(env: NodeJS.ProcessEnv = process.env): string {
  const url = stateBackendUrl(env);
  const id = createHash("sha256").update(url).digest("hex").slice(0, 12);
  return path.join(homePaths(env).home, "workspaces", id);
}

/** The folder of a plain absolute `file:///…` backend URL, else null. */
export function localStateDir(url: string): string | null {
  const m = /^file:\/\/(\/[^?#]*)$/.exec(url);
  return m ? decodeURIComponent(m[1]) : null;
}

/** The DIY file backend's folder of dstack's stacks, or null for other backends. */
export function diyStacksDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const url = stateBackendUrl(env);
  // Only a plain absolute file:// path: `file://~`, relative paths and query options go through the engine.
  const dir = localStateDir(url);
  return dir ? path.join(dir, ".pulumi", "stacks", DSTACK_PROJECT) : null;
}

/** The project settings of dstack's workspace (what LocalWorkspace writes as Pulumi.yaml). */
export function projectSettings(env: NodeJS.ProcessEnv = process.env): { name: string; runtime: "nodejs"; backend: { url: string } } {
  return { name: DSTACK_PROJECT, runtime: "nodejs", backend: { url: stateBackendUrl(env) } };
}

/** The file backend's state folder and the workspace folder, created (0700) when missing; returns the workspace folder. */
export function ensureWorkspaceDirs(env: NodeJS.ProcessEnv = process.env): string {
  const stateDir = localStateDir(stateBackendUrl(env));
  if (stateDir) fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const dir = workspaceDir(env);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** The same with its Pulumi.yaml (as LocalWorkspace writes it), for the CLI and the Automation API. */
export function ensureWorkspaceProject(env: NodeJS.ProcessEnv = process.env): string {
  const dir = ensureWorkspaceDirs(env);
  // Pulumi.yaml is shared by every run: written atomically and only when it differs (a file
  // rewritten in place could be read torn by a concurrent command: "expected project to be an object").
  writeProjectFile(dir, DSTACK_PROJECT, stateBackendUrl(env));
  return dir;
}

/**
 * Environment for every Pulumi CLI invocation (and so for its plugins), given the CLI that
 * src/stacks/toolchain.ts found: no update check, no plugin downloads, no prompts, PULUMI_HOME
 * under DSTACK_HOME, the secrets passphrase, and PATH with the CLI's folder and the nodejs
 * plugin's folder first. `secrets` defaults to `secretsPassphrase(env)` (which may create
 * $DSTACK_HOME/passphrase); pass it to keep this call free of side effects.
 */
export function engineEnv(
  bin: Pick<PulumiBinary, "binDir" | "plugin">,
  env: NodeJS.ProcessEnv = process.env,
  secrets: SecretsPassphrase = secretsPassphrase(env),
): Record<string, string> {
  const p = homePaths(env);
  const pulumiPackage = path.join(packageRoot(), "node_modules", "@pulumi", "pulumi");
  const toolDirs = [...new Set([bin.binDir, path.dirname(bin.plugin), p.pulumiBin])];
  const out: Record<string, string> = {
    PULUMI_HOME: enginePulumiHome(env),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_SKIP_CONFIRMATIONS: "true",
    PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
    // The engine guard ends the engine when this process is gone (src/stacks/engine-guard.ts).
    DSTACK_ENGINE_PARENT: String(process.pid),
    // The nodejs dynamic-provider plugin resolves @pulumi/pulumi from its working directory;
    // NODE_PATH lets it find dstack's own copy from any directory.
    NODE_PATH: [path.join(packageRoot(), "node_modules"), env.NODE_PATH].filter(Boolean).join(path.delimiter),
    // pulumi-resource-pulumi-nodejs ships in @pulumi/pulumi; the toolchain also writes dstack's wrapper beside pulumi.
    PATH: [...toolDirs, env.PATH ?? "", pulumiPackage].filter(Boolean).join(path.delimiter),
  };
  if (secrets.passphrase !== undefined) out.PULUMI_CONFIG_PASSPHRASE = secrets.passphrase;
  if (secrets.passphraseFile !== undefined) out.PULUMI_CONFIG_PASSPHRASE_FILE = secrets.passphraseFile;
  return out;
}
