/**
 * `dstack audit [--json] [--run NAME]… [--prune [--volumes] [-y]]`: every resource of every run
 * from Pulumi's state (run, type, provider id, owner, created, price per hour, cost so far,
 * expires), the orphans (Docker objects with dstack's labels that no stack owns) and the stale
 * runs (stacks whose instance is gone). `--prune` removes the orphans after a confirmation
 * (`-y` in CI); volumes only with `--volumes`. JSON: schemas/audit.schema.json; docs/audit.md.
 */
import Table from "cli-table3";
import type { Command } from "commander";
import type { AuditReport, PruneResult } from "../runs/audit";
import { formatPrice } from "../offers/format";
import { DstackError, ExitCode } from "../diagnostics";
import { confirm, requireConfirmable } from "./confirm";

export interface AuditOptions {
  json?: boolean;
  run?: string[];
  prune?: boolean;
  volumes?: boolean;
  yes?: boolean;
}

const blank = { top: "", "top-mid": "", "top-left": "", "top-right": "", bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "", left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "  " };
const table = (head: string[]) => new Table({ head, style: { head: [], border: [], compact: true, "padding-left": 0, "padding-right": 0 }, chars: blank });
const trim = (t: InstanceType<typeof Table>) => t.toString().split("\n").map((l) => l.trimEnd()).join("\n");
const money = (v: number | null) => (v == null ? "-" : `$${v.toFixed(2)}`);
const shortType = (t: string) => t.split(/[:/]/).pop() ?? t;

export function renderAudit(r: AuditReport): string {
  const parts: string[] = [];
  if (r.resources.length === 0) parts.push("No resources in the state.");
  else {
    const t = table(["RUN", "TYPE", "PROVIDER ID", "OWNER", "CREATED", "PRICE", "COST SO FAR", "EXPIRES"]);
    for (const x of r.resources) t.push([x.run, shortType(x.type), (x.provider_id ?? "-").slice(0, 24), x.owner ?? "-", x.created ?? "-", x.price_per_hour ? `${formatPrice(x.price_per_hour)}/h` : "-", x.cost_so_far ? money(x.cost_so_far) : "-", x.expires_at ?? "never"]);
    parts.push(trim(t), `${r.runs.length} run(s), cost so far ${money(r.total_cost_so_far)}`);
  }
  if (r.stale_runs.length) {
    const t = table(["STALE RUN", "BACKEND", "INSTANCE", "WHY"]);
    for (const s of r.stale_runs) t.push([s.name, s.backend ?? "-", (s.instance_id ?? "-").slice(0, 24), s.reason]);
    parts.push(trim(t) + "\n(`dstack down NAME` removes what is left of a stale run)");
  }
  if (r.orphans_unknown) parts.push(`Orphans unknown: ${r.orphans_unknown}`);
  else if (r.orphans.length) {
    const t = table(["ORPHAN", "NAME", "RUN", "CREATED"]);
    for (const o of r.orphans) t.push([o.kind, o.name, o.run ?? "-", o.created ?? "-"]);
    parts.push(trim(t) + "\n(no stack owns these: `dstack audit --prune` removes them)");
  } else parts.push("No orphans.");
  return parts.join("\n\n");
}

export async function runAudit(opts: AuditOptions): Promise<AuditReport & { pruned?: PruneResult }> {
  const { audit, pruneOrphans } = await import("../runs/audit");
  const report = await audit({ runs: opts.run });
  if (!opts.prune) return report;
  if (report.orphans_unknown) throw new DstackError({ code: "E6302", severity: "error", message: `--prune: cannot look for orphans: ${report.orphans_unknown}`, hint: "start the Docker engine, then run it again" }, ExitCode.Prerequisite);
  const removable = report.orphans.filter((o) => o.kind !== "volume" || opts.volumes);
  if (removable.length && !opts.yes) {
    requireConfirmable("pruning orphans");
    if (!opts.json) process.stdout.write(renderAudit(report) + "\n\n");
    const ok = await confirm(`Remove ${removable.length} orphan(s): ${removable.map((o) => `${o.kind} ${o.name}`).join(", ")}?`);
    if (!ok) throw new DstackError({ code: "E6104", severity: "error", message: "aborted: nothing was changed" }, ExitCode.Aborted);
  }
  return { ...report, pruned: await pruneOrphans(report.orphans, { volumes: opts.volumes }) };
}

export function register(program: Command): void {
  program
    .command("audit")
    .description("Every resource of every run from Pulumi's state, with orphans and stale runs")
    .option("--json", "print the audit as JSON (schemas/audit.schema.json)")
    .option("--run <NAME>", "only this run (repeatable); orphans are narrowed to objects labelled with it", (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option("--prune", "remove the orphans (containers and images; volumes with --volumes), after a confirmation")
    .option("--volumes", "with --prune, also remove orphan volumes")
    .option("-y, --yes", "do not ask for confirmation")
    .action(async (opts: AuditOptions) => {
      const r = await runAudit(opts);
      if (opts.json) {
        process.stdout.write(JSON.stringify(r, null, 2) + "\n");
        return;
      }
      if (!r.pruned) process.stdout.write(renderAudit(r) + "\n");
      else {
        for (const x of r.pruned.removed) process.stdout.write(`removed ${x.kind} ${x.name}\n`);
        for (const x of r.pruned.kept) process.stdout.write(`kept ${x.kind} ${x.name}: ${x.reason}\n`);
        if (!r.pruned.removed.length && !r.pruned.kept.length) process.stdout.write("No orphans.\n");
      }
    });
}
