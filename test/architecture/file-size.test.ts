/**
 * No source file over 600 lines (src/ and cli.ts), apart from generated ones (`*.generated.ts`,
 * written by a generator and never edited by hand): a longer file holds more than one job.
 */
import * as fs from "fs";
import * as path from "path";
import { repoRoot, tsSources } from "./cruise";

const MAX_LINES = 600;


/** Lines as an editor numbers them: a final newline does not start another line. */
function lineCount(text: string): number {
  if (text === "") return 0;
  return text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
}

test("lineCount counts lines as an editor does", () => {
  expect([lineCount(""), lineCount("a"), lineCount("a\n"), lineCount("a\nb"), lineCount("a\n\n")]).toEqual([0, 1, 1, 2, 2]);
});

test(`no source file in src/ or cli.ts is over ${MAX_LINES} lines, generated ones apart`, () => {
  const files = [...tsSources("src"), "cli.ts"].filter((f) => !f.endsWith(".generated.ts"));
  expect(files.length).toBeGreaterThan(50);
  const long = files
    .map((f) => ({ f, n: lineCount(fs.readFileSync(path.join(repoRoot, f), "utf8")) }))
    .filter(({ n }) => n > MAX_LINES)
    .map(({ f, n }) => `${f}: ${n} lines`);
  expect(long).toEqual([]);
});
