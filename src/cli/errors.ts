/**
 * The one place that turns errors into what a user sees: `FILE:LINE:COL: message`, the
 * offending line with a caret, a hint, and an exit code. No stack trace unless DSTACK_DEBUG=1.
 */
import * as fs from "fs";
import * as path from "path";
import { Diagnostic, DstackError, ExitCode } from "../diagnostics";

function sourceLine(file: string, line: number): string | undefined {
  try {
    return fs.readFileSync(file, "utf8").split(/\r?\n/)[line - 1];
  } catch {
    return undefined;
  }
}

/** Renders one diagnostic as text (several lines). */
export function formatDiagnostic(d: Diagnostic, cwd = process.cwd()): string {
  const where = d.file
    ? `${path.relative(cwd, d.file) || d.file}${d.line ? `:${d.line}:${d.col ?? 1}` : ""}: `
    : "";
  const out = [`${where}${d.severity}: ${d.message} [${d.code}]`];
  if (d.file && d.line) {
    const text = sourceLine(d.file, d.line);
    if (text !== undefined) {
      const col = Math.max(1, d.col ?? 1);
      const len = Math.max(1, Math.min(d.length ?? 1, Math.max(1, text.length - col + 1)));
      out.push(`  ${text}`);
      out.push(`  ${" ".repeat(col - 1)}${"^".repeat(len)}`);
    }
  }
  if (d.hint) out.push(`  hint: ${d.hint}`);
  return out.join("\n");
}

/** Diagnostics as JSON for `--json` output: `{"error": {"code", "message", "diagnostics": [...]}}`. */
export function errorJson(err: unknown): { error: { code: string; message: string; exit_code: number; diagnostics: Diagnostic[] } } {
  if (err instanceof DstackError) {
    return { error: { code: err.diagnostics[0]?.code ?? "E0001", message: err.message, exit_code: err.exitCode, diagnostics: err.diagnostics } };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { error: { code: "E0000", message, exit_code: ExitCode.Failure, diagnostics: [{ code: "E0000", severity: "error", message }] } };
}

/** Prints a warning or notice diagnostic on stderr (e.g. a stale lock broken, waiting for a lock). */
export function printNotice(d: Diagnostic): void {
  process.stderr.write(formatDiagnostic(d) + "\n");
}

/** Prints the error (text or JSON) and returns the exit code to use. */
export function reportError(err: unknown, opts: { json?: boolean } = {}): number {
  const debug = process.env.DSTACK_DEBUG === "1";
  if (opts.json) {
    process.stdout.write(JSON.stringify(errorJson(err), null, 2) + "\n");
  } else if (err instanceof DstackError) {
    process.stderr.write(err.diagnostics.map((d) => formatDiagnostic(d)).join("\n") + "\n");
  } else {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`error: ${message}\n`);
    if (!debug) process.stderr.write("  (set DSTACK_DEBUG=1 for the stack trace)\n");
  }
  if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + "\n");
  return err instanceof DstackError ? err.exitCode : ExitCode.Failure;
}
