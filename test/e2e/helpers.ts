/**
 * Shared harness of the end-to-end tests: the built CLI (dist/) run as a child process from a
 * temporary project directory outside the repo, with a temporary DSTACK_HOME and HOME (the
 * real ~/.ssh/config is never touched), the real Pulumi engine, real Docker and OpenSSH.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { requirement } from "../support/requirements";
import { installEmulatedAws } from "../emulator/aws/install";

export const repoRoot = path.resolve(__dirname, "..", "..");
export const cliEntry = path.join(repoRoot, "bin", "dstack");

/** The folder holding the real `pulumi` (the user's build), found before HOME is redirected. */
export function realPulumiBin(): string | null {
  const candidates = [process.env.DSTACK_HOME && path.join(process.env.DSTACK_HOME, "pulumi", "bin"), path.join(os.homedir(), ".dstack", "pulumi", "bin")];
  for (const c of candidates) if (c && fs.existsSync(path.join(c, "pulumi"))) return c;
  const which = spawnSync("sh", ["-c", "command -v pulumi"], { encoding: "utf8" });
  return which.status === 0 ? path.dirname(which.stdout.trim()) : null;
}

/** Why the end-to-end suite cannot run here, or null when it can. */
export function missingPrerequisite(): string | null {
  if (!fs.existsSync(path.join(repoRoot, "dist", "cli.js"))) return "dist/ is not built (npm run build)";
  if (!realPulumiBin()) return "no Pulumi CLI (dstack setup)";
  const docker = spawnSync("docker", ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8" });
  if (docker.status !== 0) return "no Docker engine";
  const { baseImageRef } = require(path.join(repoRoot, "dist", "src", "stacks", "base-image.js")) as { baseImageRef: () => string };
  const ref = baseImageRef();
  if (spawnSync("docker", ["image", "inspect", ref]).status !== 0) return `the base image ${ref} is not built (dstack setup)`;
  if (spawnSync("ssh", ["-V"]).status !== 0) return "no OpenSSH client";
  return null;
}

/** Everything the end-to-end suites need, for describeWhen (test/support/requirements.ts). */
export const e2ePrerequisites = requirement("the end-to-end prerequisites (dist/, Pulumi, Docker, the base image, OpenSSH)", missingPrerequisite);

export interface Sandbox {
  root: string;
  home: string;
  dstackHome: string;
  project: string;
  env: NodeJS.ProcessEnv;
  sshConfig: string;
}

export function makeSandbox(prefix: string): Sandbox {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `dstack-e2e-${prefix}-`));
  const home = path.join(root, "home");
  const dstackHome = path.join(root, "dstack");
  const project = path.join(root, "project");
  for (const d of [home, dstackHome, project]) fs.mkdirSync(d, { recursive: true });
  const bin = realPulumiBin();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    DSTACK_HOME: dstackHome,
    PATH: [bin, process.env.PATH].filter(Boolean).join(path.delimiter),
    CI: "true",
    FORCE_COLOR: "0",
  };
  delete env.DSTACK_STATE_URL;
  delete env.PULUMI_CONFIG_PASSPHRASE;
  return { root, home, dstackHome, project, env, sshConfig: path.join(dstackHome, "ssh", "config") };
}

export function dstack(sb: Sandbox, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [cliEntry, ...args], { cwd: opts.cwd ?? sb.project, env: sb.env, encoding: "utf8", timeout: opts.timeoutMs ?? 600_000 });
}

/** Runs dstack in the background (for interrupting it). */
export function dstackAsync(sb: Sandbox, args: string[], env: NodeJS.ProcessEnv = sb.env) {
  return spawn(process.execPath, [cliEntry, ...args], { cwd: sb.project, env, stdio: ["ignore", "pipe", "pipe"] });
}

