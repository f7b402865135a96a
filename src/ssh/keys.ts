/**
 * Per-run SSH key pairs: `$DSTACK_HOME/ssh/id_<run>` (private, OpenSSH format, 0600) and
 * `id_<run>.pub`. One key per run, so that `dstack down` can revoke exactly one run's access.
 * Keys are ed25519 from ./keygen (node:crypto); a stored key that does not load — e.g. one of
 * the ~0.4% that ssh2's generator wrote with a 31-byte public key — is replaced on first use.
 */
import * as fs from "fs";
import * as path from "path";
import { assertRunName } from "../config/names";
import { homePaths, writeFileAtomic } from "../paths";
import { ed25519KeyPairProblem, generateEd25519KeyPair } from "./keygen";

export interface RunKey {
  /** Absolute path of the private key (the IdentityFile). */
  privateKeyPath: string;
  publicKeyPath: string;
  /** The private key, OpenSSH PEM text. */
  privateKey: string;
  /** The `ssh-ed25519 AAAA… dstack:<run>` line. */
  publicKey: string;
  /**
   * Set when `ensureRunKey` found a stored key that does not load and replaced it: why (for a
   * warning; the run's instance gets the new public key on this `up`).
   */
  replaced?: string;
}

export function runKeyPaths(run: string, env: NodeJS.ProcessEnv = process.env): { privateKeyPath: string; publicKeyPath: string } {
  assertRunName(run);
  const dir = homePaths(env).ssh;
  const privateKeyPath = path.join(dir, `id_${run}`);
  return { privateKeyPath, publicKeyPath: `${privateKeyPath}.pub` };
}

/** Creates DSTACK_HOME/ssh (0700) if needed. */
export function ensureSshDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = homePaths(env).ssh;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * Why a stored private key and `.pub` line cannot be used, or null: the strict OpenSSH parse of
 * ./keygen (structure, 32-byte keys, the seed derives the public key), then ssh2's own parser
 * (the library that connects with it) and its public key against the `.pub` line.
 */
export function storedKeyProblem(privateKey: string, publicKey: string): string | null {
  const problem = ed25519KeyPairProblem(privateKey, publicKey);
  if (problem) return problem;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: ssh2 takes about 0.4 s to load, needed only to check a stored key
  const { utils } = require("ssh2") as typeof import("ssh2");
  const parsed = utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) return `ssh2 cannot load the private key${key instanceof Error ? `: ${key.message}` : ""}`;
  const blob = publicKey.trim().split(/\s+/)[1] ?? "";
  if (key.getPublicSSH().toString("base64") !== blob) return "the public key file does not match the private key";
  return null;
}

/** The stored pair when both files are there and look like keys (not checked further). */
function readKey(privateKeyPath: string, publicKeyPath: string): RunKey | null {
  if (!fs.existsSync(privateKeyPath) || !fs.existsSync(publicKeyPath)) return null;
  const privateKey = fs.readFileSync(privateKeyPath, "utf8");
  const publicKey = fs.readFileSync(publicKeyPath, "utf8").trim();
  if (!privateKey.includes("PRIVATE KEY") || !/^ssh-ed25519 [A-Za-z0-9+/=]+/.test(publicKey)) return null;
  return { privateKeyPath, publicKeyPath, privateKey, publicKey };
}

/**
 * The run's key pair, generated on first use (ed25519, OpenSSH format). Returns the same key on
 * every later call, so a re-`up` does not change the plan. A stored pair that does not load
 * (see `storedKeyProblem`), or half a pair, is replaced by a new one, and `replaced` says why.
 */
export function ensureRunKey(run: string, env: NodeJS.ProcessEnv = process.env): RunKey {
  const { privateKeyPath, publicKeyPath } = runKeyPaths(run, env);
  const existing = readKey(privateKeyPath, publicKeyPath);
  let problem: string | null = null;
  if (existing) {
    problem = storedKeyProblem(existing.privateKey, existing.publicKey);
    if (!problem) return existing;
  } else if (fs.existsSync(privateKeyPath) || fs.existsSync(publicKeyPath)) {
    problem = "the pair is incomplete or not an ed25519 key";
  }
  ensureSshDir(env);
  const pair = generateEd25519KeyPair(`dstack:${run}`);
  writeFileAtomic(privateKeyPath, pair.privateKey, 0o600);
  writeFileAtomic(publicKeyPath, pair.publicKey + "\n", 0o600);
  const key: RunKey = { privateKeyPath, publicKeyPath, privateKey: pair.privateKey, publicKey: pair.publicKey };
  if (problem) key.replaced = `the SSH key of run ${run} (${privateKeyPath}) could not be used (${problem}); a new key was generated`;
  return key;
}

/** The run's key pair if it exists, else null (never generates, nor checks that it loads). */
export function readRunKey(run: string, env: NodeJS.ProcessEnv = process.env): RunKey | null {
  const { privateKeyPath, publicKeyPath } = runKeyPaths(run, env);
  return readKey(privateKeyPath, publicKeyPath);
}

/** Deletes the run's key pair and its instance's host key (no error when absent). */
export function removeRunKey(run: string, env: NodeJS.ProcessEnv = process.env): void {
  const { privateKeyPath, publicKeyPath } = runKeyPaths(run, env);
  fs.rmSync(privateKeyPath, { force: true });
  fs.rmSync(publicKeyPath, { force: true });
  const host = hostKeyPaths(run, env);
  fs.rmSync(host.privateKeyPath, { force: true });
  fs.rmSync(host.publicKeyPath, { force: true });
}

/** `$DSTACK_HOME/ssh/host_<run>` (+ `.pub`): the host key dstack gives a cloud instance's sshd. */
export function hostKeyPaths(run: string, env: NodeJS.ProcessEnv = process.env): { privateKeyPath: string; publicKeyPath: string } {
  const { privateKeyPath } = runKeyPaths(run, env);
  const p = path.join(path.dirname(privateKeyPath), `host_${run}`);
  return { privateKeyPath: p, publicKeyPath: `${p}.pub` };
}

/**
 * The instance's SSH host key (a cloud run's): generated once by dstack, delivered as a secret
 * in the user data and pinned in known_hosts (no trust on first use). The same on every `up`,
 * so that the user data does not change.
 */
export function ensureRunHostKey(run: string, env: NodeJS.ProcessEnv = process.env): { publicKey: string; privateKey: string } {
  const { privateKeyPath, publicKeyPath } = hostKeyPaths(run, env);
  const existing = readKey(privateKeyPath, publicKeyPath);
  if (existing && !ed25519KeyPairProblem(existing.privateKey, existing.publicKey)) return { publicKey: existing.publicKey, privateKey: existing.privateKey };
  ensureSshDir(env);
  const pair = generateEd25519KeyPair(`dstack-host:${run}`);
  writeFileAtomic(privateKeyPath, pair.privateKey, 0o600);
  writeFileAtomic(publicKeyPath, pair.publicKey + "\n", 0o600);
  return { publicKey: pair.publicKey, privateKey: pair.privateKey };
}
