/**
 * Only src/cli and cli.ts print: every other layer returns data, or emits typed events that the
 * CLI renders (DEVELOPERS.md). A use of process.stdout, process.stderr or console anywhere else
 * in src/ fails here, with its file and line.
 */
import * as fs from "fs";
import * as path from "path";
import { repoRoot, tsSources } from "./cruise";
import { findPrinting } from "./printing";



describe("printing", () => {
  test("process.stdout, process.stderr and console are used only in src/cli and cli.ts", () => {
    const outside = tsSources("src").filter((f) => !f.startsWith("src/cli/"));
    expect(outside.length).toBeGreaterThan(50);
    const uses = outside.flatMap((f) =>
      findPrinting(f, fs.readFileSync(path.join(repoRoot, f), "utf8")).map((u) => `${f}:${u.line}: ${u.text}`),
    );
    expect(uses).toEqual([]);
  });

  test("the finder reads code, not comments, strings or look-alike names", () => {
    const code = [
      '// console.log("in a comment") and process.stdout.write',
      'const s = "process.stderr and console.log in a string";',
      "const o = { console: 1, stdout: 2 }; o.console; const { stdout: x } = o;",
      "class C { console = 1; }",
      'console.log("a");',
      'process.stderr.write("b");',
      'process["stdout"].write("c");',
      "const { stderr } = process;",
      'import { stdout as out } from "node:process";',
      "const c = globalThis.console;",
      "const log = console;",
    ].join("\n");
    expect(findPrinting("probe.ts", code).map((u) => `${u.line}: ${u.text}`)).toEqual([
      "5: console",
      "6: process.stderr",
      '7: process["stdout"]',
      "8: stderr",
      "9: stdout as out",
      "11: console",
    ]);
  });
});
