/**
 * `dstack preview [DIR|-f FILE] [flags] [--json]`: what `dstack up` would do, as a readable
 * diff (create / update / replace / delete, with the properties that force a replacement),
 * from a Pulumi preview. Nothing is changed (a preview of a new run leaves no stack behind).
 * `--diff` (Pulumi's flag) adds each resource's type and the properties of creates and deletes
 * where the preview carries them (renderChanges' diff mode); the JSON always has them all.
 * `--build` / `--force-build` as in `up`: a prebuilt image that `up` would build is named
 * (never built here); without them a missing prebuilt image is E4111, as in `up`.
 */
import type { Command } from "commander";
import { addRunFlags, runInputFromCommand } from "./run-flags";
import type { ResourceChange } from "../stacks/events";
import { renderPendingBuild } from "./resource-list";
import { renderPlanTable, renderRunVolumes } from "./up";

export interface PreviewJson {
  run: string;
  backend: string;
  /** The run exists already (the diff is against its state). */
  exists: boolean;
  changes: ResourceChange[];
  summary: Record<string, number>;
  /** The prebuilt image `up` would build first (`--build` and missing, or `--force-build`); null: none. */
  build: { image: string; rebuild: boolean } | null;
}

export async function preview(dir: string | undefined, opts: { json?: boolean; diff?: boolean; [k: string]: unknown }): Promise<PreviewJson> {
  const input = runInputFromCommand(dir, opts);
  const { prepareRun } = await import("../runs/prepare");
  const { spec, offer: chosen, next, planned, drifted, pendingBuild, volumes } = await prepareRun(input, { purpose: "preview", onWarning: (m) => process.stderr.write(`warning: ${m}\n`) });
  const lc = await import("../runs/lifecycle");
  const { renderChanges } = await import("./progress");
  // drifted: the run's instance stopped or vanished; it is previewed with a refresh, as `up` will run it
  // volumes `up` would create first: each its own stack's preview
  const volumeChanges: ResourceChange[] = [];
  if (volumes.create.length) {
    const vols = await import("../runs/volumes");
    for (const v of volumes.create) volumeChanges.push(...(await vols.previewVolume(v, { instanceType: chosen.instance_type })).changes);
  }
  const changes = [...volumeChanges, ...(await lc.previewRun(planned, { refresh: drifted }))];
  const summary: Record<string, number> = {};
  for (const c of changes) summary[c.op] = (summary[c.op] ?? 0) + 1;
  if (!opts.json) {
    process.stdout.write(renderPlanTable(spec, chosen, next) + "\n\n");
    process.stdout.write(`${planned.previous ? `Changes to ${spec.name}` : `${spec.name} is new; up would`}:\n${renderChanges(changes, { diff: opts.diff === true })}\n`);
    if (pendingBuild) process.stdout.write(`\n${renderPendingBuild(pendingBuild, spec.force_build)}\n`);
    const volumesText = renderRunVolumes(volumes);
    if (volumesText) process.stdout.write(`\n${volumesText}\n`);
  }
  const build = pendingBuild ? { image: pendingBuild.ref, rebuild: spec.force_build } : null;
  return { run: spec.name, backend: chosen.backend, exists: planned.previous !== null, changes, summary, build };
}

export function register(program: Command): void {
  const cmd = program
    .command("preview")
    .description("Show what `dstack up` would create, update, replace or delete (changes nothing)")
    .argument("[DIR]", "the working directory (default: the current one)");
  addRunFlags(cmd);
  cmd
    .option("--diff", "show each resource's type and every property change the preview carries")
    .option("--json", "print the changes as JSON")
    .action(async (dir: string | undefined, opts: { json?: boolean; diff?: boolean }) => {
      const { previewVolumeCommand, volumeConfigurationOf } = await import("./volume");
      const volume = await volumeConfigurationOf(runInputFromCommand(dir, opts));
      if (volume) {
        const result = await previewVolumeCommand(volume, opts);
        if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
        return;
      }
      const result = await preview(dir, opts);
      if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
    });
}
