/**
 * `dstack up` of a task (without `-d`): once the engine has made the run, the task's output is
 * streamed as it happens (stdout to stdout; with `--json`, to stderr), `up` waits for the end,
 * ends the run (the container is removed, the record is kept: `done` or `failed`, "exited with
 * code N") and exits with the task's own exit code.
 *
 * While it follows, `up` does not hold the run's lock, so `dstack stop NAME` from elsewhere
 * works (the record then says `stopped by user`). Ctrl-C detaches: the task goes on, `dstack
 * logs -f NAME` follows it again, `dstack stop NAME` stops it; `up` exits 130.
 *
 * Exit codes: the task's own code when its commands exited; 4 (E6202) when the start script
 * failed before the commands (setup, init, sshd); 1 (E6203) when the run ended otherwise
 * (stopped, max duration, interrupted).
 */
import { DstackError, ExitCode } from "../diagnostics";
import { renderReason, type RunView, type TerminationReason } from "../runs/record";
import { printNotice } from "./errors";

export interface TaskEnd {
  view: RunView;
  /** The exit code `up` exits with. */
  exitCode: number;
}

/** The exit code of `up` for a task's end, or the error to throw (pure). */
export function taskExit(name: string, reason: TerminationReason): { exitCode: number } | { error: DstackError } {
  if (reason.kind === "exited" && typeof reason.exit_code === "number") return { exitCode: reason.exit_code };
  if (reason.kind === "setup_failed" || reason.kind === "provisioning_failed") {
    return {
      error: new DstackError(
        { code: "E6202", severity: "error", message: `${name} failed before its commands ran: ${renderReason(reason)}`, hint: `\`dstack logs ${name}\` shows its output; fix the cause and \`dstack up\` again` },
        ExitCode.Provisioning,
      ),
    };
  }
  return {
    error: new DstackError({ code: "E6203", severity: "error", message: `${name} ended before its commands finished: ${renderReason(reason)}`, hint: `\`dstack logs ${name}\` shows its output` }, ExitCode.Failure),
  };
}

/**
 * Follows the task whose outputs are given, to its end (see the file comment). `releaseLock`
 * gives up `up`'s lock on the run while following; the end is recorded under the lock again.
 */
export async function followTaskToEnd(name: string, outputs: Record<string, unknown>, o: { json: boolean; releaseLock: () => void }): Promise<TaskEnd> {
  const runLog = await import("../runs/run-log");
  const records = await import("../runs/records");
  const lc = await import("../runs/lifecycle");
  const { acquireRunLock } = await import("../stacks/run-lock");
  o.releaseLock();
  const detach = new AbortController();
  const onSignal = () => detach.abort();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let reason: TerminationReason | null;
  try {
    reason = await runLog.followTask(outputs, { stdout: o.json ? process.stderr : process.stdout, stderr: process.stderr, signal: detach.signal });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  if (reason === null) {
    printNotice({ code: "E6204", severity: "warning", message: `detached from ${name}: the task goes on`, hint: `\`dstack logs -f ${name}\` follows it, \`dstack stop ${name}\` stops it` });
    return { view: await lc.getRun(name), exitCode: ExitCode.Interrupted };
  }
  const lock = await acquireRunLock(name, { command: "dstack up (task ended)", wait: true, onNotice: printNotice });
  let ended: Awaited<ReturnType<typeof records.endRun>>;
  try {
    ended = await records.endRun(name, reason, { graceful: false });
  } finally {
    lock.release();
  }
  // Another command (`dstack stop`) may have ended the run first: its reason stands.
  const final = ended.record.reason ?? reason;
  if (!o.json) process.stdout.write(`\n${name} ${ended.record.status} (${renderReason(final)}).\n`);
  const view = await lc.getRun(name);
  const exit = taskExit(name, final);
  if ("error" in exit) throw exit.error;
  return { view, exitCode: exit.exitCode };
}
