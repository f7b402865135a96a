/**
 * `dstack unlock NAME [-y] [--json]`: removes the run's locks — dstack's run lock and Pulumi's
 * stack locks (on file:// the lock files, on any other DIY backend `pulumi cancel`). For a run
 * wedged by a command that can no longer release them (another host's, or one you stopped).
 * A lock held by a live process on this host needs a confirmation (or -y): that command may
 * still be writing the run's state.
 */
import type { Command } from "commander";
import { assertRunName } from "../config/names";
import { DstackError, ExitCode } from "../diagnostics";
import { confirm, requireConfirmable } from "./confirm";

export interface UnlockJson {
  name: string;
  removed: { kind: "dstack" | "engine"; pid: number; hostname: string; since: string; command?: string }[];
  /** Pulumi's locks were removed with `pulumi cancel` (a backend other than file://): not listed. */
  engine_cancelled: boolean;
}

export async function unlock(name: string, opts: { yes?: boolean; json?: boolean }): Promise<UnlockJson> {
  assertRunName(name);
  const rl = await import("../stacks/run-lock");
  const { judgeOnThisHost } = await import("../stacks/locks");
  const found = await rl.listRunLocks(name);
  const held = [...(found.dstack ? [{ kind: "dstack" as const, ...found.dstack }] : []), ...(found.engine ?? []).map((h) => ({ kind: "engine" as const, ...h }))].map((h) => ({
    ...h,
    ...judgeOnThisHost(h),
  }));
  const live = held.filter((h) => h.verdict.state === "live");
  if (live.length && !opts.yes) {
    requireConfirmable(`unlocking ${name}`);
    const who = live.map((h) => `pid ${h.holder.pid}${h.holder.command ? ` (${h.holder.command})` : ""}`).join(", ");
    const ok = await confirm(`${who} still runs on this host and may be writing the run's state. Remove its lock anyway?`);
    if (!ok) throw new DstackError({ code: "E6104", severity: "error", message: "aborted: nothing was changed" }, ExitCode.Aborted);
  }
  await rl.unlockRun(name);
  const removed = held.map((h) => ({ kind: h.kind, pid: h.holder.pid, hostname: h.holder.hostname, since: h.holder.since, ...(h.holder.command ? { command: h.holder.command } : {}) }));
  if (!opts.json) {
    if (removed.length) {
      for (const r of removed) process.stdout.write(`removed ${r.kind === "dstack" ? "dstack's" : "Pulumi's"} lock of ${name}: pid ${r.pid} on host ${r.hostname} since ${r.since}${r.command ? ` (${r.command})` : ""}\n`);
    } else if (found.engine === undefined) {
      process.stdout.write(`${name}: Pulumi's locks removed (pulumi cancel)\n`);
    } else {
      process.stdout.write(`${name} was not locked.\n`);
    }
  }
  return { name, removed, engine_cancelled: found.engine === undefined };
}

export function register(program: Command): void {
  program
    .command("unlock")
    .description("Remove a run's locks left by a command that can no longer release them")
    .argument("<NAME>", "the run's name (`dstack ps`)")
    .option("-y, --yes", "do not ask for confirmation, even if the holder still runs")
    .option("--json", "print the result as JSON")
    .action(async (name: string, opts: { yes?: boolean; json?: boolean }) => {
      const result = await unlock(name, opts);
      if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
    });
}
