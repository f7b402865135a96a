/**
 * Property-based robustness: thousands of randomly mutated configurations (structural
 * mutations of real ones, and raw text edits) never produce anything but a RunSpec or a
 * ConfigError with well-formed diagnostics.
 */
import fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import Ajv from "ajv";
import { parse, stringify } from "yaml";
import { runSpecSchema } from "../../src/config/schema/definitions";
import { loadConfiguration } from "../../src/config";
import { ConfigError } from "../../src/diagnostics";
import { repoRoot, sharedConfigs, tempDir, testEnv } from "./helpers";

const inline = [
  "type: dev-environment\nide: vscode\npython: 3.1\nenv: [A=1, B]\nresources:\n  gpu: A100:80GB:2\n  cpu: x86:2..\nvolumes: [v-1:/data, /h:/c]\nports: [8000, '8080:80']\n",
  "type: task\ncommands: [x]\nretry: {on_events: [error], duration: 2h}\nmax_duration: off\nenv: {A: 1, B: null}\nregistry_auth: {username: u, password: '${{ env.A }}'}\n",
  "type: task\nimage: x\nnodes: 2\nresources: {gpu: {name: [A10G, A100], count: 1..2, memory: 24GB..}, disk: {size: 100GB..}}\nretry_policy: {retry: true, limit: 1d}\n",
  "type: volume\nname: my-vol\nbackend: local\nsize: 10GB\n",
];

function corpus(): string[] {
  const texts = [...inline];
  const examples = path.join(repoRoot, "examples");
  for (const d of fs.readdirSync(examples)) {
    for (const f of fs.readdirSync(path.join(examples, d))) if (f.endsWith("dstack.yml")) texts.push(fs.readFileSync(path.join(examples, d, f), "utf8"));
  }
  if (fs.existsSync(sharedConfigs)) {
    const files = fs.readdirSync(sharedConfigs).filter((f) => f.endsWith(".yml"));
    for (const f of files.filter((_, i) => i % 4 === 0)) texts.push(fs.readFileSync(path.join(sharedConfigs, f), "utf8"));
  }
  return texts;
}

const texts = corpus();
const validRunSpec = new Ajv({ allErrors: true, allowUnionTypes: true }).compile(runSpecSchema());
const objects = texts.map((t) => parse(t) as unknown);
const dir = tempDir();
const file = path.join(dir, ".dstack.yml");
const env = testEnv({ B: "b", HF_TOKEN: "t", WANDB_API_KEY: "w" });
fs.writeFileSync(path.join(dir, "profiles-dummy"), "");

const KEYS = ["type", "name", "image", "python", "env", "resources", "gpu", "cpu", "memory", "disk", "shm_size", "ports", "volumes", "retry", "retry_policy", "max_duration", "spot_policy", "commands", "init", "ide", "nodes", "registry_auth", "on_events", "duration", "count", "vendor", "min", "max", "path", "instance_path", "optional", "backends", "profile", "utilization_policy", "schedule", "cron", "tags", "docker", "nvcc", "working_dir", "shell", "user"];

const leaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1, 3.1, 1e300, "", "off", "..", "A100::2", "24GB..", "1..8", "x86:4", "/workflow", "a:b:c", "${{ env.X }}", "${{ secrets.y }}", "-5m", "2h", "3.10", "task", "dev-environment", "volume", "service"),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double({ noNaN: false }),
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("v"), { maxLength: 3 }), fc.dictionary(fc.constantFrom(...KEYS), tie("v"), { maxKeys: 3 })),
})).v;

type Mutation = { kind: "delete" | "set" | "insert"; pick: number; key: string; value: unknown };
const mutation: fc.Arbitrary<Mutation> = fc.record({ kind: fc.constantFrom("delete", "set", "insert"), pick: fc.nat(), key: fc.constantFrom(...KEYS), value });

/** All container nodes (objects and arrays) of a value, depth first. */
function containers(v: unknown, out: (Record<string, unknown> | unknown[])[] = []): (Record<string, unknown> | unknown[])[] {
  if (Array.isArray(v)) {
    out.push(v);
    v.forEach((x) => containers(x, out));
  } else if (v && typeof v === "object") {
    out.push(v as Record<string, unknown>);
    Object.values(v).forEach((x) => containers(x, out));
  }
  return out;
}

function mutate(base: unknown, muts: Mutation[]): unknown {
  const root = structuredClone(base);
  for (const m of muts) {
    const nodes = containers(root);
    if (!nodes.length) break;
    const node = nodes[m.pick % nodes.length]!;
    if (Array.isArray(node)) {
      const i = node.length ? m.pick % node.length : 0;
      if (m.kind === "delete") node.splice(i, 1);
      else if (m.kind === "set") node[i] = m.value;
      else node.splice(i, 0, m.value);
    } else {
      const keys = Object.keys(node);
      const k = m.kind === "insert" || !keys.length ? m.key : keys[m.pick % keys.length]!;
      if (m.kind === "delete") delete node[k];
      else node[k] = m.value;
    }
  }
  return root;
}

