/**
 * OpenSSH client configuration for runs:
 * - `$DSTACK_HOME/ssh/config` holds one `Host <run>` block per run, between marker comments;
 * - `$DSTACK_HOME/ssh/known_hosts` pins each run's host key under the alias `<run>`
 *   (`HostKeyAlias`), so the pin does not depend on the (reused) loopback port;
 * - `~/.ssh/config` (~ = os.homedir()) gets one `Include` line for dstack's config, at the top
 *   (an Include inside a Host block would only apply to that host). `--no-ssh-config` skips it.
 * The pure renderers (`renderHostEntry`, `upsertBlock`, `removeBlock`, …) do no I/O.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DstackError, ExitCode } from "../diagnostics";
import { homePaths, writeFileAtomic } from "../paths";
import { assertRunName } from "../config/names";
import { ensureSshDir } from "./keys";
import { withFileLock } from "./file-lock";

export interface HostEntry {
  run: string;
  hostName: string;
  port: number;
  user: string;
  identityFile: string;
  knownHostsFile: string;
  /** A command whose stdin/stdout carry the connection (kubernetes: dstack's port-forward), or none. */
  proxyCommand?: string;
}

const begin = (run: string) => `# >>> dstack run ${run} >>>`;
const end = (run: string) => `# <<< dstack run ${run} <<<`;

/** Paths in ssh_config may contain spaces; OpenSSH accepts double-quoted arguments. */
function quote(p: string): string {
  return /\s/.test(p) ? `"${p}"` : p;
}

export function renderHostEntry(e: HostEntry): string {
  return [
    begin(e.run),
    `Host ${e.run}`,
    `  HostName ${e.hostName}`,
    `  Port ${e.port}`,
    `  User ${e.user}`,
    ...(e.proxyCommand ? [`  ProxyCommand ${e.proxyCommand}`] : []),
    `  IdentityFile ${quote(e.identityFile)}`,
    `  IdentitiesOnly yes`,
    `  UserKnownHostsFile ${quote(e.knownHostsFile)}`,
    `  HostKeyAlias ${e.run}`,
    `  StrictHostKeyChecking yes`,
    `  ServerAliveInterval 30`,
    `  LogLevel ERROR`,
    end(e.run),
  ].join("\n");
}

/** Removes the marked block of `run` from a config text (pure). */
export function removeBlock(text: string, run: string): string {
  const lines = text.split("\n");
  const out: string[] = [];
  let skipping = false;
  for (const line of lines) {
    if (line === begin(run)) {
      skipping = true;
      continue;
    }
    if (skipping) {
      if (line === end(run)) skipping = false;
      continue;
    }
    out.push(line);
  }
  return out.join("\n").replace(/\n{3,}/g, "\n\n").replace(/^\n+/, "");
}

/** Replaces (or appends) the marked block of `run` in a config text (pure). */
export function upsertBlock(text: string, entry: HostEntry): string {
  const rest = removeBlock(text, entry.run).replace(/\n+$/, "");
  return (rest ? rest + "\n\n" : "") + renderHostEntry(entry) + "\n";
}

