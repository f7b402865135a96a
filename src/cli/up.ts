/**
 * `dstack up [DIR|-f FILE] [flags] [-y] [--json] [--no-ssh-config] [--detach]`
 *
 * loadRunSpec → offers (plus the local machine) → the cheapest → plan() → the plan table →
 * confirmation (unless -y) → `pulumi up` with progress from engine events → wait for sshd →
 * ssh config → `ssh <run>` and the IDE link. A re-`up` of an unchanged configuration is a
 * no-op that needs no engine run (the plan's hash is in the stack's outputs and the instance
 * is alive); a changed one shows the diff and updates the run in place.
 * Ctrl-C: the engine is asked to cancel (it finishes the operations in flight and saves the
 * state), so nothing leaks and `dstack up` / `dstack down` can continue from there.
 */
import Table from "cli-table3";
import type { Command } from "commander";
import * as path from "path";
import type { RunSpec } from "../config/runspec";
import { DstackError, ExitCode } from "../diagnostics";
import type { Offer } from "../offers/offer";
import type { RunView } from "../runs/record";
import { formatPrice, offerResources } from "../offers/format";
import { formatDuration } from "../runs/record";
import { projectedCost } from "../runs/cost";
import { buildWithProgress } from "./build-progress";
import { confirm, requireConfirmable } from "./confirm";
import { printNotice } from "./errors";
import { newRunResources, renderPendingBuild } from "./resource-list";
import { addRunFlags, runInputFromCommand } from "./run-flags";

export interface UpOptions {
  yes?: boolean;
  json?: boolean;
  /** commander's `--no-ssh-config` sets `sshConfig: false`. */
  sshConfig?: boolean;
  detach?: boolean;
  /** Wait for another command's lock on the run instead of failing (E4504). */
  wait?: boolean;
  /** Break the run's locks whatever holds them. */
  forceUnlock?: boolean;
  [flag: string]: unknown;
}

/** The plan table: run, configuration, backend, resources, spot, price, max duration; then the next offers. */
export function renderPlanTable(spec: RunSpec, offer: Offer, next: Offer[], cwd = process.cwd()): string {
  const rel = path.relative(cwd, spec.configuration_path) || spec.configuration_path;
  const t = new Table({ style: { head: [], border: [], compact: true }, chars: { top: "", "top-mid": "", "top-left": "", "top-right": "", bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "", left: " ", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "  " } });
  const rows: [string, string][] = [
    ["Run", spec.name],
    ["Configuration", rel],
    ["Type", spec.type],
    ["Backend", `${offer.backend} (${offer.region})`],
    ["Resources", offerResources(offer)],
    ["Spot", offer.spot ? "yes" : "no"],
    ["Price", `${formatPrice(offer.price)}/h`],
    ["Max duration", formatDuration(spec.max_duration)],
    ["Projected cost", projectedCostText(offer.price, spec.max_duration, spec.max_cost)],
  ];
  for (const r of rows) t.push(r);
  let text = t.toString();
  if (next.length) {
    const o = new Table({ head: ["#", "BACKEND", "REGION", "INSTANCE", "RESOURCES", "SPOT", "PRICE"], style: { head: [], border: [], compact: true }, chars: { top: "", "top-mid": "", "top-left": "", "top-right": "", bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "", left: " ", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "  " } });
    next.forEach((x, i) => o.push([String(i + 2), x.backend, x.region, x.instance_type, offerResources(x), x.spot ? "spot" : "on-demand", `${formatPrice(x.price)}/h`]));
    text += "\n\n Next cheapest offers:\n" + o.toString();
  }
  return text;
}

/** `$4.00 ($2/h × 2h)`, `unbounded (no max duration)`, with the cap when there is one. */
export function projectedCostText(price: number, maxDuration: number | null, maxCost: number | null): string {
  const cost = projectedCost(price, maxDuration);
  const text = cost === null ? "unbounded (no max duration)" : `$${cost.toFixed(2)}${price > 0 ? ` (${formatPrice(price)}/h × ${formatDuration(maxDuration)})` : ""}`;
  return maxCost == null ? text : `${text}, max cost $${maxCost.toFixed(2)}`;
}

/**
 * `ssh <run>` and the IDE link, as printed after `up`. The IDE link only for a dev environment
 * whose configuration names an `ide`; no "To connect" for a task that has finished (`finished`:
 * its commands are done, so there is nothing left to connect to).
 */
