/**
 * Engine failures as dstack errors: a Pulumi CLI failure (from the Automation API or from
 * running the CLI directly) becomes a DstackError with a stable code, keeping the engine's message.
 */
import { DstackError, ExitCode } from "../diagnostics";
import { beingUpdatedError, isLockConflict, judgeOnThisHost, parseLockHolders } from "./locks";

/**
 * Wraps a Pulumi CLI failure as a DstackError (E4501), keeping the engine's own message. A lock
 * conflict that reached here (operations on a run go through `withEngineLock`, which reports
 * E4504) is E4504 when the engine named the holder, else E4502; both exit with ExitCode.Busy.
 */
export function engineError(e: unknown, what: string, runName?: string): DstackError {
  if (e instanceof DstackError) return e;
  const err = e as { message?: string; commandResult?: { stderr?: string; stdout?: string }; name?: string };
  const stderr = err.commandResult?.stderr?.trim() ?? "";
  const stdout = err.commandResult?.stdout ?? "";
  const text = stderr || err.message || String(e);
  const locked = isLockConflict(text) || err.name === "ConcurrentUpdateError";
  if (locked) {
    const holders = parseLockHolders(text);
    if (runName && holders.length) return beingUpdatedError(runName, judgeOnThisHost(holders[0]).holder);
    return new DstackError(
      {
        code: "E4502",
        severity: "error",
        message: `${what}: the run's stack is locked by another command (or an interrupted one)`,
        hint: `wait for the other command to finish (or pass --wait); if none runs: \`dstack unlock ${runName ?? "NAME"}\``,
      },
      ExitCode.Busy,
    );
  }
  // The engine prints resource errors in stdout's "Diagnostics:" section.
  const diag = /Diagnostics:\n([\s\S]*?)(?:\n(?:Outputs|Resources):|$)/.exec(stdout)?.[1]?.trim();
  return new DstackError(
    {
      code: "E4501",
      severity: "error",
      message: `${what} failed: ${diag || text}`.slice(0, 8000),
      hint: "set DSTACK_DEBUG=1 for the engine's full output",
    },
    ExitCode.Provisioning,
  );
}

/** E4503: the run (its stack) does not exist. */
export function runNotFound(runName: string): DstackError {
  return new DstackError(
    { code: "E4503", severity: "error", message: `no run named ${runName}`, hint: "`dstack ps` lists the runs" },
    ExitCode.NotFound,
  );
}
