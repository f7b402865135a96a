/**
 * Per-run SSH key pairs: `$DSTACK_HOME/ssh/id_<run>` (private, OpenSSH format, 0600) and
 * `id_<run>.pub`. One key per run, so that `dstack down` can revoke exactly one run's access.
 */
import * as fs from "fs";
import * as path from "path";
import { assertRunName } from "../config/names";
import { homePaths } from "../paths";

export interface RunKey {
  /** Absolute path of the private key (the IdentityFile). */
  privateKeyPath: string;
  publicKeyPath: string;
  /** The private key, OpenSSH PEM text. */
  privateKey: string;
  /** The `ssh-ed25519 AAAA… dstack:<run>` line. */
  publicKey: string;
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

/** Writes a file with the given mode atomically (temp file + rename), so a crash never leaves half a key. */
export function writeFileAtomic(file: string, data: string, mode: number): void {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, data, { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}

function readKey(privateKeyPath: string, publicKeyPath: string): RunKey | null {
  if (!fs.existsSync(privateKeyPath) || !fs.existsSync(publicKeyPath)) return null;
  const privateKey = fs.readFileSync(privateKeyPath, "utf8");
  const publicKey = fs.readFileSync(publicKeyPath, "utf8").trim();
  if (!privateKey.includes("PRIVATE KEY") || !/^ssh-ed25519 [A-Za-z0-9+/=]+/.test(publicKey)) return null;
  return { privateKeyPath, publicKeyPath, privateKey, publicKey };
}

/**
 * The run's key pair, generated on first use (ed25519 through ssh2, OpenSSH format).
 * Returns the same key on every later call, so a re-`up` does not change the plan.
 */
export function ensureRunKey(run: string, env: NodeJS.ProcessEnv = process.env): RunKey {
  const { privateKeyPath, publicKeyPath } = runKeyPaths(run, env);
  const existing = readKey(privateKeyPath, publicKeyPath);
  if (existing) return existing;
  ensureSshDir(env);
  const { utils } = require("ssh2") as typeof import("ssh2");
  const pair = utils.generateKeyPairSync("ed25519", { comment: `dstack:${run}` });
  const publicKey = pair.public.trim();
  writeFileAtomic(privateKeyPath, pair.private.endsWith("\n") ? pair.private : pair.private + "\n", 0o600);
  writeFileAtomic(publicKeyPath, publicKey + "\n", 0o600);
  return { privateKeyPath, publicKeyPath, privateKey: pair.private, publicKey };
}

/** The run's key pair if it exists, else null (never generates). */
export function readRunKey(run: string, env: NodeJS.ProcessEnv = process.env): RunKey | null {
  const { privateKeyPath, publicKeyPath } = runKeyPaths(run, env);
  return readKey(privateKeyPath, publicKeyPath);
}

/** Deletes the run's key pair (no error when absent). */
export function removeRunKey(run: string, env: NodeJS.ProcessEnv = process.env): void {
  const { privateKeyPath, publicKeyPath } = runKeyPaths(run, env);
  fs.rmSync(privateKeyPath, { force: true });
  fs.rmSync(publicKeyPath, { force: true });
}
