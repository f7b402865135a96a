/**
 * The README says every command takes `--json` but the three that stream a run's output or run
 * in the background (logs, attach, agent): each other command commander knows accepts it (but
 * hidden plumbing: kube-proxy, ssh's ProxyCommand), and a few that need no engine print one JSON
 * document with it.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildProgram } from "../../cli";
import { runInProcess } from "../support/in-process-cli";

const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");

test("the README says so", () => {
  expect(readme).toContain("Every command takes `--json` for machine-readable output, except the three that stream a run's\nown output or run in the background (`logs`, `attach`, `agent`");
});

const STREAMING = ["logs", "attach", "agent"];
// hidden commands are dstack's own plumbing, not the user's (kube-proxy: ssh's ProxyCommand, a byte stream)
const hidden = (c: { name: () => string }) => (c as unknown as { _hidden?: boolean })._hidden === true;

test("the hidden commands are only dstack's plumbing", () => {
  expect(buildProgram().commands.filter(hidden).map((c) => c.name())).toEqual(["kube-proxy"]);
});

test.each(buildProgram().commands.filter((c) => !STREAMING.includes(c.name()) && !hidden(c)).map((c) => [c.name(), c] as const))("dstack %s accepts --json", (_name, cmd) => {
  expect(cmd.options.map((o) => o.long)).toContain("--json");
});

test("dstack volume ls and volume delete accept --json", () => {
  const volume = buildProgram().commands.find((c) => c.name() === "volume");
  expect(volume?.commands.map((c) => [c.name(), c.options.map((o) => o.long).includes("--json")])).toEqual([
    ["ls", true],
    ["delete", true],
  ]);
});

test("config and schema print one JSON document with it", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-json-"));
  fs.writeFileSync(path.join(dir, ".dstack.yml"), "type: dev-environment\nide: vscode\n");
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-json-home-"));
  for (const args of [["config", dir, "--json"], ["schema", "--json"], ["schema", "runspec", "--json"]]) {
    const r = await runInProcess(args, { DSTACK_HOME: home });
    expect([args.join(" "), r.code]).toEqual([args.join(" "), 0]);
    expect(() => JSON.parse(r.stdout)).not.toThrow();
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
});
