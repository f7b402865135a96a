/**
 * `dstack down NAME [-y] [--volumes] [--json]`: destroys the run's resources, removes its stack,
 * its ssh Host entry, its host-key pin and its key pair. Named volumes are kept unless --volumes.
 * What an interrupted command left (pending operations, containers the state never recorded)
 * is removed too and reported; `down` fails (E4507) rather than report a run deleted while
 * something of it still exists. Docker unreachable for a local run: E4101, exit 5.
 */
import type { Command } from "commander";
import { assertRunName } from "../config/names";
import { DstackError, ExitCode } from "../diagnostics";
import { confirm, requireConfirmable } from "./confirm";
import { printNotice } from "./errors";
import { runResourcesToDelete } from "./resource-list";

export interface DownJson {
  name: string;
  deleted: true;
  volumes_removed: string[];
  /** Docker objects of the run that the destroy did not know (left by an interrupted command), removed. */
  leftovers_removed: { containers: string[]; volumes: string[] };
  /** Pending operations an interrupted command had left in the state, cleared. */
  pending_cleared: number;
  /** With --volumes: volumes still mounted by another run's container, kept. */
  volumes_in_use: string[];
}

/** The lines `down` prints after the deletion. */
export function renderDown(name: string, res: import("../runs/lifecycle").DestroyRunResult): string {
  const lines = [`${name} deleted.${res.removedVolumes.length ? ` Volumes removed: ${res.removedVolumes.join(", ")}.` : ""}`];
  const left = [...res.leftovers.containers.map((c) => `container ${c}`), ...res.leftovers.volumes.map((v) => `volume ${v}`)];
  if (left.length) lines.push(`Removed what an interrupted command had left: ${left.join(", ")}.`);
  if (res.pendingCleared) lines.push(`Cleared ${res.pendingCleared} pending operation${res.pendingCleared === 1 ? "" : "s"} of an interrupted command from the state.`);
  if (res.volumesInUse.length) lines.push(`Kept volumes still mounted by another run: ${res.volumesInUse.join(", ")}.`);
  return lines.join("\n");
}

export async function down(name: string, opts: { yes?: boolean; volumes?: boolean; json?: boolean; wait?: boolean; forceUnlock?: boolean }): Promise<DownJson> {
  assertRunName(name);
  if (!opts.yes) {
    requireConfirmable(`deleting ${name}`);
    const list = await runResourcesToDelete(name, { volumes: opts.volumes });
    if (list) process.stderr.write(list + "\n");
    const ok = await confirm(`Delete the run ${name}${opts.volumes ? " and its volumes" : ""}?`);
    if (!ok) throw new DstackError({ code: "E6104", severity: "error", message: "aborted: nothing was changed" }, ExitCode.Aborted);
  }
  const lc = await import("../runs/lifecycle");
  const { defaultProgressMode, ProgressDisplay } = await import("./progress");
  const { acquireRunLock } = await import("../stacks/run-lock");
  const lock = await acquireRunLock(name, { command: "dstack down", wait: opts.wait, forceUnlock: opts.forceUnlock, onNotice: printNotice });
  const display = new ProgressDisplay(defaultProgressMode(opts.json));
  let res: import("../runs/lifecycle").DestroyRunResult;
  try {
    res = await lc.destroyRun(name, {
      volumes: opts.volumes,
      onEvent: display.onEvent,
      onStep: (st) => {
        const step = { op: "delete" as const, urn: `${st.type}::${st.name}`, type: st.type, name: st.name };
        if (st.state === "start") display.handle({ kind: "step-start", planning: false, diffs: [], replaceKeys: [], ...step });
        else if (st.state === "done") display.handle({ kind: "step-done", planning: false, ...step });
        else display.handle({ kind: "step-failed", ...step });
      },
    });
  } finally {
    display.finish();
    lock.release();
  }
  if (!opts.json) process.stdout.write(renderDown(name, res) + "\n");
  return {
    name,
    deleted: true,
    volumes_removed: res.removedVolumes,
    leftovers_removed: res.leftovers,
    pending_cleared: res.pendingCleared,
    volumes_in_use: res.volumesInUse,
  };
}

export function register(program: Command): void {
  program
    .command("down")
    .description("Delete a run: its resources, its stack and its ssh entry (named volumes are kept)")
    .argument("<NAME>", "the run's name (`dstack ps`)")
    .option("-y, --yes", "do not ask for confirmation")
    .option("--volumes", "also delete the run's named volumes")
    .option("--json", "print the result as JSON")
    .option("--wait", "if another command is updating the run, wait for it instead of failing")
    .option("--force-unlock", "remove the run's locks even if a live process holds them (dangerous)")
    .action(async (name: string, opts: { yes?: boolean; volumes?: boolean; json?: boolean; wait?: boolean; forceUnlock?: boolean }) => {
      const result = await down(name, opts);
      if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
    });
}