export function connectionText(
  name: string,
  ide: string | null,
  runType: RunSpec["type"],
  ideLink: string | null,
  includeWritten: boolean,
  sshConfig: string,
  containerName?: string | null,
  finished = false,
): string {
  const ssh = includeWritten ? `ssh ${name}` : `ssh -F ${sshConfig} ${name}`;
  const lines = runType === "task" && finished ? [] : [`To connect: ${ssh}`];
  if (runType === "dev-environment" && ide && ideLink) lines.push(`To open in ${ide === "cursor" ? "Cursor" : ide === "windsurf" ? "Windsurf" : "VS Code"}: ${ideLink}`);
  if (runType === "task" && containerName) lines.push(`The task's output: dstack logs -f ${name}`);
  lines.push(`To remove: dstack down ${name}`);
  return lines.join("\n");
}

/** The run's volumes by name: those it attaches, and those `up` creates first (each its own stack). */
export function renderRunVolumes(v: import("../runs/prepare").PreparedEngineRun["volumes"]): string {
  const lines = [
    ...v.existing.map((x) => ` ${x.name}: attaches ${x.volume_id} (${x.backend === "local" ? "local Docker" : `${x.backend} ${x.zone ?? x.region}`}, stack volume.${x.name})`),
    ...v.create.map((x) => ` ${x.name}: no such volume yet: up creates it first as its own stack volume.${x.name} (${x.volume_id ? `registering ${x.volume_id}` : `${x.size ?? 100}GB`} in ${x.backend} ${x.availability_zone ?? x.region}), reusable by name`),
  ];
  return lines.length ? `Volumes:\n${lines.join("\n")}` : "";
}

function containerOf(outputs: Record<string, unknown> | null | undefined): string | null {
  return typeof outputs?.container_name === "string" ? outputs.container_name : null;
}

function say(json: boolean | undefined, text: string): void {
  if (!json) process.stdout.write(text + "\n");
}

/**
 * Runs `fn` with a cancellation signal tied to Ctrl-C / SIGTERM. From a terminal, Ctrl-C
 * already reaches the Pulumi CLI (same foreground process group) and a second SIGINT would
 * make it quit without saving, so the signal is forwarded only when stdin is not a TTY (a
 * signal sent to dstack alone). The engine then finishes the operations in flight, saves the
 * state and exits; a second Ctrl-C exits at once.
 */
export async function withInterrupts<T>(onNotice: (text: string) => void, fn: (signals: { engine: AbortSignal; wait: AbortSignal }) => Promise<T>): Promise<T> {
  const engine = new AbortController();
  const wait = new AbortController();
  let count = 0;
  const handler = (sig: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      onNotice("interrupt: the engine stops after the operations in flight and saves the state (Ctrl-C again to quit at once)");
      if (!process.stdin.isTTY || sig === "SIGTERM") engine.abort(); // else the engine got the terminal's SIGINT itself
      wait.abort();
    } else {
      process.exit(ExitCode.Interrupted);
    }
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  try {
    return await fn({ engine: engine.signal, wait: wait.signal });
  } finally {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  }
}

export async function up(dir: string | undefined, opts: UpOptions): Promise<RunView> {
  const json = !!opts.json;
  const input = runInputFromCommand(dir, opts);
  const { prepareRun } = await import("../runs/prepare");
  const { defaultProgressMode, ProgressDisplay, renderChanges } = await import("./progress");
  const display = new ProgressDisplay(defaultProgressMode(json));
  // The run's lock, from before planning (which reads the run's state) to the end: two
  // commands on one run serialize (src/stacks/run-lock.ts).
  let lock: { release(): void } | undefined;
  try {
    const prepared = await prepareRun(input, {
      purpose: "up",
      // a new run's stack is not created early: an attempt on a later offer (no capacity on the first) plans and creates it anew
      openStackEarly: false,
      onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
      beforePlan: async (name) => {
        const { acquireRunLock } = await import("../stacks/run-lock");
        lock = await acquireRunLock(name, { command: "dstack up", wait: opts.wait, forceUnlock: opts.forceUnlock, onNotice: printNotice });
      },
    });
    return await upPrepared(prepared, opts, display, renderChanges, () => lock?.release());
  } finally {
    lock?.release();
  }
}

