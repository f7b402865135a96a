/**
 * Schema validation with the precompiled ajv validators, and the translation of ajv's errors
 * into positioned diagnostics: unknown keys with "did you mean", wrong types with what was
 * expected (taken from the schema's own descriptions), enums with the allowed values.
 */
import type { Diagnostic } from "../../diagnostics";
import type { Path, YamlSource } from "../source";
import { formatPath } from "../source";
import { closest } from "../suggest";
import { configurationSchema, profilesSchema, type JsonSchema } from "./definitions";

interface AjvError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}
type Validator = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

interface Validators {
  devEnvironment: Validator;
  task: Validator;
  volume: Validator;
  profiles: Validator;
}

let validators: Validators | undefined;
function loadValidators(): Validators {
  // lazy: 234 KB of generated CommonJS (~10 ms to load), needed only once a document is validated
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the generated file is a CommonJS script, not an ES module
  return (validators ??= require("./validators.generated") as Validators);
}

export type SchemaKind = keyof Validators;

const ROOTS: Record<SchemaKind, { doc: "configuration" | "profiles"; def?: string }> = {
  devEnvironment: { doc: "configuration", def: "DevEnvironmentConfiguration" },
  task: { doc: "configuration", def: "TaskConfiguration" },
  volume: { doc: "configuration", def: "VolumeConfiguration" },
  profiles: { doc: "profiles" },
};

let schemaDocs: { configuration: JsonSchema; profiles: JsonSchema } | undefined;
function docs(): { configuration: JsonSchema; profiles: JsonSchema } {
  return (schemaDocs ??= { configuration: configurationSchema(), profiles: profilesSchema() });
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function deref(doc: JsonSchema, s: unknown): JsonSchema | undefined {
  let cur = s;
  for (let i = 0; i < 10 && isObj(cur) && typeof cur.$ref === "string"; i++) {
    const m = /^#\/definitions\/(.+)$/.exec(cur.$ref);
    const defs = doc.definitions as Record<string, JsonSchema>;
    const target: JsonSchema | undefined = m ? defs[m[1]!] : undefined;
    // keep a local description over the referenced one
    cur = target ? { ...target, ...(typeof cur.description === "string" ? { description: cur.description } : {}) } : undefined;
  }
  return isObj(cur) ? (cur as JsonSchema) : undefined;
}

/** The (dereferenced) sub-schema that describes the value at `path`. */
function schemaAt(kind: SchemaKind, path: Path, data: unknown): JsonSchema | undefined {
  const root = ROOTS[kind];
  const doc = docs()[root.doc];
  let s = deref(doc, root.def ? { $ref: `#/definitions/${root.def}` } : doc);
  let value = data;
  for (const seg of path) {
    if (!s) return undefined;
    if (Array.isArray(value) && typeof seg === "number") {
      s = deref(doc, s.items);
      value = value[seg];
    } else {
      const props = s.properties as Record<string, unknown> | undefined;
      s = deref(doc, props?.[String(seg)] ?? (isObj(s.additionalProperties) ? s.additionalProperties : undefined));
      value = isObj(value) ? value[String(seg)] : undefined;
    }
  }
  return s;
}

function toPath(instancePath: string, data: unknown): (string | number)[] {
  if (!instancePath) return [];
  const out: (string | number)[] = [];
  let value = data;
  for (const raw of instancePath.slice(1).split("/")) {
    const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(value)) {
      out.push(Number(seg));
      value = value[Number(seg)];
    } else {
      out.push(seg);
      value = isObj(value) ? value[seg] : undefined;
    }
  }
  return out;
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `the string ${JSON.stringify(v)}`;
  if (typeof v === "number") return Number.isInteger(v) ? `the integer ${v}` : `the number ${v}`;
  return `${typeof v} ${String(v)}`;
}

const TYPE_WORDS: Record<string, string> = {
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "true or false",
  array: "a list",
  object: "a mapping",
  null: "nothing (null)",
};

function valueAt(data: unknown, path: Path): unknown {
  let v = data;
  for (const seg of path) {
    if (Array.isArray(v) && typeof seg === "number") v = v[seg];
    else if (isObj(v)) v = v[String(seg)];
    else return undefined;
  }
  return v;
}

/** A sensible sentence of the allowed keys at a place, for hints. */
function allowedKeys(s: JsonSchema | undefined): string[] {
  const props = s?.properties;
  return isObj(props) ? Object.keys(props).filter((k) => k !== "type") : [];
}

const RESOURCE_KEYS = ["cpu", "memory", "shm_size", "gpu", "disk"];

