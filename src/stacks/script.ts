/**
 * Child processes whose output is read line by line: dstack's own shell scripts (scripts/*.sh)
 * and the Pulumi CLI run directly (cli-run.ts). Stdout and stderr are streamed as whole lines
 * (readline joins lines split across chunks) and the last lines are kept, so a failure can say
 * what went wrong.
 */
import { spawn } from "child_process";
import * as readline from "readline";

export interface ScriptResult {
  /** Exit code (1 when the process was ended by a signal). */
  code: number;
  /** The last non-blank output lines, oldest first. */
  tail: string[];
}

export interface LinesResult extends ScriptResult {
  /** The whole stdout and stderr (blank lines included), only with `keepOutput`. */
  stdout: string;
  stderr: string;
}

export interface LinesOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Each non-blank line, from whichever stream it came. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  tailLines?: number;
  /** Keep the whole output in the result (for error messages that quote it). */
  keepOutput?: boolean;
  /** Aborting sends the process SIGINT (Pulumi then cancels cleanly). */
  signal?: AbortSignal;
}

/** Runs `file args` and resolves once it has exited and both of its streams have ended. */
export function runLines(file: string, args: string[], opts: LinesOptions = {}): Promise<LinesResult> {
  const keep = opts.tailLines ?? 20;
  const tail: string[] = [];
  const output = { stdout: [] as string[], stderr: [] as string[] };
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    const abort = () => child.kill("SIGINT");
    opts.signal?.addEventListener("abort", abort);
    const onLine = (stream: "stdout" | "stderr") => (line: string) => {
      if (opts.keepOutput) output[stream].push(line);
      if (!line.trim()) return;
      tail.push(line);
      if (tail.length > keep) tail.shift();
      opts.onLine?.(line, stream);
    };
    // resolve once both streams have ended and the process has exited (three events)
    let pending = 3;
    let code = 1;
    const done = () => {
      if (--pending > 0) return;
      opts.signal?.removeEventListener("abort", abort);
      const text = (lines: string[]) => (lines.length ? lines.join("\n") + "\n" : "");
      resolve({ code, tail, stdout: text(output.stdout), stderr: text(output.stderr) });
    };
    readline.createInterface({ input: child.stdout }).on("line", onLine("stdout")).on("close", done);
    readline.createInterface({ input: child.stderr }).on("line", onLine("stderr")).on("close", done);
    child.on("error", (e) => {
      opts.signal?.removeEventListener("abort", abort);
      reject(e);
    });
    child.on("close", (c) => {
      code = c ?? 1;
      done();
    });
  });
}

/** Runs one of dstack's shell scripts with bash; every non-blank line goes to `onLine`. */
export async function runScript(
  script: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; onLine?: (line: string) => void; tailLines?: number } = {},
): Promise<ScriptResult> {
  const { code, tail } = await runLines("bash", [script, ...args], { env: opts.env, tailLines: opts.tailLines, onLine: opts.onLine && ((line) => opts.onLine?.(line)) });
  return { code, tail };
}
