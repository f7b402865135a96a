/**
 * The cost guard: what a run may cost, and refusing one above its cap. Pure.
 *
 * A run's projected cost is its offer's price per hour × its max_duration (`--ttl`): the most
 * it can cost before dstack tears it down. Without max_duration the cost has no bound, unless
 * the offer is free (the local backend). `max_cost` (`--max-cost`, or a profile's or the
 * configuration's `max_cost`) refuses a run projected above it — or one with no bound at all —
 * before anything is created (exit 9, docs/exit-codes.md).
 */
import { DstackError, ExitCode } from "../diagnostics";

/** Dollars, rounded to the cent for display and JSON (pure). */
export function roundCost(usd: number): number {
  return Math.round(usd * 100) / 100;
}

/** Price per hour × max_duration; 0 for a free offer; null when unbounded (no max_duration). */
export function projectedCost(pricePerHour: number, maxDurationSeconds: number | null): number | null {
  if (pricePerHour === 0) return 0;
  if (maxDurationSeconds == null) return null;
  return (pricePerHour * maxDurationSeconds) / 3600;
}

/** What a run has cost so far: price per hour × hours since it was created (capped at its expiry). */
export function costSoFar(pricePerHour: number, createdAt: string, expiresAt: string | null, now: number): number {
  const start = Date.parse(createdAt);
  if (!Number.isFinite(start)) return 0;
  const end = expiresAt && Number.isFinite(Date.parse(expiresAt)) ? Math.min(now, Date.parse(expiresAt)) : now;
  return (pricePerHour * Math.max(0, end - start)) / 3_600_000;
}

const usd = (v: number) => `$${v.toFixed(2)}`;

/** Throws E6300 (over the cap) or E6301 (no bound) when the run breaks its max_cost; nothing otherwise. */
export function checkCost(run: { name: string; price: number; max_duration: number | null; max_cost: number | null }): void {
  if (run.max_cost == null) return;
  const cost = projectedCost(run.price, run.max_duration);
  if (cost === null) {
    throw new DstackError(
      {
        code: "E6301",
        severity: "error",
        message: `${run.name}: max_cost ${usd(run.max_cost)} cannot be checked: the run costs $${run.price}/h and has no max_duration, so its cost has no bound`,
        hint: "give it a lifetime: --ttl 2h (or max_duration in the configuration or profile)",
      },
      ExitCode.OverBudget,
    );
  }
  if (cost > run.max_cost) {
    throw new DstackError(
      {
        code: "E6300",
        severity: "error",
        message: `${run.name}: projected cost ${usd(cost)} ($${run.price}/h × ${+(run.max_duration! / 3600).toFixed(2)}h) is above max_cost ${usd(run.max_cost)}; nothing was created`,
        hint: "shorten it (--ttl), choose a cheaper offer (--max-price, fewer resources), or raise --max-cost",
      },
      ExitCode.OverBudget,
    );
  }
}