export interface ValidationResult {
  diagnostics: Diagnostic[];
  /** Paths (formatted) at which the schema reported a problem; later checks skip them. */
  badPaths: Set<string>;
}

/** Validates `data` against a schema and returns positioned diagnostics. */
export function validateSchema(kind: SchemaKind, data: unknown, source: YamlSource): ValidationResult {
  const validate = loadValidators()[kind];
  const badPaths = new Set<string>();
  if (validate(data)) return { diagnostics: [], badPaths };
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  const errors = validate.errors ?? [];
  for (const e of errors) {
    const path = toPath(e.instancePath, data);
    const where = formatPath(path);
    const d = explain(kind, e, path, data, source);
    if (!d) continue;
    const key = `${d.line}:${d.col}:${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    // later checks say nothing more about a value the schema rejected (an unknown key's value,
    // a wrong type, a bad enum); a missing key or an unknown sibling leaves the rest checkable
    if (e.keyword === "additionalProperties") badPaths.add(formatPath([...path, String(e.params.additionalProperty)]));
    else if (e.keyword !== "required") badPaths.add(where);
    diagnostics.push(d);
  }
  return { diagnostics, badPaths };
}

function explain(kind: SchemaKind, e: AjvError, path: Path, data: unknown, source: YamlSource): Diagnostic | undefined {
  const where = formatPath(path);
  const value = valueAt(data, path);
  const here = schemaAt(kind, path, data);
  const label = path.length ? `${where}` : "the configuration";
  switch (e.keyword) {
    case "additionalProperties": {
      const key = String(e.params.additionalProperty);
      const keyPath = [...path, key];
      const allowed = allowedKeys(here);
      const guess = closest(key, allowed);
      let hint: string | undefined;
      if (guess) hint = `did you mean ${JSON.stringify(guess)}?`;
      if (!path.length && RESOURCE_KEYS.includes(key)) hint = `${key} belongs under resources: indent it below a \`resources:\` key`;
      else if (!guess && allowed.length) hint = `allowed here: ${allowed.join(", ")}`;
      return source.diagnostic(keyPath, { code: "E1010", message: `unknown property ${JSON.stringify(key)}${path.length ? ` in ${where}` : ""}`, hint }, { key: true });
    }
    case "type": {
      const types = ([] as unknown[]).concat(e.params.type as unknown).map(String);
      const expected = typeof here?.description === "string" && types.length > 1 ? here.description : types.map((t) => TYPE_WORDS[t] ?? t).join(" or ");
      const yaml11 = types.includes("boolean") && typeof value === "string" && /^(yes|no|on|off|y|n)$/i.test(value);
      return source.diagnostic(path, {
        code: "E1011",
        message: `${label}: expected ${expected}, got ${typeName(value)}`,
        hint: yaml11 ? `YAML 1.2 reads ${value} as a string: write ${/^(yes|on|y)$/i.test(value) ? "true" : "false"}` : undefined,
      });
    }
    case "enum":
    case "const": {
      const allowed = ((e.params.allowedValues as unknown[] | undefined) ?? [e.params.allowedValue]).filter((v) => v !== null).map(String);
      const guess = typeof value === "string" ? closest(value, allowed) : undefined;
      return source.diagnostic(path, {
        code: "E1012",
        message: `${label}: invalid value ${JSON.stringify(value)}; expected one of: ${allowed.join(", ")}`,
        hint: guess ? `did you mean ${JSON.stringify(guess)}?` : undefined,
      });
    }
    case "required": {
      const missing = String(e.params.missingProperty);
      return source.diagnostic(path, { code: "E1013", message: `${label}: missing required property ${JSON.stringify(missing)}`, hint: hintFor(missing) });
    }
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum": {
      const words: Record<string, string> = { minimum: "at least", maximum: "at most", exclusiveMinimum: "greater than", exclusiveMaximum: "less than" };
      return source.diagnostic(path, { code: "E1014", message: `${label}: ${JSON.stringify(value)} is out of range; must be ${words[e.keyword]} ${String(e.params.limit)}` });
    }
    case "pattern":
    case "format":
      return source.diagnostic(path, { code: "E1015", message: `${label}: invalid format ${JSON.stringify(value)}${here?.description ? `; expected ${String(here.description)}` : ""}` });
    default:
      return source.diagnostic(path, { code: "E1011", message: `${label}: ${e.message ?? "invalid value"}` });
  }
}

function hintFor(missing: string): string | undefined {
  switch (missing) {
    case "backend":
      return "a volume needs a backend, e.g. backend: local";
    case "name":
      return "give the profile a name, then select it with --profile NAME";
    case "path":
      return "a mount needs the path inside the container, e.g. path: /volume_data";
    default:
      return undefined;
  }
}
