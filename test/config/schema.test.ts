import Ajv from "ajv";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { AJV_OPTIONS, schemaFiles, validatorsSource } from "../../src/config/schema/generate";
import { configurationSchema, profilesSchema } from "../../src/config/schema/definitions";
import { closest, levenshtein } from "../../src/config/suggest";
import { repoRoot, sharedConfigs } from "./helpers";

describe("JSON Schemas", () => {
  it("schemas/*.json are generated from definitions.ts and up to date", () => {
    for (const [name, text] of Object.entries(schemaFiles())) {
      expect(fs.readFileSync(path.join(repoRoot, "schemas", name), "utf8")).toBe(text);
    }
  });

  it("the precompiled validators are up to date (node dist/src/config/schema/generate.js)", () => {
    expect(fs.readFileSync(path.join(repoRoot, "src", "config", "schema", "validators.generated.ts"), "utf8")).toBe(validatorsSource());
  });

  it("the editor schema (oneOf with a type discriminator) compiles and accepts the real configurations", () => {
    const ajv = new Ajv(AJV_OPTIONS);
    const validate = ajv.compile(configurationSchema());
    expect(validate({ type: "task", commands: ["x"] })).toBe(true);
    expect(validate({ type: "task", comands: ["x"] })).toBe(false);
    expect(validate({ type: "service", port: 80 })).toBe(true);
    if (!fs.existsSync(sharedConfigs)) return;
    for (const f of fs.readdirSync(sharedConfigs).filter((x) => x.endsWith(".yml"))) {
      const ok = validate(parse(fs.readFileSync(path.join(sharedConfigs, f), "utf8")));
      if (!ok) throw new Error(`${f}: ${JSON.stringify(validate.errors)}`);
    }
  });

  it("the profiles schema compiles and accepts the real profiles", () => {
    const validate = new Ajv(AJV_OPTIONS).compile(profilesSchema());
    const dir = path.join(sharedConfigs, "profiles");
    if (!fs.existsSync(dir)) return;
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
