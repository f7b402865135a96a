/**
 * `dstack logs NAME [-f]`: the run's log on this machine (provisioning events of every attempt,
 * the saved output of ended attempts: src/runs/run-log.ts), then, while the run's instance
 * exists, its live output (setup, init, commands). `-f` follows the live output until the
 * instance stops; Ctrl-C stops following (the run goes on).
 */
import type { Command } from "commander";
import { assertRunName } from "../config/names";

export async function logs(name: string, opts: { follow?: boolean }): Promise<void> {
  assertRunName(name);
  const records = await import("../runs/records");
  const runLog = await import("../runs/run-log");
  const { isActive } = await import("../runs/record");
  const stored = await records.readRecord(name);
  if (!stored) {
    const { runNotFound } = await import("../stacks/errors");
    throw runNotFound(name);
  }
  process.stdout.write(runLog.readRunLog(name));
  if (!stored.record || !isActive(stored.record.status) || !runLog.localContainerOf(stored.outputs)) return;
  const attempt = stored.record.attempts[stored.record.attempts.length - 1]?.n ?? 1;
  process.stdout.write(`--- output of attempt ${attempt} (live) ---\n`);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    await runLog.followInstanceOutput(stored.outputs, { stdout: process.stdout, stderr: process.stderr, follow: !!opts.follow, signal: stop.signal });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

export function register(program: Command): void {
  program
    .command("logs")
    .description("Print a run's log: provisioning events, then the output of setup, init and commands (-f follows it)")
    .argument("<NAME>", "the run's name (`dstack ps -a`)")
    .option("-f, --follow", "follow the live output until the run's instance stops (Ctrl-C stops following)")
    .action(async (name: string, opts: { follow?: boolean }) => {
      await logs(name, opts);
    });
}
