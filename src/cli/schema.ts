/**
 * `dstack schema [configuration|profiles|runspec]`: print the JSON Schema of `.dstack.yml`
 * (default) or of `profiles.yml`, for editors (`# yaml-language-server: $schema=<file>`), or of
 * the RunSpec that `dstack config --json` prints, for scripts. `--json` is accepted for scripts
 * that pass it to every command: the schema is JSON already, so it prints the same document.
 */
import type { Command } from "commander";
import * as fs from "fs";
import * as path from "path";
import { ConfigError } from "../diagnostics";
import { packageRoot } from "../paths";

export const SCHEMA_FILES: Record<string, string> = {
  configuration: "dstack-configuration.schema.json",
  profiles: "profiles.schema.json",
  runspec: "runspec.schema.json",
};

export function register(program: Command): void {
  program
    .command("schema")
    .description("Print the JSON Schema of .dstack.yml (configuration), profiles.yml (profiles) or of `dstack config --json` (runspec)")
    .argument("[WHICH]", "configuration, profiles or runspec", "configuration")
    .option("--path", "print the schema file's path instead of its contents")
    .option("--json", "print the schema as JSON (the default; accepted for scripts)")
    .action((which: string, opts: { path?: boolean; json?: boolean }) => {
      const file = SCHEMA_FILES[which];
      if (!file) {
        throw new ConfigError({ code: "E1090", severity: "error", message: `unknown schema ${JSON.stringify(which)}`, hint: `one of: ${Object.keys(SCHEMA_FILES).join(", ")}` });
      }
      const full = path.join(packageRoot(), "schemas", file);
      process.stdout.write(opts.path ? `${full}\n` : fs.readFileSync(full, "utf8"));
    });
}
