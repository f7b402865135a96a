/**
 * Every `--json` output has a JSON Schema in schemas/ (docs/ci.md): real outputs of the built
 * CLI — a run brought up and removed with the real engine, Docker and OpenSSH — are validated
 * against them, and every schema file is used by this test.
 */
import * as fs from "fs";
import * as path from "path";
import Ajv, { type ValidateFunction } from "ajv";
import { describeWhen } from "../support/requirements";
import { cleanup, docker, dstack, e2ePrerequisites, makeSandbox, ok, repoRoot, testId, writeConfig, type Sandbox } from "./helpers";

jest.setTimeout(600_000);

const run = `e2e-json-${testId()}`;
const ajv = new Ajv({ allErrors: true, strict: false });
const schemaDir = path.join(repoRoot, "schemas");
const used = new Set<string>();

function schema(name: string): ValidateFunction {
  used.add(`${name}.schema.json`);
  return ajv.getSchema(name) ?? (ajv.addSchema(JSON.parse(fs.readFileSync(path.join(schemaDir, `${name}.schema.json`), "utf8")) as object, name), ajv.getSchema(name)!);
}

function valid(name: string, doc: unknown): void {
  const v = schema(name);
  expect({ schema: name, valid: v(doc), errors: v.errors ?? null }).toEqual({ schema: name, valid: true, errors: null });
}

const json = (sb: Sandbox, args: string[], what = args.join(" ")) => JSON.parse(ok(dstack(sb, args), what)) as unknown;

describeWhen(e2ePrerequisites, "--json outputs against schemas/", () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = makeSandbox("json");
    writeConfig(sb, `type: dev-environment\nname: ${run}\nide: vscode\nresources:\n  disk: 1GB..\n`);
  });
  afterAll(() => cleanup(sb, [run]));

  test("commands that need no run: config, offer (list and groups), compile, doctor, preview, ps, audit, unlock, an error", () => {
    valid("runspec", json(sb, ["config", "--json"]));
    valid("offer", json(sb, ["offer", "--json"]));
    valid("offer", json(sb, ["offer", "--json", "--group-by", "gpu"]));
    valid("compile", json(sb, ["compile", "--json", "--backend", "aws"]));
    const doctor = dstack(sb, ["doctor", "--json"]);
    valid("doctor", JSON.parse(doctor.stdout));
    valid("preview", json(sb, ["preview", "--json"]));
    valid("ps", json(sb, ["ps", "--json"]));
    valid("audit", json(sb, ["audit", "--json", "--run", run]));
    valid("unlock", json(sb, ["unlock", run, "--json", "-y"]));
    const err = dstack(sb, ["down", `${run}-missing`, "-y", "--json"]);
    expect(err.status).toBe(6);
    valid("error", JSON.parse(err.stdout));
  });

  test("a run: up, ps and audit while it runs, then down", () => {
    const up = json(sb, ["up", "-y", "--json", "--ttl", "1h"]) as Record<string, unknown>;
    valid("up", up);
    expect(up).toMatchObject({ name: run, status: "running" });
    const ps = json(sb, ["ps", "--json"]) as Record<string, unknown>[];
    valid("ps", ps);
    expect(ps.map((r) => r.name)).toContain(run);
    const audit = json(sb, ["audit", "--json", "--run", run]) as { resources: unknown[] };
    valid("audit", audit);
    expect(audit.resources.length).toBeGreaterThan(0);
    valid("down", json(sb, ["down", run, "-y", "--purge", "--json"]));
  });

  test("setup and build", () => {
    const setup = dstack(sb, ["setup", "--json"], { timeoutMs: 600_000 });
    valid("setup", JSON.parse(ok(setup, "setup")));
    writeConfig(sb, `type: task\nname: ${run}-build\nbuild:\n  - echo built-by-${run} > /etc/${run}\ncommands:\n  - cat /etc/${run}\nresources:\n  disk: 1GB..\n`, "build.dstack.yml");
    const built = json(sb, ["build", "-f", "build.dstack.yml", "--json"]) as { image: string; built: boolean };
    valid("build", built);
    expect(built.built).toBe(true);
    docker(["rmi", built.image]);
  });

  test("volumes: up of a type: volume configuration, volume ls, volume delete", () => {
    writeConfig(sb, `type: volume\nname: ${run}-vol\nbackend: local\n`, "vol.dstack.yml");
    try {
      valid("volume", json(sb, ["preview", "-f", "vol.dstack.yml", "--json"]));
      valid("volume", json(sb, ["up", "-f", "vol.dstack.yml", "-y", "--json"]));
      valid("volume", json(sb, ["volume", "ls", "--json"]));
      valid("volume", json(sb, ["volume", "delete", `${run}-vol`, "-y", "--json"]));
    } finally {
      docker(["volume", "rm", "-f", `${run}-vol`]);
    }
  });

  test("every schema in schemas/ is exercised", () => {
    const generated = ["dstack-configuration.schema.json", "profiles.schema.json"]; // configuration files, not outputs (test/config/schema.test.ts)
    const all = fs.readdirSync(schemaDir).filter((f) => f.endsWith(".schema.json") && !generated.includes(f));
    expect(all.filter((f) => !used.has(f))).toEqual([]);
  });
});
