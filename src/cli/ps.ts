/**
 * `dstack ps [--json]`: the runs (one per stack) with backend, resources, price, status and age.
 * `--json`: `[{"name", "backend", "status", "price", "resources", "created_at", "ssh_host"}]`.
 * Docker unreachable while local runs exist: the runs are listed from the state (status
 * `unknown`), warning E4104 on stderr, exit 5.
 */
import Table from "cli-table3";
import type { Command } from "commander";
import { formatPrice } from "../offers/format";
import { formatAge, type RunRecord } from "../runs/record";
import { ExitCode } from "../diagnostics";

export function renderRuns(runs: RunRecord[], now = Date.now()): string {
  if (runs.length === 0) return "No runs. `dstack up` starts one.";
  const blank = { top: "", "top-mid": "", "top-left": "", "top-right": "", bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "", left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "  " };
  const t = new Table({ head: ["NAME", "BACKEND", "RESOURCES", "PRICE", "STATUS", "AGE"], style: { head: [], border: [], compact: true, "padding-left": 0, "padding-right": 0 }, chars: blank });
  for (const r of runs) t.push([r.name, r.backend, r.resources ?? "-", r.price == null ? "-" : `${formatPrice(r.price)}/h`, r.status, formatAge(r.created_at, now)]);
  return t
    .toString()
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n");
}

export function register(program: Command): void {
  program
    .command("ps")
    .description("List the runs")
    .option("--json", "print the runs as JSON")
    .action(async (opts: { json?: boolean }) => {
      const { listRunsChecked } = await import("../runs/lifecycle");
      const { runs, warnings } = await listRunsChecked();
      process.stdout.write(opts.json ? JSON.stringify(runs, null, 2) + "\n" : renderRuns(runs) + "\n");
      if (warnings.length) {
        // Docker unreachable (E4104): the runs are listed from the state, the exit code says it.
        const { formatDiagnostic } = await import("./errors");
        process.stderr.write(warnings.map((w) => formatDiagnostic(w)).join("\n") + "\n");
        process.exitCode = ExitCode.Prerequisite;
      }
    });
}