async function upPrepared(
  prepared: import("../runs/prepare").PreparedUp,
  opts: UpOptions,
  display: import("./progress").ProgressDisplay,
  renderChanges: typeof import("./progress").renderChanges,
  releaseLock: () => void = () => undefined,
): Promise<RunView> {
  const json = !!opts.json;
  const { spec, offer: chosen, next, planned, drifted } = prepared;
  const lc = await import("../runs/lifecycle");
  const include = opts.sshConfig !== false;
  // A task is followed to its end (src/cli/task-follow.ts) unless --detach.
  const followTask = spec.type === "task" && !opts.detach;
  const follow = async (outputs: Record<string, unknown>): Promise<RunView> => {
    const { followTaskToEnd } = await import("./task-follow");
    const end = await followTaskToEnd(spec.name, outputs, { json, releaseLock });
    process.exitCode = end.exitCode;
    return end.view;
  };

  if (prepared.unchanged && followTask) {
    say(json, `${spec.name} is up to date (no changes); following its output.`);
    await lc.connectRun(spec.name, planned.previous ?? {}, planned.key, { include, wait: false });
    return follow(planned.previous ?? {});
  }
  if (prepared.unchanged) {
    const conn = await lc.connectRun(spec.name, planned.previous ?? {}, planned.key, { include, wait: !opts.detach, timeoutMs: 30_000 });
    say(json, `${spec.name} is up to date (no changes).`);
    say(json, connectionText(spec.name, planned.plan.ide, spec.type, lc.ideUrl(spec.name, planned.plan.ide, spec.working_dir), include, conn.sshConfig, containerOf(planned.previous), !!conn.ready?.done));
    return lc.getRun(spec.name);
  }

  // Set once the engine has made the run: a later failure (sshd) keeps it for `dstack down` and its logs.
  let provisioned = false;
  try {
    say(json, renderPlanTable(spec, chosen, next) + "\n");

    if (planned.previous && planned.previousMeta && lc.isActiveRecord(planned.previousMeta)) {
      const changes = await lc.previewRun(planned, { refresh: drifted });
      say(json, `Changes to ${spec.name}:\n${renderChanges(changes)}\n`);
    } else if (!opts.yes) say(json, await newRunResources(planned));
    if (prepared.pendingBuild) say(json, renderPendingBuild(prepared.pendingBuild, spec.force_build) + "\n");
    const volumesText = renderRunVolumes(prepared.volumes);
    if (volumesText) say(json, volumesText + "\n");
    if (!opts.yes) {
      requireConfirmable(`submitting ${spec.name}`);
      const ok = await confirm(planned.previous ? `Update the run ${spec.name}?` : `Submit the run ${spec.name}?`);
      if (!ok) throw new DstackError({ code: "E6104", severity: "error", message: "aborted: nothing was changed" }, ExitCode.Aborted);
    }
    // the prebuilt image is built only now, once the plan is confirmed
    if (prepared.pendingBuild) await buildWithProgress(prepared.pendingBuild, display);
    // volumes by name that have no stack yet: each is created first, as its own stack (reusable by name)
    if (prepared.volumes.create.length) {
      const { createRunVolumes } = await import("../runs/volumes");
      try {
        for (const v of await createRunVolumes(prepared, prepared.volumes.create, { onEvent: display.onEvent, onNotice: (t) => process.stderr.write(`${t}\n`) }))
          say(json, `Created volume ${v.name}: ${v.volume_id} (${v.backend} ${v.zone ?? v.region}), stack volume.${v.name}; runs reuse it by name.`);
      } catch (e) {
        display.finish(false);
        throw e;
      }
    }

    const started = await withInterrupts(
      (t) => process.stderr.write(t + "\n"),
      async (signals) => {
        try {
          // the run's offers in price order, capacity checked, retried as its policy says (src/runs/up-attempts.ts)
          const { provisionForUp } = await import("../runs/up-attempts");
          const p = await provisionForUp(prepared, {
            detach: opts.detach,
            signal: signals.engine,
            interrupted: signals.wait,
            refresh: drifted,
            onEvent: display.onEvent,
            onNotice: (t) => display.handle({ kind: "log", severity: "warning", message: t }),
          });
          if (p.kind === "waiting") {
            display.finish(true);
            return { waiting: p };
          }
          const result = p.result;
          provisioned = true;
          // a cloud run is `running` once its VM answers (below, or the agent's first look with --detach)
          const cloud = ["aws", "gcp", "azure"].includes(chosen.backend);
          if (!cloud) await lc.markRunning(spec.name);
          const fixed = result.resolved;
          if (fixed && (fixed.removedContainers.length || fixed.pending.length)) {
            const removed = fixed.removedContainers.length ? `; removed ${fixed.removedContainers.join(", ")}` : "";
            display.handle({ kind: "log", severity: "warning", message: `resolved ${fixed.pending.length} operation(s) an interrupted command left pending${removed}` });
          }
          // a cloud run's container waits for the repo: sshd, then the upload, tasks included
          // (with --detach, the agent uploads it once the VM answers: src/runs/cloud-reconcile.ts)
          // kubernetes pods wait for the repo too (uploaded through the port-forward)
          const waitSsh = !opts.detach && (!followTask || cloud || chosen.backend === "kubernetes");
          if (waitSsh) display.phase("waiting for sshd");
          // the attempt's own plan: a capacity error may have moved the run to a later offer
          const c = await lc.connectRun(spec.name, result.outputs, p.planned.key, {
            include,
            wait: waitSsh,
            signal: signals.wait,
            repoDir: spec.repo_dir,
            onUpload: (files, bytes) => display.phase(`uploading the repo to /workflow (${files} files, ${(bytes / 1048576).toFixed(1)} MB)`),
          });
          if (cloud && waitSsh) await lc.markRunning(spec.name);
          display.finish(true);
          return { conn: c };
        } catch (e) {
          display.finish(false);
          throw e;
        }
      },
    );
    if ("waiting" in started && started.waiting) {
      const w = started.waiting;
      const { ensureAgentFor } = await import("../runs/up-attempts");
      await ensureAgentFor(spec.name);
      say(json, `\n${spec.name} is submitted: no capacity now (${w.why}); the agent makes attempt ${w.record.attempts.length + 1} in ${Math.round(w.next_ms / 1000)}s.`);
      return lc.getRun(spec.name);
    }
    const conn = (started as { conn: import("../runs/lifecycle").Connection }).conn;
    if (conn.upload) say(json, `\nUploaded the repo to /workflow: ${conn.upload.files} files, ${(conn.upload.bytes / 1048576).toFixed(1)} MB.`);
    if (!followTask) await (await import("../runs/up-attempts")).ensureAgentFor(spec.name); // deadlines, retries, inactivity: kept with no CLI running
    if (followTask) return await follow(conn.outputs);
    if (conn.ready?.done) say(json, `\n${spec.name}: ${conn.ready.done}.`);
    else say(json, `\n${spec.name} is ${opts.detach ? "provisioned" : "up"} (ssh on ${conn.host}:${conn.port}).`);
    say(json, connectionText(spec.name, planned.plan.ide, spec.type, lc.ideUrl(spec.name, planned.plan.ide, spec.working_dir), include, conn.sshConfig, containerOf(conn.outputs), !!conn.ready?.done));
    return lc.getRun(spec.name);
  } catch (e) {
    // A new run that failed before or in the engine leaves nothing (key, ssh entry, stack);
    // an interrupted one keeps its state for `up`/`down`, as does one whose sshd failed.
    const interrupted = e instanceof DstackError && e.exitCode === ExitCode.Interrupted;
    if (!interrupted && !provisioned) await lc.discardNewRun(planned);
    throw e;
  }
}

