/**
 * The layering of src/ (DEVELOPERS.md; rules in .dependency-cruiser.cjs): each rule is a test
 * that lists every import breaking it, and a miniature tree (./fixture) shows the rules catch
 * type-only, lazy (`await import`, inline `require`) and cyclic imports, and allow the rest.
 */
import * as fs from "fs";
import * as path from "path";
import { cruise, describeViolations, repoRoot, tsSources, type CruiseResult } from "./cruise";

jest.setTimeout(180_000);

const RULES = ["compiler-above-its-layer", "config-above-its-layer", "offers-above-its-layer", "stacks-above-its-layer", "no-cycle"];

function sourceFiles(root: string): string[] {
  return [...tsSources("src", root), ...(fs.existsSync(path.join(root, "cli.ts")) ? ["cli.ts"] : [])].sort();
}

describe("the layers of src/ and cli.ts", () => {
  let result: CruiseResult;
  beforeAll(() => {
    result = cruise(repoRoot, ["src", "cli.ts"]);
  });

  test("the cruise reads every source file and the rule set is the one tested here", () => {
    expect(result.modules.map((m) => m.source).sort()).toEqual(sourceFiles(repoRoot));
    expect([...result.ruleNames].sort()).toEqual([...RULES].sort());
  });

  test.each(RULES)("%s: no violation", (rule) => {
    expect(describeViolations(result.violations.filter((v) => v.rule.name === rule))).toEqual([]);
  });
});

describe("the rules themselves, on a miniature tree (test/architecture/fixture)", () => {
  const fixture = path.join(__dirname, "fixture");
  let result: CruiseResult;
  beforeAll(() => {
    result = cruise(fixture, ["src", "cli.ts"]);
  });

  test("catch each forbidden import, of every kind, and the cycle", () => {
    expect(describeViolations(result.violations)).toEqual([
      "compiler-above-its-layer: src/compiler/program.ts → src/runs/record.ts (type-only, import)",
      "compiler-above-its-layer: src/compiler/program.ts → src/stacks/state.ts (require)",
      "config-above-its-layer: src/config/spec.ts → src/offers/shape.ts (type-only, import)",
      "no-cycle: src/ssh/hosts.ts → src/ssh/keys.ts → src/ssh/hosts.ts",
      "offers-above-its-layer: src/offers/offer.ts → src/compiler/emit.ts (dynamic-import)",
      "stacks-above-its-layer: src/stacks/engine.ts → cli.ts (type-only, import)",
    ]);
  });

  test("allow the imports the layering permits (runs over compiler, stacks and ssh; cli over runs)", () => {
    const allowed = [
      "src/runs/use.ts → src/compiler/program.ts",
      "src/runs/use.ts → src/stacks/engine.ts",
      "src/runs/use.ts → src/ssh/keys.ts",
      "src/cli/render.ts → src/runs/use.ts",
      "src/compiler/program.ts → src/offers/offer.ts",
      "src/compiler/program.ts → src/config/spec.ts",
      "src/offers/offer.ts → src/config/spec.ts",
      "src/stacks/engine.ts → src/config/spec.ts",
    ];
    const edges = result.modules.flatMap((m) => m.dependencies.map((d) => `${m.source} → ${d.resolved}`));
    expect(edges).toEqual(expect.arrayContaining(allowed));
    const flagged = result.violations.map((v) => `${v.from} → ${v.to}`);
    expect(allowed.filter((edge) => flagged.includes(edge))).toEqual([]);
  });
});
