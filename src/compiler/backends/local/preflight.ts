/**
 * Checks of a local run that need nothing but the plan (pure). The checks that ask Docker
 * (base image present, prebuilt image present or built) are the use case
 * `localPreflight()` in src/runs/local-preflight.ts, which calls these first.
 * - `checkLocalPlanStatic(plan, baseRef)`: problems visible from the plan alone (E4113: nvcc on
 *   the local base image).
 * - `pythonProvided(requested, available)`: whether a `python:` is among the base image's.
 * - `derivesFromBase(plan, baseRef)`: whether the plan's image is (or is built on) the base image.
 */
import type { Plan } from "../../plan";
import type { Diagnostic } from "../../../diagnostics";

/** Whether the plan's image is the base image (the default image) or a prebuilt image on top of it. */
export function derivesFromBase(plan: Plan, baseRef: string): boolean {
  if (plan.image.kind === "base") return true;
  if (plan.image.kind === "prebuilt") return plan.image.build?.from === baseRef;
  return false;
}

/** Plan-only problems (no I/O). */
export function checkLocalPlanStatic(plan: Plan, baseRef: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  const nvcc = plan.image.build?.nvcc ?? false;
  if (nvcc && derivesFromBase(plan, baseRef)) {
    out.push({
      code: "E4113",
      severity: "error",
      message: "nvcc: true needs a CUDA image; the local base image has no CUDA toolkit",
      hint: "set image: to a CUDA devel image present in your Docker engine, or drop nvcc",
    });
  }
  return out;
}

function majorMinor(v: string): string {
  const m = /^(\d+)(?:\.(\d+))?/.exec(v.trim());
  return m ? (m[2] !== undefined ? `${m[1]}.${m[2]}` : m[1]) : v.trim();
}

/** Whether a requested `python:` (3, 3.11, 3.11.4) is provided by one of `available` (major.minor). */
export function pythonProvided(requested: string, available: string[]): boolean {
  const want = majorMinor(requested);
  return available.some((a) => a === want || a.startsWith(want + "."));
}
