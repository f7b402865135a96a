/**
 * Streams a tar archive into a folder of a run's machine over SSH (ssh2): one `exec` of
 * `mkdir -p DIR && tar -x -C DIR -f -` with the archive on its stdin, then a marker file.
 * The server must present the pinned host key. Resolves with the bytes sent.
 */
import type { Readable } from "stream";
import type { ConnectConfig } from "ssh2";
import { normalizeHostKey } from "./config";

/** POSIX shell single-quoting. */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  /** `ssh-ed25519 AAAA…`: any other host key is refused. */
  hostKey: string | null;
}

/** Unpacks `tar` into `dir` on the target, then touches `dir/marker` (when given). Rejects with the remote error. */
export function extractTarOverSsh(t: SshTarget, tar: Readable, dir: string, marker?: string): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: ssh2 takes about 0.4 s to load, needed only by `up` of a cloud run
  const { Client } = require("ssh2") as typeof import("ssh2");
  const expected = t.hostKey ? Buffer.from(normalizeHostKey(t.hostKey).split(" ")[1], "base64") : null;
  const d = shellQuote(dir);
  const command = `mkdir -p ${d} && tar -x -o -C ${d} -f -${marker ? ` && touch ${shellQuote(`${dir}/${marker}`)}` : ""}`;
  return new Promise((resolve, reject) => {
    const client = new Client();
    let sent = 0;
    let stderr = "";
    let settled = false;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      client.end();
      if (err) reject(err);
      else resolve(sent);
    };
    client.on("error", (e) => finish(e));
    client.on("ready", () => {
      client.exec(command, (err, ch) => {
        if (err) return finish(err);
        ch.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
        ch.on("exit", (code: number | null) => {
          if (code === 0) finish(null);
          else finish(new Error(`tar on the instance exited ${code}: ${stderr.trim().split("\n").slice(-2).join(" ")}`));
        });
        tar.on("data", (b: Buffer) => (sent += b.length));
        tar.on("error", (e) => finish(e));
        tar.pipe(ch);
      });
    });
    const cfg: ConnectConfig = {
      host: t.host,
      port: t.port,
      username: t.username,
      privateKey: t.privateKey,
      readyTimeout: 30_000,
      tryKeyboard: false,
      hostVerifier: (key: Buffer) => !expected || key.equals(expected),
    };
    client.connect(cfg);
  });
}

/**
 * Runs `command` on the target over SSH (pinned host key), streaming its output to the
 * callbacks; resolves with its exit code and stdout (kept only without `onStdout`). Rejects when
 * the connection fails or drops. `signal` ends the session; `timeoutMs` bounds the whole call.
 */
export function sshExec(
  t: SshTarget,
  command: string,
  o: { signal?: AbortSignal; timeoutMs?: number; onStdout?: (b: Buffer) => void; onStderr?: (b: Buffer) => void } = {},
): Promise<{ code: number | null; stdout: string }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: ssh2 takes about 0.4 s to load
  const { Client } = require("ssh2") as typeof import("ssh2");
  const expected = t.hostKey ? Buffer.from(normalizeHostKey(t.hostKey).split(" ")[1], "base64") : null;
  return new Promise((resolve, reject) => {
    const client = new Client();
    let stdout = "";
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: Error | null, code: number | null = null) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
      client.end();
      if (err) reject(err);
      else resolve({ code, stdout });
    };
    const onAbort = () => finish(null, null);
    o.signal?.addEventListener("abort", onAbort, { once: true });
    if (o.timeoutMs) timer = setTimeout(() => finish(new Error(`Timed out after ${o.timeoutMs} ms`)), o.timeoutMs);
    client.on("error", (e) => finish(e));
    client.on("close", () => finish(new Error("connection closed")));
    client.on("ready", () => {
      client.exec(command, (err, ch) => {
        if (err) return finish(err);
        ch.on("data", (b: Buffer) => (o.onStdout ? o.onStdout(b) : (stdout += b.toString())));
        ch.stderr.on("data", (b: Buffer) => o.onStderr?.(b));
        ch.on("exit", (code: number | null) => ch.on("close", () => finish(null, code)));
      });
    });
    client.connect({
      host: t.host,
      port: t.port,
      username: t.username,
      privateKey: t.privateKey,
      readyTimeout: 15_000,
      tryKeyboard: false,
      hostVerifier: (key: Buffer) => !expected || key.equals(expected),
    });
  });
}
