/**
 * `dstack ps [-a] [--json]`: the active runs (submitted, provisioning, running, terminating)
 * with backend, resources, price, status and age; `-a` adds the ended ones (terminated, failed,
 * done) with why they ended and how long they lasted.
 * `--json`: an array of RunView (src/runs/record.ts): `{"name", "backend", "status",
 * "termination_reason", "reason", "exit_code", "price", "resources", "owner", "created_at",
 * "submitted_at", "ended_at", "expires_at", "duration_s", "attempts", "ssh_host", "instance"}`.
 * Docker unreachable while local runs are active: the runs are listed from the state
 * (instance `unknown`), warning E4104 on stderr, exit 5.
 */
import Table from "cli-table3";
import type { Command } from "commander";
import { formatPrice } from "../offers/format";
import { formatAge, formatDuration, isActive, type RunView } from "../runs/record";
import { ExitCode } from "../diagnostics";

/** The status column: the record's status, and what the probe saw when it contradicts an active status. */
export function statusText(r: RunView): string {
  const doubtful = r.instance === "stopped" || r.instance === "missing" || (r.instance === "unknown" && r.backend === "local");
  if (isActive(r.status) && r.status !== "submitted" && doubtful) return `${r.status} (instance ${r.instance})`;
  return r.status;
}

export function renderRuns(runs: RunView[], now = Date.now(), all = false): string {
  if (runs.length === 0) return all ? "No runs. `dstack up` starts one." : "No active runs. `dstack up` starts one; `dstack ps -a` lists ended ones too.";
  const blank = { top: "", "top-mid": "", "top-left": "", "top-right": "", bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "", left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "  " };
  const head = ["NAME", "BACKEND", "RESOURCES", "PRICE", "STATUS", "AGE", ...(all ? ["DURATION", "REASON"] : [])];
  const t = new Table({ head, style: { head: [], border: [], compact: true, "padding-left": 0, "padding-right": 0 }, chars: blank });
  for (const r of runs) {
    const row = [r.name, r.backend, r.resources ?? "-", r.price == null ? "-" : `${formatPrice(r.price)}/h`, statusText(r), formatAge(r.submitted_at ?? r.created_at, now)];
    const seconds = r.duration_s ?? (r.submitted_at ? Math.max(0, Math.floor((now - Date.parse(r.submitted_at)) / 1000)) : null);
    if (all) row.push(seconds == null ? "-" : formatDuration(seconds), r.reason ?? "-");
    t.push(row);
  }
  return t
    .toString()
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n");
}

export function register(program: Command): void {
  program
    .command("ps")
    .description("List the active runs (-a: ended runs too, with why they ended)")
    .option("-a, --all", "also list ended runs (terminated, failed, done), with their reason and duration")
    .option("--json", "print the runs as JSON")
    .action(async (opts: { json?: boolean; all?: boolean }) => {
      // lazily reconciled: expired runs and gone instances first (src/runs/reconcile.ts)
      const { listReconciled } = await import("../runs/ps-reconcile");
      const { runs, warnings } = await listReconciled({ all: opts.all });
      process.stdout.write(opts.json ? JSON.stringify(runs, null, 2) + "\n" : renderRuns(runs, Date.now(), !!opts.all) + "\n");
      if (warnings.length) {
        // Docker unreachable (E4104): the runs are listed from the state, the exit code says it.
        const { formatDiagnostic } = await import("./errors");
        process.stderr.write(warnings.map((w) => formatDiagnostic(w)).join("\n") + "\n");
        process.exitCode = ExitCode.Prerequisite;
      }
    });
}
