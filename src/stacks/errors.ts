/**
 * Engine failures as dstack errors: a Pulumi CLI failure (from the Automation API or from
 * running the CLI directly) becomes a DstackError with a stable code, keeping the engine's message.
 */
import { DstackError, ExitCode } from "../diagnostics";

/** Wraps a Pulumi CLI failure as a DstackError (E4501; E4502 for a locked stack), keeping the engine's own message. */
export function engineError(e: unknown, what: string): DstackError {
  if (e instanceof DstackError) return e;
  const err = e as { message?: string; commandResult?: { stderr?: string; stdout?: string }; name?: string };
  const stderr = err.commandResult?.stderr?.trim() ?? "";
  const stdout = err.commandResult?.stdout ?? "";
  const text = stderr || err.message || String(e);
  const locked = /locked by|stack is currently locked|ConcurrentUpdateError/i.test(text) || err.name === "ConcurrentUpdateError";
  if (locked) {
    return new DstackError(
      {
        code: "E4502",
        severity: "error",
        message: `${what}: the run's stack is locked by another dstack (or an interrupted one)`,
        hint: "wait for the other command to finish; if none runs, remove the lock file under $DSTACK_HOME/state/.pulumi/locks/",
      },
      ExitCode.Provisioning,
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
