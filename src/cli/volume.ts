/**
 * Volumes by name (src/runs/volumes.ts):
 *
 *   dstack up|apply [DIR|-f FILE] [-y] [--json]   of a `type: volume` configuration: creates the
 *                                                 volume's own stack (or registers `volume_id`)
 *   dstack preview [DIR|-f FILE] [--json]         of it: Pulumi's diff
 *   dstack volume ls [--json]                     volume stacks, and local Docker volumes runs
 *                                                 made by name, with the live runs using each
 *   dstack volume delete NAME... [-y] [--json]    refused while a live run uses one (E6402)
 *
 * `--json`: schemas/volume.schema.json (`{"volume", "created", "changes"}` for up,
 * `{"volume", "backend", "exists", "changes", "summary"}` for preview, `{"volumes",
 * "warnings"}` for ls, `{"deleted"}` for delete).
 */
import Table from "cli-table3";
import type { Command } from "commander";
import type { LoadOptions } from "../config";
import type { VolumeSpec } from "../config/runspec";
import { DstackError, ExitCode } from "../diagnostics";
import type { ResourceChange } from "../stacks/events";
import type { DeletedVolume, VolumeView } from "../runs/volumes";
import { confirm, requireConfirmable } from "./confirm";

/** The configuration `up`/`preview` were given, when it is a `type: volume` one (null: a run's). */
export async function volumeConfigurationOf(input: LoadOptions): Promise<VolumeSpec | null> {
  const config = await import("../config");
  const { file } = config.findConfigurationFile({ file: input.file, dir: input.dir, cwd: input.cwd });
  if (config.readConfiguration(file).type !== "volume") return null;
  return config.loadConfiguration(input) as VolumeSpec;
}

const BLANK = { top: "", "top-mid": "", "top-left": "", "top-right": "", bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "", left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "  " };

/** The `volume ls` table. */
export function renderVolumes(volumes: VolumeView[]): string {
  if (volumes.length === 0) return "No volumes. `dstack up` of a `type: volume` configuration creates one; a cloud run creates the ones it mounts by name.";
  const t = new Table({ head: ["NAME", "BACKEND", "REGION", "ZONE", "SIZE", "VOLUME ID", "USED BY", "STATUS"], style: { head: [], border: [], compact: true, "padding-left": 0, "padding-right": 0 }, chars: BLANK });
  for (const v of volumes) {
    const status = v.status === "incomplete" ? "incomplete" : v.source === "run" ? "made by a run" : v.external ? "registered" : "ready";
    t.push([v.name, v.backend, v.region ?? "-", v.zone ?? "-", v.size_gb == null ? "-" : `${v.size_gb}GB`, v.volume_id ?? "-", v.used_by.join(", ") || "-", status]);
  }
  return t
    .toString()
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n");
}

function say(json: boolean | undefined, text: string): void {
  if (!json) process.stdout.write(text + "\n");
}

function where(v: { backend: string; region: string | null; zone: string | null }): string {
  return v.backend === "local" ? "local Docker" : `${v.backend} ${v.zone ?? v.region ?? ""}`.trim();
}

/** `dstack up` of a volume configuration. */
export async function upVolume(spec: VolumeSpec, opts: { yes?: boolean; json?: boolean }): Promise<{ volume: VolumeView; created: boolean; changes: Record<string, number> }> {
  const vols = await import("../runs/volumes");
  const { defaultProgressMode, ProgressDisplay } = await import("./progress");
  const planned = await vols.planVolumeApply(spec);
  const what = spec.volume_id ? `register ${spec.volume_id} as volume ${spec.name}` : planned.previous ? `update volume ${spec.name}` : `create volume ${spec.name} (${planned.plan.size}GB)`;
  say(opts.json, `Volume ${spec.name}: ${planned.plan.backend} ${planned.plan.zone ?? planned.plan.region}, stack ${planned.stack}${planned.previous ? " (exists)" : ""}`);
  if (!opts.yes) {
    requireConfirmable(`applying volume ${spec.name}`);
    if (!(await confirm(`${what[0].toUpperCase()}${what.slice(1)}?`))) throw new DstackError({ code: "E6104", severity: "error", message: "aborted: nothing was changed" }, ExitCode.Aborted);
  }
  const display = new ProgressDisplay(defaultProgressMode(!!opts.json));
  let applied: Awaited<ReturnType<typeof vols.applyPlannedVolume>>;
  try {
    applied = await vols.applyPlannedVolume(planned, { onEvent: display.onEvent, onNotice: (m) => process.stderr.write(`${m}\n`) });
    display.finish(true);
  } catch (e) {
    display.finish(false);
    throw e;
  }
  const view = (await vols.listVolumes()).volumes.find((v) => v.name === spec.name && v.source === "stack");
  if (!view) throw new DstackError({ code: "E6407", severity: "error", message: `volume ${spec.name}: its stack is not listed after the update`, hint: "`dstack volume ls`" }, ExitCode.Provisioning);
  const v = applied.volume;
  say(opts.json, `\nVolume ${spec.name} is ${applied.created ? (v.external ? "registered" : "created") : "up to date"}: ${v.volume_id} (${where(v)}).\nRuns attach it by name (volumes: [{name: ${spec.name}, path: /data}]); \`dstack volume delete ${spec.name}\` removes it.`);
  return { volume: view, created: applied.created, changes: applied.changes };
}

