import Ajv from "ajv";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { AJV_OPTIONS, schemaFiles, validatorsSource } from "../../src/config/schema/generate";
import { configurationSchema, profilesSchema, runSpecSchema } from "../../src/config/schema/definitions";
import { loadRunSpec } from "../../src/config";
import { tempDir, testEnv } from "./helpers";
import { closest, levenshtein } from "../../src/config/suggest";
import { repoRoot, sharedConfigs } from "./helpers";
import { available, sharedConfigs as realConfigs, sharedProfiles as realProfiles } from "../support/requirements";

describe("JSON Schemas", () => {
  it("schemas/*.json are generated from definitions.ts and up to date", () => {
    for (const [name, text] of Object.entries(schemaFiles())) {
      expect(fs.readFileSync(path.join(repoRoot, "schemas", name), "utf8")).toBe(text);
    }
  });

  it("the precompiled validators are up to date (npm run schemas)", () => {
    expect(fs.readFileSync(path.join(repoRoot, "src", "config", "schema", "validators.generated.ts"), "utf8")).toBe(validatorsSource());
  });

  it("the editor schema (oneOf with a type discriminator) compiles and accepts the real configurations", () => {
    const ajv = new Ajv(AJV_OPTIONS);
    const validate = ajv.compile(configurationSchema());
    expect(validate({ type: "task", commands: ["x"] })).toBe(true);
    expect(validate({ type: "task", comands: ["x"] })).toBe(false);
    expect(validate({ type: "service", port: 80 })).toBe(true);
    if (!available(realConfigs, "the editor schema against the real configurations")) return;
    for (const f of fs.readdirSync(sharedConfigs).filter((x) => x.endsWith(".yml"))) {
      const ok = validate(parse(fs.readFileSync(path.join(sharedConfigs, f), "utf8")));
      if (!ok) throw new Error(`${f}: ${JSON.stringify(validate.errors)}`);
    }
  });

  it("the profiles schema compiles and accepts the real profiles", () => {
    const validate = new Ajv(AJV_OPTIONS).compile(profilesSchema());
    const dir = path.join(sharedConfigs, "profiles");
    if (!available(realProfiles, "the profiles schema against the real profiles")) return;
    for (const f of fs.readdirSync(dir)) expect([f, validate(parse(fs.readFileSync(path.join(dir, f), "utf8")))]).toEqual([f, true]);
  });

  it("the examples validate", () => {
    const validate = new Ajv(AJV_OPTIONS).compile(configurationSchema());
    const dir = path.join(repoRoot, "examples");
    const found: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory() && e.name !== ".dstack") walk(p);
        else if (/dstack\.ya?ml$/.test(e.name)) found.push(p);
      }
    };
    walk(dir);
    expect(found.length).toBeGreaterThanOrEqual(3);
    for (const f of found) expect([f, validate(parse(fs.readFileSync(f, "utf8")))]).toEqual([f, true]);
  });
});

describe("the RunSpec schema", () => {
  const validate = new Ajv({ allErrors: true, allowUnionTypes: true }).compile(runSpecSchema());
  it.each([
    "type: dev-environment\nide: vscode\n",
    "type: task\ncommands: [x]\nnodes: 2\nports: [8000, '*:80']\nvolumes: [v-1:/data, /h:/c]\nresources: {gpu: A100:80GB:2, cpu: arm:4, disk: null, shm_size: 1GB}\nretry: {on_events: [error]}\nutilization_policy: {min_gpu_utilization: 5, time_window: 1h}\nschedule: {cron: '0 * * * *'}\ntags: {a: b}\n",
    "type: task\nimage: x\nregistry_auth: {username: u, password: p}\nmax_duration: off\nspot_policy: spot\nbackends: [local]\n",
  ])("%j validates", (yaml) => {
    const spec = loadRunSpec({ dir: tempDir({ ".dstack.yml": yaml }), env: testEnv() });
    if (!validate(spec)) throw new Error(JSON.stringify(validate.errors));
  });

  it("rejects a RunSpec with a missing or an extra field", () => {
    const spec = loadRunSpec({ dir: tempDir({ ".dstack.yml": "type: task\ncommands: [x]\n" }), env: testEnv() }) as unknown as Record<string, unknown>;
    const { name: _name, ...missing } = spec;
    expect(validate(missing)).toBe(false);
    expect(validate({ ...spec, extra: 1 })).toBe(false);
  });
});

describe("did you mean", () => {
  it.each([
    ["kitten", "sitting", 3],
    ["", "abc", 3],
    ["abc", "abc", 0],
    ["flaw", "lawn", 2],
  ])("levenshtein(%s, %s) = %d", (a, b, d) => {
    expect(levenshtein(a, b)).toBe(d);
  });

  it.each([
    ["pyhton", ["python", "image"], "python"],
    ["resourcs", ["resources", "retry"], "resources"],
    ["spot-policy", ["spot_policy"], "spot_policy"],
    ["IDE", ["ide"], "ide"],
    ["gpus", ["gpu", "cpu"], "gpu"],
    ["banana", ["python", "image"], undefined],
    ["x", ["y"], "y"],
    ["capacity", ["no-capacity", "interruption", "error"], "no-capacity"],
  ])("closest(%s) = %s", (word, candidates, expected) => {
    expect(closest(word, candidates)).toBe(expected);
  });
});
