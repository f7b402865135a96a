/**
 * `dstack delete NAME [-y] [--json]`: deletes the record of an ended run: its stack (history and
 * tags included), its key, ssh entry and log. An active run is refused (E6201, exit 2): `dstack
 * stop NAME` first, or `dstack down --purge NAME`. An unknown run: E4503, exit 6.
 */
import type { Command } from "commander";
import { assertRunName } from "../config/names";
import { DstackError, ExitCode } from "../diagnostics";
import { confirm, requireConfirmable } from "./confirm";
import { printNotice } from "./errors";

export async function deleteRun(name: string, opts: { yes?: boolean; json?: boolean; wait?: boolean }): Promise<{ name: string; deleted: true }> {
  assertRunName(name);
  if (!opts.yes) {
    requireConfirmable(`deleting the record of ${name}`);
    const ok = await confirm(`Delete the record of ${name} (its history included)?`);
    if (!ok) throw new DstackError({ code: "E6104", severity: "error", message: "aborted: nothing was changed" }, ExitCode.Aborted);
  }
  const { deleteRecord } = await import("../runs/records");
  const { acquireRunLock } = await import("../stacks/run-lock");
  const lock = await acquireRunLock(name, { command: "dstack delete", wait: opts.wait, onNotice: printNotice });
  try {
    await deleteRecord(name);
  } finally {
    lock.release();
  }
  if (!opts.json) process.stdout.write(`The record of ${name} is deleted.\n`);
  return { name, deleted: true };
}

export function register(program: Command): void {
  program
    .command("delete")
    .description("Delete the record of an ended run (its stack and history)")
    .argument("<NAME>", "the run's name (`dstack ps -a`)")
    .option("-y, --yes", "do not ask for confirmation")
    .option("--json", "print the result as JSON")
    .option("--wait", "if another command is updating the run, wait for it instead of failing")
    .action(async (name: string, opts: { yes?: boolean; json?: boolean; wait?: boolean }) => {
      const result = await deleteRun(name, opts);
      if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
    });
}
