/**
 * `dstack build [DIR|-f FILE] [--force] [--json]`: builds the configuration's prebuilt image
 * (its `build:` commands on top of its image, tagged `dstack-prebuilt:<hash>` where the hash
 * covers base image, build commands, python and nvcc) without starting a run. An existing
 * image with that tag is reused unless `--force` (which rebuilds; Docker's layer cache still
 * applies). Build output streams to stderr; stdout says what was built (or the JSON record
 * `{"image", "image_id", "built", "seconds"}`).
 */
import type { Command } from "commander";
import { ConfigError } from "../diagnostics";
import { addRunFlags, runSpecFromCommand } from "./run-flags";

export interface BuildResult {
  image: string;
  image_id: string;
  built: boolean;
  seconds: number;
}

export function register(program: Command): void {
  addRunFlags(
    program
      .command("build")
      .description("build the prebuilt image of a configuration's build: commands (reused by dstack up)")
      .argument("[DIR]", "the folder holding the configuration (default: the current one)"),
  )
    .option("--force", "rebuild even if the prebuilt image exists")
    .option("--json", "print the result as JSON")
    .action(async (dir: string | undefined, opts: Record<string, unknown>) => {
      const json = opts.json === true;
      const { resolveLocalPython } = await import("../runs/inputs");
      const spec = await resolveLocalPython(runSpecFromCommand(dir, opts), "local", (m) => process.stderr.write(`warning: ${m}\n`));
      if (spec.build.length === 0) {
        throw new ConfigError({
          code: "E4115",
          severity: "error",
          message: `nothing to build: ${spec.configuration_path} has no build: commands`,
          hint: "add build: commands (run once into a prebuilt image), or use setup:/init: for per-run commands",
          file: spec.configuration_path,
        });
      }
      const { baseImageRef } = await import("../stacks/base-image");
      const { plan } = await import("../compiler/plan");
      const { machineOffer } = await import("../runs/inputs");
      const os = await import("os");
      const p = plan(spec, await machineOffer(), { sshPublicKey: "", owner: os.userInfo().username, now: Date.now(), baseImage: baseImageRef() });
      const started = Date.now();
      const onLine = (l: string) => process.stderr.write(`[build] ${l}\n`);
      const { localPreflight } = await import("../compiler/backends/local/preflight");
      const r = await localPreflight(p, { python: spec.python, forceBuild: true, rebuild: opts.force === true, onBuildOutput: onLine });
      const result: BuildResult = { image: r.image, image_id: r.image_id, built: r.built, seconds: (Date.now() - started) / 1000 };
      if (json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
      else
        process.stdout.write(
          result.built
            ? `Built ${result.image} in ${result.seconds.toFixed(1)} s; dstack up reuses it.\n`
            : `${result.image} exists (reused; --force rebuilds).\n`,
        );
    });
}
