/**
 * `dstack build [DIR|-f FILE] [--force] [--json]`: builds the configuration's prebuilt image
 * (its `build:` commands on top of its image, tagged `dstack-prebuilt:<hash>` where the hash
 * covers base image, build commands, python and nvcc) without starting a run. An existing
 * image with that tag is reused unless `--force` (which rebuilds; Docker's layer cache still
 * applies). Build output streams to stderr; stdout says what was built (or the JSON record
 * `{"image", "image_id", "built", "seconds"}`).
 */
import type { Command } from "commander";
import { buildProgressLine } from "./build-progress";
import { addBuildFlags, runInputFromCommand } from "./run-flags";

export interface BuildResult {
  image: string;
  image_id: string;
  built: boolean;
  seconds: number;
}

export function register(program: Command): void {
  addBuildFlags(
    program
      .command("build")
      .description("Build the prebuilt image of a configuration's build: commands (reused by dstack up)")
      .argument("[DIR]", "the working directory (default: the current one)"),
  )
    .option("--force", "rebuild even if the prebuilt image exists")
    .option("--json", "print the result as JSON")
    .action(async (dir: string | undefined, opts: Record<string, unknown>) => {
      const json = opts.json === true;
      const input = runInputFromCommand(dir, opts);
      const { prepareRun } = await import("../runs/prepare");
      const r = await prepareRun(input, {
        purpose: "build",
        rebuild: opts.force === true,
        onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
        onBuildOutput: (l) => {
          const shown = buildProgressLine(l);
          if (shown !== null) process.stderr.write(`${shown}\n`);
        },
      });
      const result: BuildResult = { image: r.image.image, image_id: r.image.image_id, built: r.image.built, seconds: r.seconds };
      if (json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
      else
        process.stdout.write(
          result.built
            ? `Built ${result.image} in ${result.seconds.toFixed(1)} s; dstack up reuses it.\n`
            : `${result.image} exists (reused; --force rebuilds).\n`,
        );
    });
}
