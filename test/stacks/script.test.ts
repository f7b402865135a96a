import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runLines, runScript } from "../../src/stacks/script";

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

describe("runLines", () => {
  it("names each line's stream, keeps the whole output (blank lines too) and runs in cwd", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lines-"));
    const seen: string[] = [];
    const r = await runLines("bash", ["-c", 'echo "a $(basename "$PWD")"; echo; echo b >&2; printf "c"'], {
      cwd: dir,
      keepOutput: true,
      onLine: (line, stream) => seen.push(`${stream}:${line}`),
    });
    expect(r.code).toBe(0);
    expect(seen.filter((l) => l.startsWith("stdout:"))).toEqual([`stdout:a ${path.basename(dir)}`, "stdout:c"]);
    expect(seen.filter((l) => l.startsWith("stderr:"))).toEqual(["stderr:b"]);
    expect(r.stdout).toBe(`a ${path.basename(dir)}\n\nc\n`);
    expect(r.stderr).toBe("b\n");
  });

  it("keeps no output unless asked, and an abort sends SIGINT (exit code 1 for a signal)", async () => {
    const ac = new AbortController();
    const started = Date.now();
    const p = runLines("bash", ["-c", "echo up; exec sleep 30"], { signal: ac.signal, onLine: () => ac.abort() });
    const r = await p;
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(Date.now() - started).toBeLessThan(10000);
  });
});
