import { ConfigError, DstackError, ExitCode } from "../src/diagnostics";
import { formatDiagnostic } from "../src/cli/errors";
import { DIAGNOSTIC_CODES, DIAGNOSTIC_SECTIONS, type DiagnosticCodeInfo } from "../src/diagnostic-codes";
import { BEGIN_MARKER, withGeneratedTables } from "../scripts/gen-diagnostics-doc";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

describe("diagnostics", () => {
  it("ConfigError exits with the usage code and keeps every diagnostic", () => {
    const e = new ConfigError([
      { code: "E1001", severity: "error", message: "a" },
      { code: "E1002", severity: "error", message: "b" },
    ]);
    expect(e).toBeInstanceOf(DstackError);
    expect(e.exitCode).toBe(ExitCode.Usage);
    expect(e.diagnostics.map((d) => d.code)).toEqual(["E1001", "E1002"]);
    expect(e.message).toBe("a\nb");
  });

  it("formats file:line:col with the offending line and a caret", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "diag-"));
    const file = path.join(dir, ".dstack.yml");
    fs.writeFileSync(file, "type: dev-environment\nide: vscodee\n");
    const text = formatDiagnostic(
      { code: "E1010", severity: "error", message: "bad ide", file, line: 2, col: 6, length: 7, hint: "use vscode" },
      dir,
    );
    expect(text.split("\n")).toEqual([
      ".dstack.yml:2:6: error: bad ide [E1010]",
      "  ide: vscodee",
      "       ^^^^^^^",
      "  hint: use vscode",
    ]);
  });
});

describe("the table of diagnostic codes (src/diagnostic-codes.ts)", () => {
  const repoRoot = path.join(__dirname, "..");
  const sources = (dir: string): string[] =>
    fs.readdirSync(path.join(repoRoot, dir), { withFileTypes: true }).flatMap((e) => {
      const rel = path.posix.join(dir, e.name);
      if (e.isDirectory()) return sources(rel);
      return e.name.endsWith(".ts") ? [rel] : [];
    });
  /** code -> the files of src/ and cli.ts that use it (the table itself apart). */
  const used = new Map<string, string[]>();
  for (const f of [...sources("src"), "cli.ts"]) {
    if (f === "src/diagnostic-codes.ts") continue;
    for (const m of fs.readFileSync(path.join(repoRoot, f), "utf8").matchAll(/\bE\d{4}\b/g)) {
      used.set(m[0], [...new Set([...(used.get(m[0]) ?? []), f])]);
    }
  }
  const table = DIAGNOSTIC_CODES as Record<string, DiagnosticCodeInfo>;

  it("lists every code used in src/ and cli.ts", () => {
    expect(used.size).toBeGreaterThan(90);
    expect([...used.keys()].filter((code) => !(code in table)).map((code) => `${code} (${used.get(code)!.join(", ")})`)).toEqual([]);
  });

  it("lists no code that src/ no longer uses", () => {
    expect(Object.keys(table).filter((code) => !used.has(code))).toEqual([]);
  });

  it("puts each code in exactly one section, with a meaning and a fix", () => {
    for (const [code, info] of Object.entries(table)) {
      expect([code, DIAGNOSTIC_SECTIONS.filter((s) => s.prefixes.some((p) => code.startsWith(p))).length]).toEqual([code, 1]);
      expect([code, info.meaning.length > 10, info.fix.length > 0]).toEqual([code, true, true]);
    }
  });

  it("docs/diagnostics.md holds the tables the generator writes now (npm run docs:diagnostics)", () => {
    const doc = fs.readFileSync(path.join(repoRoot, "docs", "diagnostics.md"), "utf8");
    expect(doc).toContain(BEGIN_MARKER);
    expect(doc).toBe(withGeneratedTables(doc));
    for (const code of Object.keys(table)) expect(doc).toContain(`| ${code} |`);
  });

  it("the generator replaces only its part of the document, and appends it when absent", () => {
    const fresh = withGeneratedTables("# Diagnostics\n\nprose\n");
    expect(fresh.startsWith(`# Diagnostics\n\nprose\n\n${BEGIN_MARKER}\n`)).toBe(true);
    expect(fresh).toContain("| E4501 | 4 |");
    const stale = fresh.replace("| E4501 | 4 |", "| E4501 | 9 |") + "\nafter\n";
    expect(withGeneratedTables(stale)).toBe(fresh + "\nafter\n");
  });

  it("docs/exit-codes.md names each code under the exit code the table gives it", () => {
    const text = fs.readFileSync(path.join(repoRoot, "docs", "exit-codes.md"), "utf8");
    const rows = [...text.matchAll(/^\|\s*(\d+)\s*\|.*$/gm)];
    expect(rows.length).toBeGreaterThanOrEqual(9);
    const wrong: string[] = [];
    for (const [row, exit] of rows) {
      for (const [code] of row.matchAll(/\bE\d{4}\b/g)) {
        if (!(code in table)) wrong.push(`${code}: not in the table`);
        else if (String(table[code].exit) !== exit) wrong.push(`${code}: listed under ${exit}, the table says ${table[code].exit}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
