/** `dstack down NAME`: the name follows the configuration's rule, checked before anything is asked or touched. */
import { down } from "../../src/cli/down";
import { ExitCode } from "../../src/diagnostics";

test.each(["Fast-Moth", "1abc", "../etc", "x"])("dstack down %s is refused with E5001 (exit 2)", async (name) => {
  await expect(down(name, { yes: true })).rejects.toMatchObject({ exitCode: ExitCode.Usage, diagnostics: [{ code: "E5001" }] });
});
