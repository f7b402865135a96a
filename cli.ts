#!/usr/bin/env node
/**
 * The `dstack` command line: commander wiring only. Each command lives in src/cli/<name>.ts,
 * exports `register(program)`, and loads heavy modules (Pulumi, Docker, ssh2) inside its action
 * so that `dstack config` starts fast.
 */
import * as fs from "fs";
import { Command } from "commander";
import { reportError } from "./src/cli/errors";
import { commands } from "./src/cli/commands";
import { packageVersion } from "./src/paths";
import { deferUnusedModules } from "./src/stacks/deferred-modules";
import { mark, marksSoFar } from "./src/trace";

export function buildProgram(): Command {
  const program = new Command("dstack")
    .description("Run GPU dev environments and tasks from .dstack.yml, compiled to Pulumi programs")
    .version(packageVersion())
    .showHelpAfterError()
    .configureOutput({ outputError: (str, write) => write(str) });
  program.exitOverride();
  for (const register of commands) register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  mark("node started");
  deferUnusedModules(); // what the Pulumi SDK and dockerode load but dstack never uses (seconds of `up`)
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === "string" && e.code.startsWith("commander.")) {
      // commander already printed help/version/usage errors; usage errors exit 2
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
      return 2;
    }
    const json = argv.includes("--json");
    return reportError(err, { json });
  } finally {
    writeTrace(argv);
  }
}

/** DSTACK_TRACE=<file>: the command's phase marks (src/trace.ts) appended as one JSON line (bench/up reads them). */
function writeTrace(argv: string[]): void {
  const file = process.env.DSTACK_TRACE;
  if (!file) return;
  mark("done");
  try {
    fs.appendFileSync(file, JSON.stringify({ argv: argv.slice(2), marks: marksSoFar() }) + "\n");
  } catch {
    // a trace that cannot be written is no reason to fail the command
  }
}

if (require.main === module) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
