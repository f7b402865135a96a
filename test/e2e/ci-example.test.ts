/**
 * examples/ci/pr-env.sh — the CI flow as a plain shell script — run as a CI job would run it,
 * against the local backend with the real engine, Docker and OpenSSH: `up` brings up
 * `<prefix>-<PR number>` from examples/ci/.dstack.yml and publishes its connection details
 * (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY), `exec` runs a command in it over ssh, `down` removes
 * it. The JSON the script reads is validated against schemas/up.schema.json on the way.
 */
import { spawnSync, type SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as path from "path";
import Ajv from "ajv";
import { describeWhen } from "../support/requirements";
import { cleanup, cliEntry, docker, dstack, e2ePrerequisites, makeSandbox, ok, repoRoot, type Sandbox } from "./helpers";

jest.setTimeout(600_000);

const pr = String(10_000 + (process.pid % 50_000));
const prefix = `e2e-ci${Date.now().toString(36).slice(-4)}`;
const run = `${prefix}-${pr}`;
const script = path.join(repoRoot, "examples", "ci", "pr-env.sh");

function prEnv(sb: Sandbox, args: string[]): SpawnSyncReturns<string> {
  return spawnSync("bash", [script, ...args], { cwd: sb.project, env: sb.env, encoding: "utf8", timeout: 600_000 });
}

describeWhen(e2ePrerequisites, "examples/ci/pr-env.sh against the local backend", () => {
  let sb: Sandbox;
  let outputs: string;
  let summary: string;
  beforeAll(() => {
    sb = makeSandbox("ci-example");
    outputs = path.join(sb.root, "github-output");
    summary = path.join(sb.root, "github-summary.md");
    Object.assign(sb.env, {
      DSTACK: `${process.execPath} ${cliEntry}`,
      PR_ENV_PREFIX: prefix,
      PR_ENV_TTL: "1h",
      PR_ENV_MAX_COST: "1",
      PR_ENV_OUT: sb.root,
      GITHUB_OUTPUT: outputs,
      GITHUB_STEP_SUMMARY: summary,
    });
  });
  afterAll(() => {
    dstack(sb, ["down", run, "-y", "--purge"]);
    cleanup(sb, [run]);
  });

  test("up: the environment named from the PR number, its connection details published", () => {
    const r = ok(prEnv(sb, ["up", pr]), "pr-env.sh up");
    const json = JSON.parse(fs.readFileSync(path.join(sb.root, `${run}.json`), "utf8")) as Record<string, unknown>;
    const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(fs.readFileSync(path.join(repoRoot, "schemas", "up.schema.json"), "utf8")) as object);
    expect({ valid: validate(json), errors: validate.errors ?? null }).toEqual({ valid: true, errors: null });
    expect(json).toMatchObject({ name: run, backend: "local", status: "running", ssh_host: "127.0.0.1", ssh_user: "root", price: 0, projected_cost: 0 });
    expect(r).toContain(`${run} is up: ssh -p ${json.ssh_port} root@127.0.0.1`);
    const published = Object.fromEntries(fs.readFileSync(outputs, "utf8").trim().split("\n").map((l) => l.split(/=(.*)/s).slice(0, 2)));
    expect(published).toEqual({
      name: run,
      ssh_host: "127.0.0.1",
      ssh_port: String(json.ssh_port),
      ssh_user: "root",
      ide_url: `vscode://vscode-remote/ssh-remote+${run}/workflow`,
      expires_at: json.expires_at,
      projected_cost: "0",
    });
    expect(Date.parse(String(json.expires_at)) - Date.parse(String(json.created_at))).toBe(3600_000);
    expect(fs.readFileSync(summary, "utf8")).toContain(`| ssh | \`ssh -p ${json.ssh_port} root@127.0.0.1\` |`);
    // --no-ssh-config: the user's ~/.ssh/config is left alone
    expect(fs.existsSync(path.join(sb.home, ".ssh", "config"))).toBe(false);
  });

  test("exec: a command runs in it over ssh, with its exit code", () => {
    expect(ok(prEnv(sb, ["exec", pr, "echo", "pr-$DSTACK_RUN_NAME", "&&", "test", "-d", "/workflow"]), "pr-env.sh exec").trim()).toBe(`pr-${run}`);
    expect(prEnv(sb, ["exec", pr, "exit 3"]).status).toBe(3);
  });

  test("down: the environment is removed (no run, no container)", () => {
    ok(prEnv(sb, ["down", pr]), "pr-env.sh down");
    const active = JSON.parse(ok(dstack(sb, ["ps", "--json"]), "ps")) as { name: string }[];
    expect(active.map((r) => r.name)).not.toContain(run);
    expect(docker(["inspect", `dstack-${run}`]).status).not.toBe(0);
  });

  test("bad input: a PR number that is not a number is refused (exit 2) before dstack runs", () => {
    const r = prEnv(sb, ["up", "12; rm -rf /"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("PR_NUMBER must be a number");
  });
});
