/**
 * Runs dependency-cruiser with the repository's rules (.dependency-cruiser.cjs, the same ones
 * `npm run lint:arch` uses) and returns its violations as readable lines.
 *
 * dependency-cruiser is an ES module only, and jest runs our tests as CommonJS, so the cruise
 * runs in a child node process (its own CLI with the JSON reporter) instead of in jest's
 * module system.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export const repoRoot = path.resolve(__dirname, "..", "..");

/** The .ts files under `dir` (relative to `root`), as posix paths relative to `root`. */
export function tsSources(dir: string, root: string = repoRoot): string[] {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.posix.join(dir, e.name);
    if (e.isDirectory()) return tsSources(rel, root);
    return e.name.endsWith(".ts") ? [rel] : [];
  });
}
const depcruise = path.join(repoRoot, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs");
const rules = path.join(repoRoot, ".dependency-cruiser.cjs");

export interface CruiseViolation {
  type: string;
  from: string;
  to: string;
  dependencyTypes?: string[];
  rule: { name: string; severity: string };
  cycle?: { name: string; dependencyTypes: string[] }[];
}

export interface CruiseModule {
  source: string;
  dependencies: { resolved: string; dependencyTypes: string[] }[];
}

export interface CruiseResult {
  modules: CruiseModule[];
  violations: CruiseViolation[];
  ruleNames: string[];
}

/** Cruises `targets` (paths relative to `root`, which holds the tsconfig.json to resolve with). */
export function cruise(root: string, targets: string[]): CruiseResult {
  const r = spawnSync(process.execPath, [depcruise, "--config", rules, "--output-type", "json", ...targets], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  // depcruise exits with the number of errors it found; only output that is not JSON is a failure to run
  let doc: {
    modules: CruiseModule[];
    summary: { violations: CruiseViolation[]; ruleSetUsed: { forbidden?: { name: string }[] } };
  };
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    throw new Error(`dependency-cruiser did not run (exit ${r.status}):\n${r.stderr || r.stdout || r.error}`);
  }
  return {
    modules: doc.modules,
    violations: doc.summary.violations,
    ruleNames: (doc.summary.ruleSetUsed.forbidden ?? []).map((rule) => rule.name),
  };
}

/** One line per violation: `rule: from → to (import kinds)`, a cycle as its whole loop, each cycle once. */
export function describeViolations(violations: CruiseViolation[]): string[] {
  const lines = new Set<string>();
  for (const v of violations) {
    if (v.cycle?.length) {
      const loop = [v.from, ...v.cycle.map((c) => c.name)];
      // the same cycle seen from each of its files is reported once, starting at its smallest path
      const ring = loop.slice(0, -1);
      const start = ring.indexOf([...ring].sort()[0]);
      const rotated = [...ring.slice(start), ...ring.slice(0, start)];
      lines.add(`${v.rule.name}: ${[...rotated, rotated[0]].join(" → ")}`);
    } else {
      const kinds = (v.dependencyTypes ?? []).filter((t) => t !== "local").join(", ");
      lines.add(`${v.rule.name}: ${v.from} → ${v.to}${kinds ? ` (${kinds})` : ""}`);
    }
  }
  return [...lines].sort();
}
