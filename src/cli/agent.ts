/**
 * `dstack agent [--once]`: the detached reconciler (src/runs/agent.ts). `dstack up` starts it
 * when a run manages itself (a deadline, a retry policy or an inactivity rule); it is not
 * usually run by hand. One per DSTACK_HOME and state backend: a second one exits at once
 * (exit 0, "already running"). It exits when no managed run is active. Its lines go to stdout,
 * which a detached agent has redirected to `$DSTACK_HOME/agent/<hash>.log`.
 */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("agent")
    .description("Reconcile self-managing runs (deadlines, retries, inactivity) until none is left; started by `dstack up`")
    .option("--once", "one look at every managed run, then exit (as `dstack reap`, with the agent's lock)")
    .action(async (opts: { once?: boolean }) => {
      const { runAgent } = await import("../runs/agent");
      const { reconcileManaged } = await import("../runs/reconcile");
      const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.on("SIGTERM", onSignal);
      process.on("SIGINT", onSignal);
      try {
        const r = await runAgent((o) => reconcileManaged(o), { log, signal: stop.signal, maxRounds: opts.once ? 1 : undefined });
        if (r === "already-running") log("an agent already runs for this DSTACK_HOME and state backend");
      } finally {
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
      }
    });
}
