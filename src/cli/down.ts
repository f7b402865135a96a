/**
 * `dstack down NAME [-y] [--purge] [--volumes] [--json]`, `dstack down --all`, `dstack down --expired`:
 * stops runs as `dstack stop` does (the instance is stopped gracefully, its resources destroyed,
 * the run recorded `terminated` (stopped by user) with its history: `dstack ps -a` shows it).
 * `--purge` also deletes the record: the stack (history included), the ssh Host entry, the
 * host-key pin, the key pair and the run's log. Named volumes are kept unless --volumes.
 * What an interrupted command left (pending operations, containers the state never recorded)
 * is removed too and reported; `down` fails (E4507) rather than report a run stopped while
 * something of it still exists. A run without a record (an interrupted first `up`) is removed
 * whole. Docker unreachable for a local run: E4101, exit 5.
 */
import type { Command } from "commander";
import { assertRunName } from "../config/names";
import { DstackError, ExitCode } from "../diagnostics";
import { renderReason, type RunRecord } from "../runs/record";
import { confirm, requireConfirmable } from "./confirm";
import { printNotice } from "./errors";

export interface DownJson {
  name: string;
  /** True once nothing of the run runs any more (its record may be kept). */
  deleted: true;
  /** The record was deleted too (`--purge`, or a run without a record). */
  purged: boolean;
  /** The run's status and reason after `down` (null when purged). */
  status: string | null;
  reason: string | null;
  /** The run had already ended: nothing was stopped. */
  already_ended: boolean;
  volumes_removed: string[];
  /** Docker objects of the run that the destroy did not know (left by an interrupted command), removed. */
  leftovers_removed: { containers: string[]; volumes: string[] };
  /** Pending operations an interrupted command had left in the state, cleared. */
  pending_cleared: number;
  /** With --volumes: volumes still mounted by another run's container, kept. */
  volumes_in_use: string[];
}

export interface DownOptions {
  yes?: boolean;
  volumes?: boolean;
  json?: boolean;
  wait?: boolean;
  forceUnlock?: boolean;
  purge?: boolean;
  all?: boolean;
  expired?: boolean;
}

/** The lines `down` prints for one run. */
export function renderDown(name: string, res: Pick<import("../runs/lifecycle").DestroyRunResult, "removedVolumes" | "leftovers" | "pendingCleared" | "volumesInUse">, record: RunRecord | null = null, alreadyEnded = false): string {
  const head = record
    ? alreadyEnded
      ? `${name} had already ended (${record.status}: ${renderReason(record.reason)}).`
      : `${name} stopped (${record.status}: ${renderReason(record.reason)}); \`dstack ps -a\` shows it, \`dstack delete ${name}\` deletes its record.`
    : `${name} deleted.`;
  const lines = [`${head}${res.removedVolumes.length ? ` Volumes removed: ${res.removedVolumes.join(", ")}.` : ""}`];
  const left = [...res.leftovers.containers.map((c) => `container ${c}`), ...res.leftovers.volumes.map((v) => `volume ${v}`)];
  if (left.length) lines.push(`Removed what an interrupted command had left: ${left.join(", ")}.`);
  if (res.pendingCleared) lines.push(`Cleared ${res.pendingCleared} pending operation${res.pendingCleared === 1 ? "" : "s"} of an interrupted command from the state.`);
  if (res.volumesInUse.length) lines.push(`Kept volumes still mounted by another run: ${res.volumesInUse.join(", ")}.`);
  return lines.join("\n");
}

/**
 * Stops one run (and with `purge` deletes its record) under its lock. Also the path of
 * `dstack stop` (`reason`: stopped or aborted by user) without `purge`.
 */
