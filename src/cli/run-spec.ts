/**
 * The RunSpec of a command's `[DIR]` and run flags, loaded by src/config. Imported inside
 * actions only (`await import("./run-spec")`): src/config loads `yaml` and the validators,
 * which `dstack --version` and commands without a configuration should not pay for.
 *
 *   runSpecFromCommand(dir, cmd.opts())   -> RunSpec, or throws ConfigError (exit code 2)
 *   offerRunSpec(dir, cmd.opts())         -> the same, or a bare task when DIR has no configuration
 */
import * as fs from "fs";
import * as path from "path";
import { loadRunSpec } from "../config";
import type { RunSpec } from "../config/runspec";
import { ConfigError } from "../diagnostics";
import { homePaths } from "../paths";
import { runInputFromCommand } from "./run-flags";

/** The RunSpec for a command's `[DIR]` and its options (synchronous; throws ConfigError). */
export function runSpecFromCommand(dir: string | undefined, opts: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): RunSpec {
  return loadRunSpec(runInputFromCommand(dir, opts, env));
}

/**
 * The RunSpec of `dstack offer`: the configuration in DIR (or -f FILE) with the flags on top;
 * without any configuration, a task (`commands: [":"]`, as dstack's own `offer` does) with the flags.
 */
export function offerRunSpec(dir: string | undefined, opts: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): RunSpec {
  try {
    return runSpecFromCommand(dir, opts, env);
  } catch (err) {
    if (!(err instanceof ConfigError) || err.diagnostics[0]?.code !== "E1070" || opts.file !== undefined) throw err;
    const file = path.join(homePaths(env).cache, "offer.dstack.yml");
    const text = "# written by `dstack offer` for directories without a configuration\ntype: task\ncommands: [\":\"]\n";
    if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== text) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
    }
    return runSpecFromCommand(dir, { ...opts, file }, env);
  }
}