export function register(program: Command): void {
  const cmd = program
    .command("up")
    .alias("apply")
    .description("Provision a run (dev environment or task) from .dstack.yml and wait until ssh works, or create a volume (type: volume)")
    .argument("[DIR]", "the working directory (default: the current one)");
  addRunFlags(cmd);
  cmd
    .option("-y, --yes", "do not ask for confirmation")
    .option("--json", "print the run record as JSON once it is up")
    .option("--no-ssh-config", "do not add the Include line to ~/.ssh/config")
    .option("-d, --detach", "return once the run is provisioned (do not wait for sshd, do not follow a task)")
    .option("--wait", "if another command is updating the run, wait for it instead of failing")
    .option("--force-unlock", "remove the run's locks even if a live process holds them (dangerous)")
    .action(async (dir: string | undefined, opts: UpOptions) => {
      // a `type: volume` configuration is applied as the volume's own stack (src/cli/volume.ts)
      const { upVolume, volumeConfigurationOf } = await import("./volume");
      const volume = await volumeConfigurationOf(runInputFromCommand(dir, opts));
      if (volume) {
        const result = await upVolume(volume, opts);
        if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
        return;
      }
      const record = await up(dir, opts);
      if (opts.json) process.stdout.write(JSON.stringify(record, null, 2) + "\n");
    });
}