/** Run names that have a block in a config text (pure). */
export function listBlocks(text: string): string[] {
  const runs: string[] = [];
  for (const m of text.matchAll(/^# >>> dstack run (\S+) >>>$/gm)) runs.push(m[1]);
  return runs;
}

/** The Include line for dstack's config file. */
export function includeLine(configPath: string): string {
  return `Include ${quote(configPath)}`;
}

/** Adds the Include line at the top of a user ssh config text unless it is already there (pure, idempotent). */
export function withInclude(text: string, configPath: string): string {
  const line = includeLine(configPath);
  const has = text.split("\n").some((l) => l.trim() === line || l.trim() === `Include ${configPath}`);
  if (has) return text;
  const header = `# Added by dstack: the runs' Host entries (\`ssh <run>\`)\n${line}\n`;
  return text.length ? `${header}\n${text}` : header;
}

/** A known_hosts text with `alias` pinned to `hostKey` (replacing an older pin) (pure). */
export function withKnownHost(text: string, alias: string, hostKey: string): string {
  const key = normalizeHostKey(hostKey);
  const lines = text.split("\n").filter((l) => l.trim() && l.split(/\s+/)[0] !== alias);
  lines.push(`${alias} ${key}`);
  return lines.join("\n") + "\n";
}

export function withoutKnownHost(text: string, alias: string): string {
  const lines = text.split("\n").filter((l) => l.trim() && l.split(/\s+/)[0] !== alias);
  return lines.length ? lines.join("\n") + "\n" : "";
}

/** `type base64` of a public key line (comment dropped); throws on anything else. */
export function normalizeHostKey(hostKey: string): string {
  const m = /^\s*((?:ssh|ecdsa|sk)-[A-Za-z0-9@.-]+)\s+([A-Za-z0-9+/]+={0,3})(\s|$)/.exec(hostKey);
  if (!m) {
    throw new DstackError(
      {
        code: "E5002",
        severity: "error",
        message: `the run's host key is not an OpenSSH public key line: ${JSON.stringify(hostKey.slice(0, 60))}`,
        hint: "this is a backend bug: the host_key output must be `ssh-ed25519 AAAA…`",
      },
      ExitCode.Provisioning,
    );
  }
  return `${m[1]} ${m[2]}`;
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw e;
  }
}

/**
 * The user's ssh config path: ~/.ssh/config, with ~ = $HOME when set (read from `env`, so tests
 * that redirect HOME in-process are honoured), else os.homedir().
 */
export function userSshConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.HOME || os.homedir(), ".ssh", "config");
}

export interface WriteSshConfigOptions {
  /** Also add the Include line to ~/.ssh/config (default true; `--no-ssh-config` sets false). */
  include?: boolean;
  env?: NodeJS.ProcessEnv;
}

/**
 * Writes the run's Host entry and host-key pin, and (unless `include: false`) the Include line
 * in ~/.ssh/config. Returns the path of dstack's ssh config (for `ssh -F`).
 */
export function writeRunSshConfig(entry: Omit<HostEntry, "knownHostsFile">, hostKey: string | null, opts: WriteSshConfigOptions = {}): string {
  assertRunName(entry.run);
  const env = opts.env ?? process.env;
  const p = homePaths(env);
  ensureSshDir(env);
  // shared by every run: read-modify-write under a short lock, so that concurrent runs keep each other's entries
  if (hostKey) withFileLock(p.knownHosts, () => writeFileAtomic(p.knownHosts, withKnownHost(readText(p.knownHosts), entry.run, hostKey), 0o600));
  withFileLock(p.sshConfig, () => writeFileAtomic(p.sshConfig, upsertBlock(readText(p.sshConfig), { ...entry, knownHostsFile: p.knownHosts }), 0o600));
  if (opts.include !== false) ensureUserInclude(p.sshConfig, env);
  return p.sshConfig;
}

/** Adds `Include <dstack config>` to ~/.ssh/config once (creating ~/.ssh 0700 and the file 0600). */
export function ensureUserInclude(dstackConfigPath: string, env: NodeJS.ProcessEnv = process.env): void {
  const file = userSshConfigPath(env);
  const text = readText(file);
  const next = withInclude(text, dstackConfigPath);
  if (next === text) return;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const mode = fs.existsSync(file) ? fs.statSync(file).mode & 0o777 : 0o600;
  writeFileAtomic(file, next, mode);
}

/** Removes the run's Host entry and host-key pin (the Include line stays: it is shared). */
export function removeRunSshConfig(run: string, env: NodeJS.ProcessEnv = process.env): void {
  assertRunName(run);
  const p = homePaths(env);
  withFileLock(p.sshConfig, () => {
    const cfg = readText(p.sshConfig);
    if (cfg) writeFileAtomic(p.sshConfig, removeBlock(cfg, run), 0o600);
  });
  withFileLock(p.knownHosts, () => {
    const kh = readText(p.knownHosts);
    if (kh) writeFileAtomic(p.knownHosts, withoutKnownHost(kh, run), 0o600);
  });
}

/** Runs that have a Host entry in dstack's ssh config. */
export function sshConfigRuns(env: NodeJS.ProcessEnv = process.env): string[] {
  return listBlocks(readText(homePaths(env).sshConfig));
}