function check(text: string): void {
  fs.writeFileSync(file, text);
  const lines = text.split("\n").length;
  try {
    const spec = loadConfiguration({ dir, env });
    expect(typeof spec.type).toBe("string");
    JSON.stringify(spec);
    if (spec.type !== "volume" && !validRunSpec(spec)) throw new Error(`a RunSpec outside its schema: ${JSON.stringify(validRunSpec.errors)}\n--- input ---\n${text}`);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw new Error(`unexpected ${e instanceof Error ? e.stack : String(e)}\n--- input ---\n${text}`, { cause: e });
    expect(e.diagnostics.length).toBeGreaterThan(0);
    for (const d of e.diagnostics) {
      if (!/^E1\d{3}$/.test(d.code) || !d.message || (d.line !== undefined && (d.line < 1 || d.line > lines + 1))) {
        throw new Error(`malformed diagnostic ${JSON.stringify(d)}\n--- input ---\n${text}`, { cause: e });
      }
    }
  }
}

describe("fuzz", () => {
  it("structurally mutated configurations: a RunSpec or a ConfigError", () => {
    fc.assert(
      fc.property(fc.nat(objects.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }), (i, muts) => {
        check(stringify(mutate(objects[i], muts)));
      }),
      { numRuns: 1500, seed: 20261201 },
    );
  });

  it("text-level edits (YAML syntax noise): a RunSpec or a ConfigError", () => {
    const edit = fc.record({ at: fc.nat(), len: fc.nat(4), insert: fc.constantFrom("", ":", "- ", "[", "]", "{", "}", "\n", "\n  ", "  ", "#", "'", '"', "&a", "*a", "!!str ", "\t", "..", "?", "|", ">", ",", "\u0000") });
    fc.assert(
      fc.property(fc.nat(texts.length - 1), fc.array(edit, { minLength: 1, maxLength: 3 }), (i, edits) => {
        let t = texts[i]!;
        for (const e of edits) {
          const at = e.at % (t.length + 1);
          t = t.slice(0, at) + e.insert + t.slice(at + e.len);
        }
        check(t);
      }),
      { numRuns: 1500, seed: 42 },
    );
  });

  it("mutated profiles files: a RunSpec or a ConfigError", () => {
    const profileTexts = ["profiles:\n  - name: a\n    default: true\n    spot_policy: spot\n    retry_policy: {limit: 30min}\n    resources: {gpu: {name: T4}, memory: 24GB}\n"];
    const pdir = path.join(sharedConfigs, "profiles");
    if (fs.existsSync(pdir)) for (const f of fs.readdirSync(pdir)) profileTexts.push(fs.readFileSync(path.join(pdir, f), "utf8"));
    const profileObjects = profileTexts.map((t) => parse(t) as unknown);
    fs.mkdirSync(path.join(dir, ".dstack"), { recursive: true });
    const profilesFile = path.join(dir, ".dstack", "profiles.yml");
    try {
      fc.assert(
        fc.property(fc.nat(profileObjects.length - 1), fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.option(fc.constantFrom("a", "gpu", "large", "nope"), { nil: undefined }), (i, muts, profile) => {
          fs.writeFileSync(profilesFile, stringify(mutate(profileObjects[i], muts)));
          fs.writeFileSync(file, "type: task\ncommands: [x]\n");
          try {
            loadConfiguration({ dir, env, profile });
          } catch (e) {
            if (!(e instanceof ConfigError)) throw e;
            for (const d of e.diagnostics) expect(d.code).toMatch(/^E1\d{3}$/);
          }
        }),
        { numRuns: 800, seed: 99 },
      );
    } finally {
      fs.rmSync(path.join(dir, ".dstack"), { recursive: true, force: true });
    }
  });

  it("random flags never crash", () => {
    fs.writeFileSync(file, "type: task\ncommands: [x]\n");
    const flag = fc.option(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("A100", "1..", "off", "2h", "-1", "0", "spot", "8GB..", "x86:4")), { nil: undefined });
    fc.assert(
      fc.property(fc.record({ gpu: flag, cpu: flag, memory: flag, disk: flag, max_price: flag, max_duration: flag, spot_policy: flag, retry_duration: flag, name: flag }), (flags) => {
        try {
          loadConfiguration({ dir, env, flags });
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
        }
      }),
      { numRuns: 1000, seed: 7 },
    );
  });
});
