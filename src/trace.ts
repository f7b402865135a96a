/**
 * Phase marks for measuring where a command's time goes (bench/up prints the split by phase).
 * `mark(name)` notes the time since the process started (performance.now(), whose origin is
 * the process's start) in memory; nothing is written here. With DSTACK_TRACE=<file>, the CLI
 * (cli.ts) appends the marks to that file as one JSON line when the command ends.
 */
import { performance } from "perf_hooks";

export interface Mark {
  name: string;
  /** Milliseconds since the process started. */
  ms: number;
}

const marks: Mark[] = [];

/** Notes a phase's end (cheap: one array push). */
export function mark(name: string): void {
  marks.push({ name, ms: Math.round(performance.now() * 10) / 10 });
}

/** The marks so far, in order. */
export function marksSoFar(): readonly Mark[] {
  return marks;
}
