/**
 * Regenerates the tables of docs/diagnostics.md from the one table of codes,
 * src/diagnostic-codes.ts, so that the two cannot drift:
 *
 *   npm run docs:diagnostics      (npm run build && node dist/scripts/gen-diagnostics-doc.js)
 *
 * Only the part between the BEGIN and END markers is rewritten; the prose above it is kept.
 * test/diagnostics.test.ts fails when the file is not what this script writes.
 */
import * as fs from "fs";
import * as path from "path";
import { DIAGNOSTIC_CODES, DIAGNOSTIC_SECTIONS, type DiagnosticCodeInfo } from "../src/diagnostic-codes";

export const BEGIN_MARKER = "<!-- BEGIN diagnostic codes: generated from src/diagnostic-codes.ts by `npm run docs:diagnostics`; do not edit by hand -->";
export const END_MARKER = "<!-- END diagnostic codes -->";

const cell = (text: string) => text.replace(/\|/g, "\\|");

/** The codes of the table that fall in a section, in code order. */
export function sectionCodes(prefixes: string[]): string[] {
  return Object.keys(DIAGNOSTIC_CODES)
    .filter((code) => prefixes.some((p) => code.startsWith(p)))
    .sort();
}

/** The generated Markdown: one section per range, one table row per code. */
export function diagnosticsTables(): string {
  const parts: string[] = [];
  for (const section of DIAGNOSTIC_SECTIONS) {
    const rows = sectionCodes(section.prefixes).map((code) => {
      const info: DiagnosticCodeInfo = DIAGNOSTIC_CODES[code as keyof typeof DIAGNOSTIC_CODES];
      return `| ${code} | ${info.exit} | ${cell(info.meaning)} | ${cell(info.fix)} |`;
    });
    parts.push(`## ${section.title}`, "", "| Code | Exit | Meaning | Typical fix |", "|------|------|---------|-------------|", ...rows, "");
    if (section.note) parts.push(section.note, "");
  }
  return parts.join("\n");
}

/** `doc` with its generated part replaced by the current tables (markers appended when absent). */
export function withGeneratedTables(doc: string): string {
  const generated = `${BEGIN_MARKER}\n\n${diagnosticsTables()}${END_MARKER}\n`;
  const start = doc.indexOf(BEGIN_MARKER);
  const end = doc.indexOf(END_MARKER);
  if (start < 0 || end < start) return `${doc.replace(/\n*$/, "")}\n\n${generated}`;
  return doc.slice(0, start) + generated + doc.slice(end + END_MARKER.length).replace(/^\n/, "");
}

function main(): void {
  // from dist/scripts/ (the built form) or from scripts/ (under ts-node or jest)
  const candidates = [path.join(__dirname, "..", "..", "docs", "diagnostics.md"), path.join(__dirname, "..", "docs", "diagnostics.md")];
  const file = candidates.find((f) => fs.existsSync(f));
  if (!file) throw new Error(`docs/diagnostics.md not found (looked at ${candidates.join(", ")})`);
  const before = fs.readFileSync(file, "utf8");
  const after = withGeneratedTables(before);
  if (after !== before) fs.writeFileSync(file, after);
  process.stdout.write(`${path.relative(process.cwd(), file)}: ${after === before ? "up to date" : "updated"} (${Object.keys(DIAGNOSTIC_CODES).length} codes)\n`);
}

if (require.main === module) main();