/** `dstack preview` of a volume configuration. */
export async function previewVolumeCommand(spec: VolumeSpec, opts: { json?: boolean; diff?: boolean }): Promise<{ volume: string; backend: string; exists: boolean; changes: ResourceChange[]; summary: Record<string, number> }> {
  const vols = await import("../runs/volumes");
  const { renderChanges } = await import("./progress");
  const { planned, changes } = await vols.previewVolume(spec);
  const summary: Record<string, number> = {};
  for (const c of changes) summary[c.op] = (summary[c.op] ?? 0) + 1;
  say(opts.json, `Volume ${spec.name}: ${planned.plan.backend} ${planned.plan.zone ?? planned.plan.region}, stack ${planned.stack}\n`);
  say(opts.json, `${planned.exists ? `Changes to volume ${spec.name}` : `Volume ${spec.name} is new; up would`}:\n${renderChanges(changes, { diff: opts.diff === true })}`);
  return { volume: spec.name, backend: planned.plan.backend, exists: planned.exists, changes, summary };
}

async function deleteVolumes(names: string[], opts: { yes?: boolean; json?: boolean }): Promise<{ deleted: DeletedVolume[] }> {
  const vols = await import("../runs/volumes");
  if (!opts.yes) {
    requireConfirmable(`deleting volume${names.length > 1 ? "s" : ""} ${names.join(", ")}`);
    if (!(await confirm(`Delete volume${names.length > 1 ? "s" : ""} ${names.join(", ")} and ${names.length > 1 ? "their" : "its"} data?`)))
      throw new DstackError({ code: "E6104", severity: "error", message: "aborted: nothing was changed" }, ExitCode.Aborted);
  }
  const deleted: DeletedVolume[] = [];
  for (const name of names) {
    const d = await vols.deleteVolume(name);
    deleted.push(d);
    say(opts.json, d.kept_in_place ? `Volume ${name} is forgotten; ${d.volume_id} was registered, not made by dstack, and is left in place.` : `Volume ${name} is deleted${d.volume_id ? ` (${d.volume_id})` : ""}.`);
  }
  return { deleted };
}

export function register(program: Command): void {
  const volume = program.command("volume").description("List and delete volumes (`dstack up` of a `type: volume` configuration creates one)").option("--json", "print the result as JSON");
  volume
    .command("ls")
    .alias("list")
    .description("List the volumes: their backend, region, zone, size, id and the live runs using them")
    .option("--json", "print the volumes as JSON")
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const json = opts.json || cmd.parent?.opts().json;
      const { listVolumes } = await import("../runs/volumes");
      const list = await listVolumes();
      process.stdout.write(json ? JSON.stringify(list, null, 2) + "\n" : renderVolumes(list.volumes) + "\n");
      if (list.warnings.length) {
        const { formatDiagnostic } = await import("./errors");
        process.stderr.write(list.warnings.map((w) => formatDiagnostic(w)).join("\n") + "\n");
        process.exitCode = ExitCode.Prerequisite;
      }
    });
  volume
    .command("delete")
    .alias("rm")
    .description("Delete volumes (refused while a live run uses one)")
    .argument("<NAME...>", "the volumes' names (`dstack volume ls`)")
    .option("-y, --yes", "do not ask for confirmation")
    .option("--json", "print the result as JSON")
    .action(async (names: string[], opts: { yes?: boolean; json?: boolean }, cmd: Command) => {
      const json = opts.json || cmd.parent?.opts().json;
      const result = await deleteVolumes(names, { ...opts, json });
      if (json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
    });
}
