import { ConfigError, DstackError, ExitCode } from "../src/diagnostics";
import { formatDiagnostic } from "../src/cli/errors";
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
