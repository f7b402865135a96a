/**
 * `dstack stop NAME [-x/--abort] [-y] [--json]`: stops a run and keeps its record. Graceful by
 * default (the instance gets SIGTERM, then is killed once the run's `stop_duration` has passed,
 * 10 s when it names none); `--abort` kills it at once. Its resources are destroyed, its stack
 * stays with the record (`terminated`, "stopped by user" / "aborted by user") and its history:
 * `dstack ps -a` shows it, `dstack up` starts it again (a new attempt), `dstack delete NAME`
 * deletes the record. A run that had already ended is left as it is (exit 0).
 */
import type { Command } from "commander";
import { assertRunName } from "../config/names";
import { DstackError, ExitCode } from "../diagnostics";
import { confirm, requireConfirmable } from "./confirm";
import { downOne, type DownJson } from "./down";

export interface StopOptions {
  abort?: boolean;
  yes?: boolean;
  json?: boolean;
  wait?: boolean;
  forceUnlock?: boolean;
}

export async function stop(name: string, opts: StopOptions): Promise<DownJson> {
  assertRunName(name);
  if (!opts.yes) {
    requireConfirmable(`stopping ${name}`);
    const ok = await confirm(`${opts.abort ? "Abort" : "Stop"} the run ${name}?`);
    if (!ok) throw new DstackError({ code: "E6104", severity: "error", message: "aborted: nothing was changed" }, ExitCode.Aborted);
  }
  return downOne(name, { ...opts, purge: false, command: "dstack stop" });
}

export function register(program: Command): void {
  program
    .command("stop")
    .description("Stop a run and keep its record (graceful: SIGTERM, then kill after stop_duration; -x kills at once)")
    .argument("<NAME>", "the run's name (`dstack ps`)")
    .option("-x, --abort", "kill the run at once instead of stopping it gracefully")
    .option("-y, --yes", "do not ask for confirmation")
    .option("--json", "print the result as JSON")
    .option("--wait", "if another command is updating the run, wait for it instead of failing")
    .option("--force-unlock", "remove the run's locks even if a live process holds them (dangerous)")
    .action(async (name: string, opts: StopOptions) => {
      const result = await stop(name, opts);
      if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
    });
}
