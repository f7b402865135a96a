/**
 * Runs one of dstack's own shell scripts (scripts/*.sh) with its output streamed line by line
 * (stdout and stderr alike) and the last lines kept, so a failure can say what went wrong.
 */
import { spawn } from "child_process";
import * as readline from "readline";

export interface ScriptResult {
  /** Exit code (1 when the script was ended by a signal). */
  code: number;
  /** The last non-blank output lines, oldest first. */
  tail: string[];
}

export function runScript(
  script: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; onLine?: (line: string) => void; tailLines?: number } = {},
): Promise<ScriptResult> {
  const keep = opts.tailLines ?? 20;
  const tail: string[] = [];
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [script, ...args], { env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    const onLine = (line: string) => {
      if (!line.trim()) return;
      tail.push(line);
      if (tail.length > keep) tail.shift();
      opts.onLine?.(line);
    };
    // readline joins lines that arrive split across chunks; resolve once both streams have
    // ended and the process has exited (three events)
    let pending = 3;
    let code = 1;
    const done = () => {
      if (--pending === 0) resolve({ code, tail });
    };
    for (const stream of [child.stdout, child.stderr]) readline.createInterface({ input: stream }).on("line", onLine).on("close", done);
    child.on("error", reject);
    child.on("close", (c) => {
      code = c ?? 1;
      done();
    });
  });
}
