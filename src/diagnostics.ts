/**
 * Errors as data. Every stage reports problems as `Diagnostic`s with a stable code;
 * only the CLI prints them and picks the exit code (see docs/exit-codes.md).
 */

/** Process exit codes. Stable: CI pipelines branch on them. */
export const ExitCode = {
  Ok: 0,
  /** Unexpected failure (a bug, or an engine error with no better class). */
  Failure: 1,
  /** Bad configuration, profile, flag or argument: nothing was changed. */
  Usage: 2,
  /** No offer satisfies the requirements. */
  NoOffers: 3,
  /** Provisioning failed (engine error, no capacity after retries, sshd never answered). */
  Provisioning: 4,
  /** A prerequisite is missing (Pulumi CLI, Docker engine, base image, ssh client). */
  Prerequisite: 5,
  /** Not found (no such run). */
  NotFound: 6,
  /** The user declined a confirmation. */
  Aborted: 7,
  /** The run is being updated by another command (its lock is held by a live process or another host). */
  Busy: 8,
  /** The cost guard refused the run: its projected cost (price per hour × max_duration) is above max_cost. */
  OverBudget: 9,
  /** Interrupted by a signal (SIGINT). */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type Severity = "error" | "warning";

export interface Diagnostic {
  /** Stable code, e.g. `E1001`. Codes are listed in docs/diagnostics.md. */
  code: string;
  severity: Severity;
  message: string;
  /** What to do about it. */
  hint?: string;
  /** Absolute path of the file the problem is in, if any. */
  file?: string;
  /** 1-based line and column of the start of the offending text. */
  line?: number;
  col?: number;
  /** Length of the offending text, for the caret line. */
  length?: number;
}

/**
 * Base of every error dstack reports to a user: it carries diagnostics and an exit code,
 * and the CLI prints it without a stack trace (unless DSTACK_DEBUG=1).
 */
export class DstackError extends Error {
  readonly diagnostics: Diagnostic[];
  readonly exitCode: ExitCode;
  constructor(diagnostics: Diagnostic[] | Diagnostic | string, exitCode: ExitCode = ExitCode.Failure) {
    const list: Diagnostic[] =
      typeof diagnostics === "string"
        ? [{ code: "E0001", severity: "error", message: diagnostics }]
        : Array.isArray(diagnostics)
          ? diagnostics
          : [diagnostics];
    super(list.map((d) => d.message).join("\n"));
    this.name = "DstackError";
    this.diagnostics = list;
    this.exitCode = exitCode;
  }
}

/** A configuration, profile or flag error (exit code 2). */
export class ConfigError extends DstackError {
  constructor(diagnostics: Diagnostic[] | Diagnostic | string) {
    super(diagnostics, ExitCode.Usage);
    this.name = "ConfigError";
  }
}