/** `ssh -F <dstack's config> <run> <command>` with the stock OpenSSH client. */
export function ssh(sb: Sandbox, run: string, command: string): SpawnSyncReturns<string> {
  return spawnSync("ssh", ["-F", sb.sshConfig, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", run, command], { env: sb.env, encoding: "utf8", timeout: 60_000 });
}

export function docker(args: string[]): SpawnSyncReturns<string> {
  return spawnSync("docker", args, { encoding: "utf8", timeout: 60_000 });
}

/** Fails with the command's output when it did not exit 0. */
export function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r.stdout;
}

export function writeConfig(sb: Sandbox, text: string, file = ".dstack.yml"): void {
  fs.writeFileSync(path.join(sb.project, file), text);
}

/** Best-effort removal of what a test run left (containers, volumes, the sandbox). */
export function cleanup(sb: Sandbox, runs: string[], volumes: string[] = []): void {
  for (const r of runs) docker(["rm", "-f", `dstack-${r}`]);
  for (const v of volumes) docker(["volume", "rm", "-f", v]);
  fs.rmSync(sb.root, { recursive: true, force: true });
}

/** A short id unique to this test process and moment, for run names that don't collide. */
export function testId(): string {
  return `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
}

/** `dstack ps -a --json`, parsed into the fields a test reads. */
export function psAll<V extends { name: string }>(sb: Sandbox): V[] {
  return JSON.parse(ok(dstack(sb, ["ps", "-a", "--json"]), "ps -a")) as V[];
}

/** The run `name` as `ps -a --json` shows it, or undefined. */
export function runView<V extends { name: string }>(sb: Sandbox, name: string): V | undefined {
  return psAll<V>(sb).find((r) => r.name === name);
}

/** The local run's container (`dstack-<run>`): running, stopped, or gone. */
export function containerState(run: string): "running" | "stopped" | "gone" {
  const r = docker(["inspect", "-f", "{{.State.Running}}", `dstack-${run}`]);
  if (r.status !== 0) return "gone";
  return r.stdout.trim() === "true" ? "running" : "stopped";
}

/** Polls `check` every second until it returns true or `limitMs` has passed; returns whether it did. */
export async function eventually(check: () => boolean, limitMs: number): Promise<boolean> {
  const until = Date.now() + limitMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// ---------------------------------------------------------------------------------------------
// The emulated AWS (test/emulator/aws): sandboxes configured for it, and what its account holds.

export function baseImage(): string {
  const { baseImageRef } = require(path.join(repoRoot, "dist", "src", "stacks", "base-image.js")) as { baseImageRef: () => string };
  return baseImageRef();
}

/** A sandbox configured for aws (config.yml), with the emulated account, and (unless `plugin: false`) the plugin. */
export function awsSandbox(prefix: string, o: { plugin?: boolean; credentials?: boolean } = {}): Sandbox & { account: string } {
  const sb = makeSandbox(prefix);
  const account = path.join(sb.root, "aws-account");
  fs.mkdirSync(account, { recursive: true });
  if (o.plugin !== false) installEmulatedAws(path.join(sb.dstackHome, "pulumi", "home"));
  fs.writeFileSync(path.join(sb.dstackHome, "config.yml"), "backends:\n  - type: aws\n    regions: [us-east-1]\n");
  Object.assign(sb.env, { DSTACK_AWS_EMULATOR_DIR: account, DSTACK_AWS_EMULATOR_IMAGE: baseImage(), DSTACK_AWS_EMULATOR_REGION: "us-east-1" });
  for (const k of Object.keys(sb.env)) if (/^(AWS_|ARM_|GOOGLE_)/.test(k)) delete sb.env[k];
  if (o.credentials !== false) Object.assign(sb.env, { AWS_ACCESS_KEY_ID: "AKIAEMULATED", AWS_SECRET_ACCESS_KEY: "emulated" });
  return Object.assign(sb, { account });
}

export function account(sb: { account: string }): { instances: Record<string, unknown>; securityGroups: Record<string, unknown>; keyPairs: Record<string, unknown>; volumes: Record<string, { zone: string; dockerVolume: string; attachedTo: string | null; size: number }> } {
  const f = path.join(sb.account, "account.json");
  const empty = { instances: {}, securityGroups: {}, keyPairs: {}, volumes: {} };
  return fs.existsSync(f) ? { ...empty, ...JSON.parse(fs.readFileSync(f, "utf8")) } : empty;
}

export function emulatedContainers(sb: { account: string }): string[] {
  return ok(docker(["ps", "-a", "--filter", `label=ai.dstack.emulator.account=${sb.account}`, "--format", "{{.Names}}"]), "docker ps").split("\n").filter(Boolean);
}

/** Every stack file of the sandbox's state (the file backend). */
export function stackFiles(sb: Sandbox): string[] {
  const dir = path.join(sb.dstackHome, "state", ".pulumi", "stacks");
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith(".json"));
}

/** The resource types in the run's stack checkpoint (file backend), [] when it has no stack. */
export function stackResourceTypes(sb: Sandbox, run: string): string[] {
  const f = stackFiles(sb).find((x) => path.basename(x) === `${run}.json`);
  if (!f) return [];
  const cp = JSON.parse(fs.readFileSync(path.join(sb.dstackHome, "state", ".pulumi", "stacks", f), "utf8")) as { checkpoint?: { latest?: { resources?: { type: string }[] } } };
  return (cp.checkpoint?.latest?.resources ?? []).map((r) => r.type);
}

/** The pids of the sandbox's agents, from their lock files (`$DSTACK_HOME/locks/<state hash>/.agent.json`). */
function agentPids(sb: Sandbox): number[] {
  const locks = path.join(sb.dstackHome, "locks");
  const pids: number[] = [];
  for (const d of fs.existsSync(locks) ? fs.readdirSync(locks) : []) {
    const f = path.join(locks, d, ".agent.json");
    if (fs.existsSync(f)) pids.push((JSON.parse(fs.readFileSync(f, "utf8")) as { pid: number }).pid);
  }
  return pids;
}

/** The sandbox's agent's pid, or null when none holds its lock. */
export function agentPid(sb: Sandbox): number | null {
  return agentPids(sb)[0] ?? null;
}

/** Stops the agents this sandbox's commands started (SIGTERM; one already gone is fine). */
export function stopAgent(sb: Sandbox): void {
  for (const pid of agentPids(sb)) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // gone already
    }
  }
}
