/**
 * Port forwarding for `dstack attach`: the stock OpenSSH client with dstack's generated config
 * (`ssh -F $DSTACK_HOME/ssh/config -N -L 127.0.0.1:LOCAL:localhost:REMOTE … <run>`), so the
 * forward goes through the same host-key pin and key as `ssh <run>`. `ExitOnForwardFailure`
 * makes a local port that cannot be bound an error instead of a silent half-forward.
 *
 * `forwardPorts` resolves once every local port accepts connections (the forward is live), or
 * rejects with ssh's own message (E6206) when ssh exits first.
 */
import { spawn, type ChildProcess } from "child_process";
import * as net from "net";
import type { PortSpec } from "../config/runspec";
import { DstackError, ExitCode } from "../diagnostics";

export interface Forwarding {
  /** The ports forwarded (local → container). */
  ports: PortSpec[];
  /** Resolves when the ssh process has exited (closed, or the connection dropped). */
  closed: Promise<number | null>;
  /** Ends the forwarding (SIGTERM to ssh). */
  close(): void;
}

/** ssh's arguments for the forwards (pure). */
export function forwardArgs(sshConfig: string, run: string, ports: PortSpec[]): string[] {
  const args = ["-F", sshConfig, "-N", "-o", "ExitOnForwardFailure=yes", "-o", "BatchMode=yes", "-o", "ServerAliveInterval=15"];
  for (const p of ports) args.push("-L", `127.0.0.1:${p.local_port}:localhost:${p.container_port}`);
  args.push(run);
  return args;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      s.removeAllListeners();
      s.destroy();
      resolve(ok);
    };
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
    s.setTimeout(1000, () => done(false));
  });
}

/** Starts `ssh -N -L …` for the run's ports and waits until every local port listens (at most `timeoutMs`). */
export async function forwardPorts(run: string, sshConfig: string, ports: PortSpec[], o: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Forwarding> {
  const child: ChildProcess = spawn("ssh", forwardArgs(sshConfig, run, ports), { stdio: ["ignore", "ignore", "pipe"], env: o.env ?? process.env });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  let exited: number | null | undefined;
  const closed = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      exited = code;
      resolve(code);
    });
    child.once("error", (e) => {
      stderr += String(e.message);
      exited = -1;
      resolve(-1);
    });
  });
  const fwd: Forwarding = { ports, closed, close: () => void (exited === undefined && child.kill("SIGTERM")) };
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  const pending = new Set(ports.map((p) => p.local_port));
  while (pending.size > 0) {
    if (exited !== undefined) break;
    for (const port of [...pending]) if (await accepts(port)) pending.delete(port);
    if (pending.size === 0) break;
    if (Date.now() > deadline) {
      fwd.close();
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (exited !== undefined || pending.size > 0) {
    fwd.close();
    throw new DstackError(
      {
        code: "E6206",
        severity: "error",
        message: `forwarding ${[...pending].map((p) => `localhost:${p}`).join(", ") || "the ports"} of ${run} failed${stderr.trim() ? `: ${stderr.trim().split("\n").slice(-3).join(" ")}` : ""}`,
        hint: "a local port may be taken by another program: map it elsewhere in `ports` (e.g. \"8081:80\")",
      },
      ExitCode.Provisioning,
    );
  }
  return fwd;
}
