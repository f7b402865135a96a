/**
 * `dstack attach NAME [--no-logs]`: forwards the run's `ports` to localhost over SSH (the stock
 * OpenSSH client with dstack's config: src/ssh/forward.ts) and follows the run's output.
 * `ports: ["8080:80"]` serves the container's port 80 at localhost:8080. On the local backend
 * the container shares the host's network, so a port mapped to itself (`80`, `"80:80"`) is
 * already on localhost and is not forwarded. Ctrl-C detaches: the forwards close, the run goes
 * on. attach returns when the run's instance stops, too.
 */
import type { Command } from "commander";
import { assertRunName } from "../config/names";
import { DstackError, ExitCode } from "../diagnostics";
import type { PortSpec } from "../config/runspec";
import { printNotice } from "./errors";

/** The ports to forward, and those already on localhost (local backend, same port) (pure). */
export function portsToForward(backend: string, ports: PortSpec[]): { forward: PortSpec[]; direct: PortSpec[] } {
  const direct = backend === "local" ? ports.filter((p) => p.local_port === p.container_port) : [];
  return { forward: ports.filter((p) => !direct.includes(p)), direct };
}

export async function attach(name: string, opts: { logs?: boolean }): Promise<void> {
  assertRunName(name);
  const records = await import("../runs/records");
  const runLog = await import("../runs/run-log");
  const { isActive, renderReason } = await import("../runs/record");
  const stored = await records.readRecord(name);
  if (!stored) {
    const { runNotFound } = await import("../stacks/errors");
    throw runNotFound(name);
  }
  const rec = stored.record;
  if (!rec || !isActive(rec.status) || !stored.outputs || typeof stored.outputs.ssh_port !== "number") {
    throw new DstackError(
      { code: "E6207", severity: "error", message: `${name} is not running${rec ? ` (${rec.status}${rec.reason ? `: ${renderReason(rec.reason)}` : ""})` : ""}: nothing to attach to`, hint: `\`dstack up\` starts it again; \`dstack logs ${name}\` shows its output` },
      ExitCode.NotFound,
    );
  }
  const { readRunKey } = await import("../ssh/keys");
  const key = readRunKey(name);
  if (!key) {
    throw new DstackError(
      { code: "E6208", severity: "error", message: `this machine has no ssh key for ${name} (it was started from another one)`, hint: "attach from the machine that ran `dstack up`" },
      ExitCode.Prerequisite,
    );
  }
  const lc = await import("../runs/lifecycle");
  const conn = await lc.connectRun(name, stored.outputs, key, { include: false, wait: true, timeoutMs: 60_000 });
  const { forward, direct } = portsToForward(rec.backend, rec.ports);
  const { forwardPorts } = await import("../ssh/forward");
  const fwd = forward.length ? await forwardPorts(name, conn.sshConfig, forward) : null;
  for (const p of forward) process.stdout.write(`Forwarding localhost:${p.local_port} -> ${name}:${p.container_port}\n`);
  for (const p of direct) process.stdout.write(`localhost:${p.local_port} is ${name}:${p.container_port} (the local backend shares the host's network)\n`);
  if (rec.ports.length === 0) process.stdout.write(`${name} has no ports to forward.\n`);
  process.stdout.write(`Attached to ${name}; Ctrl-C detaches (the run goes on).\n`);

  const detach = new AbortController();
  const onSignal = () => detach.abort();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const waits: Promise<unknown>[] = [new Promise((r) => detach.signal.addEventListener("abort", r, { once: true }))];
    if (fwd) waits.push(fwd.closed.then(() => "ssh"));
    if (opts.logs !== false && runLog.localContainerOf(stored.outputs)) {
      waits.push(runLog.followInstanceOutput(stored.outputs, { stdout: process.stdout, stderr: process.stderr, follow: true, signal: detach.signal }).then(() => "stopped"));
    }
    const why = await Promise.race(waits);
    if (why === "ssh" && !detach.signal.aborted) printNotice({ code: "E6204", severity: "warning", message: `the ssh forwarding of ${name} ended`, hint: `\`dstack attach ${name}\` again` });
    else if (why === "stopped" && !detach.signal.aborted) process.stdout.write(`\n${name}'s instance stopped.\n`);
    else process.stderr.write(`\ndetached from ${name}: the run goes on (\`dstack stop ${name}\` stops it).\n`);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    detach.abort();
    fwd?.close();
  }
}

export function register(program: Command): void {
  program
    .command("attach")
    .description("Forward a run's ports to localhost over SSH and follow its output (Ctrl-C detaches)")
    .argument("<NAME>", "the run's name (`dstack ps`)")
    .option("--no-logs", "forward the ports without following the output")
    .action(async (name: string, opts: { logs?: boolean }) => {
      await attach(name, opts);
    });
}
