import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runScript } from "../../src/stacks/script";

function script(body: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "script-")), "s.sh");
  fs.writeFileSync(file, body);
  return file;
}

describe("runScript", () => {
  it("streams whole lines from stdout and stderr, even when a line arrives in pieces", async () => {
    // `timing` is written in three pieces with pauses: a chunk-wise split would break it up
    const s = script('printf "timing deb"; sleep 0.1; printf "ootstrap 41"; sleep 0.1; printf ".5\\n"\necho "to stderr $1" >&2\necho\n');
    const lines: string[] = [];
    const r = await runScript(s, ["arg1"], { onLine: (l) => lines.push(l) });
    expect(r.code).toBe(0);
    expect(lines.sort()).toEqual(["timing debootstrap 41.5", "to stderr arg1"]);
  });

  it("returns the exit code and only the last lines", async () => {
    const r = await runScript(script("for i in 1 2 3 4 5; do echo line $i; done\nexit 7\n"), [], { tailLines: 2 });
    expect(r).toEqual({ code: 7, tail: ["line 4", "line 5"] });
  });

  it("passes the environment it is given", async () => {
    const r = await runScript(script('echo "v=$DSTACK_SCRIPT_TEST"\n'), [], { env: { ...process.env, DSTACK_SCRIPT_TEST: "x1" } });
    expect(r.tail).toEqual(["v=x1"]);
  });
});
