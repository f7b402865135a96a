/**
 * Waiting for a run's sshd: connect with ssh2 until the server answers, presents the pinned
 * host key (when known) and accepts the run's key. Loopback only on the local backend.
 */
import type { ConnectConfig } from "ssh2";
import { DstackError, ExitCode } from "../diagnostics";
import { normalizeHostKey } from "./config";

export interface WaitForSshOptions {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  /** `ssh-ed25519 AAAA…`: when given, any other host key is refused. */
  hostKey?: string | null;
  /** Total time to wait, ms (default 60 s). */
  timeoutMs?: number;
  /** Pause between attempts, ms (default 100). */
  intervalMs?: number;
  signal?: AbortSignal;
  /** Called with each failed attempt's reason (for progress). */
  onAttempt?: (attempt: number, reason: string) => void;
  /**
   * Asked about once a second while sshd does not answer: a non-null result stops the wait
   * (e.g. the container exited). `error` is thrown as is; `done` ends the wait without ssh.
   */
  check?: () => Promise<{ error: DstackError } | { done: string } | null>;
}

export interface SshReady {
  attempts: number;
  elapsedMs: number;
  /** Set when `check` ended the wait without ssh (e.g. a task that already finished). */
  done?: string;
}

/** One connection attempt: resolves when authenticated, rejects with the reason otherwise. */
export function trySshOnce(o: WaitForSshOptions, readyTimeoutMs: number): Promise<void> {
  // Lazy on purpose: ssh2 takes about 0.4 s to load, and this module is imported by
  // src/runs/lifecycle.ts, which `ps` and `down` load without ever waiting for sshd.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: ssh2 takes about 0.4 s to load (see above)
  const { Client } = require("ssh2") as typeof import("ssh2");
  const expected = o.hostKey ? Buffer.from(normalizeHostKey(o.hostKey).split(" ")[1], "base64") : null;
  return new Promise((resolve, reject) => {
    const client = new Client();
    let hostKeyMismatch = false;
    let settled = false;
    const done = (err?: Error) => {
      if (settled) return;
      settled = true;
      client.removeAllListeners();
      client.on("error", () => undefined);
      client.end();
      if (err) reject(err);
      else resolve();
    };
    client.on("ready", () => done());
    client.on("error", (err) => done(hostKeyMismatch ? new Error("host key mismatch") : err));
    client.on("close", () => done(new Error("connection closed")));
    const cfg: ConnectConfig = {
      host: o.host,
      port: o.port,
      username: o.username,
      privateKey: o.privateKey,
      readyTimeout: readyTimeoutMs,
      tryKeyboard: false,
      hostVerifier: (key: Buffer) => {
        if (!expected) return true;
        const ok = key.equals(expected);
        if (!ok) hostKeyMismatch = true;
        return ok;
      },
    };
    client.connect(cfg);
  });
}

/** Waits until sshd accepts the run's key, or throws E5003 (timeout) / E5004 (host key mismatch). */
export async function waitForSsh(o: WaitForSshOptions): Promise<SshReady> {
  const start = Date.now();
  const timeout = o.timeoutMs ?? 60_000;
  const interval = o.intervalMs ?? 100;
  let attempts = 0;
  let last: string;
  let lastCheck = Date.now();
  for (;;) {
    if (o.signal?.aborted) throw new DstackError({ code: "E5005", severity: "error", message: "interrupted while waiting for sshd" }, ExitCode.Interrupted);
    attempts++;
    const left = timeout - (Date.now() - start);
    try {
      await trySshOnce(o, Math.max(1000, Math.min(10_000, left)));
      return { attempts, elapsedMs: Date.now() - start };
    } catch (e) {
      last = (e as Error).message;
      o.onAttempt?.(attempts, last);
      if (last === "host key mismatch") {
        throw new DstackError(
          {
            code: "E5004",
            severity: "error",
            message: `sshd at ${o.host}:${o.port} presented a host key other than the run's pinned key`,
            hint: "another process may own this port; run `dstack down` and `dstack up` again",
          },
          ExitCode.Provisioning,
        );
      }
    }
    if (o.check && Date.now() - lastCheck >= 1000) {
      lastCheck = Date.now();
      const verdict = await o.check();
      if (verdict && "error" in verdict) throw verdict.error;
      if (verdict && "done" in verdict) return { attempts, elapsedMs: Date.now() - start, done: verdict.done };
    }
    if (Date.now() - start + interval > timeout) {
      throw new DstackError(
        {
          code: "E5003",
          severity: "error",
          message: `sshd at ${o.host}:${o.port} did not accept the run's key within ${Math.round(timeout / 1000)} s (last error: ${last})`,
          hint: "check the container's logs (`docker logs <instance id>`); the run is kept: `dstack down NAME` removes it",
        },
        ExitCode.Provisioning,
      );
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}
