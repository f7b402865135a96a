/**
 * Real-world compatibility: every configuration in ../shared/dstack-configs loads (read in
 * place), the ones in invalid/ are rejected with clean, positioned errors.
 */
import * as fs from "fs";
import * as path from "path";
import Ajv from "ajv";
import { parse } from "yaml";
import { runSpecSchema } from "../../src/config/schema/definitions";
import { loadRunSpec } from "../../src/config";
import { ConfigError } from "../../src/diagnostics";
import { formatDiagnostic } from "../../src/cli/errors";
import { describeWhen, sharedConfigs as sharedConfigsPresent } from "../support/requirements";
import { sharedConfigs, tempDir, testEnv } from "./helpers";

const present = sharedConfigsPresent.missing() === null;
const files = present ? fs.readdirSync(sharedConfigs).filter((f) => f.endsWith(".dstack.yml")).sort() : [];
const invalid = present ? fs.readdirSync(path.join(sharedConfigs, "invalid")).sort() : [];

/** Values for the variables a configuration takes from the caller's environment. */
function envFor(file: string): NodeJS.ProcessEnv {
  const doc = parse(fs.readFileSync(file, "utf8")) as { env?: unknown };
  const keys = Array.isArray(doc.env) ? doc.env.filter((e): e is string => typeof e === "string" && !e.includes("=")) : [];
  return testEnv(Object.fromEntries(keys.map((k) => [k, `value-of-${k}`])));
}

const workdir = tempDir();
const validRunSpec = new Ajv({ allErrors: true, allowUnionTypes: true }).compile(runSpecSchema());
const byName = (prefix: string) => {
  const f = files.find((x) => x.startsWith(prefix))!;
  const file = path.join(sharedConfigs, f);
  return loadRunSpec({ file, dir: workdir, env: envFor(file) });
};

describeWhen(sharedConfigsPresent, "real configurations", () => {
  it("there are 117 of them", () => {
    expect(files).toHaveLength(117);
  });

  it.each(files)("%s loads", (f) => {
    const file = path.join(sharedConfigs, f);
    const spec = loadRunSpec({ file, dir: workdir, env: envFor(file) });
    expect(["dev-environment", "task"]).toContain(spec.type);
    expect(spec.configuration_path).toBe(file);
    expect(spec.resources.cpu.count).toBeDefined();
    expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
    if (!validRunSpec(spec)) throw new Error(`${f}: the RunSpec breaks schemas/runspec.schema.json: ${JSON.stringify(validRunSpec.errors)}`);
  });

  it("values from a few of them", () => {
    const tpu = files.find((f) => /tpu/.test(f))!;
    expect(loadRunSpec({ file: path.join(sharedConfigs, tpu), dir: workdir, env: envFor(path.join(sharedConfigs, tpu)) }).resources.gpu.vendor).toBe("google");
    const tt = byName("075");
    expect(tt.resources.gpu).toMatchObject({ vendor: "tenstorrent" });
    const amd = byName("073");
    expect(amd.resources.gpu.vendor).toBe("amd");
    const first = byName("001");
    expect(first).toMatchObject({ type: "dev-environment", ide: "cursor", python: "3.12" });
  });

  it("a variable the configuration needs and nobody sets is reported", () => {
    const f = files.find((x) => fs.readFileSync(path.join(sharedConfigs, x), "utf8").includes("- HF_TOKEN\n"))!;
    try {
      loadRunSpec({ file: path.join(sharedConfigs, f), dir: workdir, env: testEnv() });
      throw new Error("loaded");
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).diagnostics.map((d) => d.message)).toContain("Environment variable HF_TOKEN is not set");
    }
  });

  it.each(invalid)("invalid/%s is rejected with a clean error", (f) => {
    const file = path.join(sharedConfigs, "invalid", f);
    try {
      loadRunSpec({ file, dir: workdir, env: testEnv() });
      throw new Error("loaded");
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const diagnostics = (e as ConfigError).diagnostics;
      expect(diagnostics.length).toBeGreaterThan(0);
      for (const d of diagnostics) {
        expect(d.code).toMatch(/^E1\d{3}$/);
        expect(d.file).toBe(file);
        expect(d.line).toBeGreaterThan(0);
        const text = formatDiagnostic(d, sharedConfigs);
        expect(text).toContain(`invalid/${f}:${d.line}:${d.col}: error: `);
        expect(text).toMatch(/\n {2}\s*\^+/);
      }
    }
  });

  it("invalid/006: resources with nothing under it, and its keys at the top level", () => {
    const file = path.join(sharedConfigs, "invalid", invalid.find((f) => f.startsWith("006"))!);
    try {
      loadRunSpec({ file, dir: workdir, env: testEnv() });
    } catch (e) {
      const d = (e as ConfigError).diagnostics;
      expect(d.map((x) => x.code)).toEqual(["E1011", "E1010", "E1010", "E1010"]);
      expect(d[1]!.hint).toMatch(/belongs under resources/);
    }
  });
});