export async function downOne(
  name: string,
  opts: DownOptions & { abort?: boolean; command?: string },
): Promise<DownJson> {
  const lc = await import("../runs/lifecycle");
  const records = await import("../runs/records");
  const { defaultProgressMode, ProgressDisplay } = await import("./progress");
  const { acquireRunLock } = await import("../stacks/run-lock");
  const lock = await acquireRunLock(name, { command: opts.command ?? "dstack down", wait: opts.wait, forceUnlock: opts.forceUnlock, onNotice: printNotice });
  const display = new ProgressDisplay(defaultProgressMode(opts.json));
  const out: DownJson = { name, deleted: true, purged: false, status: null, reason: null, already_ended: false, volumes_removed: [], leftovers_removed: { containers: [], volumes: [] }, pending_cleared: 0, volumes_in_use: [] };
  let record: RunRecord | null = null;
  try {
    const cur = await records.readRecord(name);
    if (cur?.record && opts.purge && records.holdsResources(cur)) {
      // stopping and deleting at once: the instance is stopped as `stop` does, then the stack is
      // destroyed and removed in one engine run (its history goes with the record anyway)
      record = cur.record;
      await records.stopInstance(cur.outputs, { graceful: !opts.abort, seconds: record.stop_duration ?? records.DEFAULT_STOP_SECONDS });
      await records.saveOutputBeforeEnd(name, cur);
    }
    if (cur?.record && !(opts.purge && records.holdsResources(cur))) {
      const ended = await records.endRun(name, { kind: opts.abort ? "aborted_by_user" : "stopped_by_user" }, { graceful: !opts.abort, volumes: opts.volumes, onEvent: display.onEvent });
      record = ended.record;
      Object.assign(out, { status: record.status, reason: renderReason(record.reason), already_ended: ended.alreadyEnded, volumes_removed: ended.removedVolumes, leftovers_removed: ended.leftovers, volumes_in_use: ended.volumesInUse });
      if (opts.volumes && ended.alreadyEnded && record.volumes.length) out.volumes_removed = await lc.removeVolumesOf(record.volumes);
      if (opts.purge) {
        display.phase(`deleting the record of ${name}`);
        await records.deleteRecord(name);
        Object.assign(out, { purged: true, status: null, reason: null });
      }
    } else {
      // purging a run that holds resources; no record (an interrupted first `up`); or no stack at
      // all (E4503 unless Docker holds something of it)
      const res = await lc.destroyRun(name, {
        volumes: opts.volumes,
        onEvent: display.onEvent,
        onStep: (st) => {
          const step = { op: "delete" as const, urn: `${st.type}::${st.name}`, type: st.type, name: st.name };
          if (st.state === "start") display.handle({ kind: "step-start", planning: false, diffs: [], replaceKeys: [], ...step });
          else if (st.state === "done") display.handle({ kind: "step-done", planning: false, ...step });
          else display.handle({ kind: "step-failed", ...step });
        },
      });
      records.forgetLocally(name);
      Object.assign(out, { purged: true, volumes_removed: res.removedVolumes, leftovers_removed: res.leftovers, pending_cleared: res.pendingCleared, volumes_in_use: res.volumesInUse });
    }
  } finally {
    display.finish();
    lock.release();
  }
  if (!opts.json) {
    const res = { removedVolumes: out.volumes_removed, leftovers: out.leftovers_removed, pendingCleared: out.pending_cleared, volumesInUse: out.volumes_in_use };
    process.stdout.write(renderDown(name, res, out.purged ? null : record, out.already_ended) + "\n");
  }
  return out;
}

/** The names `down --all` / `--expired` act on: active runs (`--all --purge`: every run), expired ones (deadline passed). */
async function selectRuns(opts: DownOptions, now = Date.now()): Promise<string[]> {
  const { listRecords, storedActive } = await import("../runs/records");
  const runs = await listRecords({ all: true });
  return runs
    .filter((s) => (opts.all && opts.purge ? true : storedActive(s)))
    .filter((s) => !opts.expired || (s.record?.expires_at != null && Date.parse(s.record.expires_at) <= now))
    .map((s) => s.name);
}

export async function down(name: string | undefined, opts: DownOptions): Promise<DownJson[]> {
  if ((name ? 1 : 0) + (opts.all ? 1 : 0) + (opts.expired ? 1 : 0) !== 1) {
    throw new DstackError({ code: "E6205", severity: "error", message: "name one run, or pass --all or --expired (one of them)", hint: "`dstack ps` lists the runs" }, ExitCode.Usage);
  }
  if (name) assertRunName(name);
  const names = name ? [name] : await selectRuns(opts);
  if (names.length === 0) {
    if (!opts.json) process.stdout.write(opts.expired ? "No expired run.\n" : "No active run.\n");
    return [];
  }
  if (!opts.yes) {
    const what = names.length === 1 ? `the run ${names[0]}` : `${names.length} runs (${names.join(", ")})`;
    requireConfirmable(`deleting ${names.join(", ")}`);
    const ok = await confirm(`${opts.purge ? "Delete" : "Stop"} ${what}${opts.purge ? " and the record" : ""}${opts.volumes ? " and the volumes" : ""}?`);
    if (!ok) throw new DstackError({ code: "E6104", severity: "error", message: "aborted: nothing was changed" }, ExitCode.Aborted);
  }
  const results: DownJson[] = [];
  for (const n of names) results.push(await downOne(n, opts));
  return results;
}

export function register(program: Command): void {
  program
    .command("down")
    .description("Stop a run (its resources destroyed, its record kept for `ps -a`); --purge also deletes the record")
    .argument("[NAME]", "the run's name (`dstack ps`)")
    .option("-y, --yes", "do not ask for confirmation")
    .option("--purge", "also delete the run's record (its stack and history), key, ssh entry and log")
    .option("--all", "every active run (with --purge: every run, ended ones too)")
    .option("--expired", "every active run whose max_duration deadline has passed")
    .option("--volumes", "also delete the run's named volumes")
    .option("--json", "print the result as JSON")
    .option("--wait", "if another command is updating the run, wait for it instead of failing")
    .option("--force-unlock", "remove the run's locks even if a live process holds them (dangerous)")
    .action(async (name: string | undefined, opts: DownOptions) => {
      const result = await down(name, opts);
      if (opts.json) process.stdout.write(JSON.stringify(name ? result[0] : result, null, 2) + "\n");
    });
}
