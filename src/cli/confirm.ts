/** Confirmation prompts of `dstack up` / `dstack down` (stderr), and the non-interactive rules. */
import * as readline from "readline";
import { DstackError, ExitCode } from "../diagnostics";

/** CI=true (or 1/yes): non-interactive. */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(1|true|yes)$/i.test(env.CI ?? "");
}

/** Asks a yes/no question on stderr; resolves false on anything but y/yes (or on end of input). */
export async function confirm(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.on("close", () => resolve(""));
      rl.question(`${question} [y/n]: `, resolve);
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Refuses to go on without -y when nobody can answer. */
export function requireConfirmable(what: string): void {
  if (!process.stdin.isTTY || isCi()) {
    throw new DstackError(
      {
        code: "E6103",
        severity: "error",
        message: `not ${what}: confirmation needs a terminal (${isCi() ? "CI=true" : "stdin is not a TTY"})`,
        hint: "pass -y to go on without confirmation",
      },
      ExitCode.Usage,
    );
  }
}
