/**
 * The configuration front end: `.dstack.yml` + profiles.yml + CLI flags -> one validated,
 * merged, normalized RunSpec (or VolumeSpec). Synchronous and side-effect free apart from
 * reading files (and, once per machine, asking `python3` its version; see python.ts).
 *
 *   loadRunSpec({ dir, file, profile, flags, env, cwd }) -> RunSpec | throws ConfigError
 */
import * as fs from "fs";
import * as path from "path";
import { ConfigError, type Diagnostic } from "../diagnostics";
import type { RunFlags } from "./flags";
import { Issues } from "./issues";
import { normalizeRun, normalizeVolume } from "./normalize";
import { selectProfile } from "./profiles";
import type { RunSpec, VolumeSpec } from "./runspec";
import { NOT_SUPPORTED_TYPES } from "./schema/definitions";
import { validateSchema } from "./schema/validate";
import { YamlSource } from "./source";
import { closest } from "./suggest";

export type { RunFlags } from "./flags";
export * from "./grammar";
export { closest, levenshtein } from "./suggest";
export { generatedRunName, repoIdOf } from "./names";
export { localPythonVersion } from "./python";
export { profilesPath, readProfilesFile } from "./profiles";
export { YamlSource, formatPath } from "./source";
export { WORKFLOW_DIR } from "./normalize";

export interface LoadOptions {
  /** `-f FILE`: the configuration file (relative to cwd). */
  file?: string;
  /** `[DIR]`: the working directory whose contents the run gets at /workflow (default cwd). */
  dir?: string;
  /** `--profile NAME`; `null` = `--no-profile`; `undefined` = DSTACK_PROFILE or the default profile. */
  profile?: string | null;
  flags?: RunFlags;
  /** The caller's environment (env values, DSTACK_PROFILE, DSTACK_HOME). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Default process.cwd(). */
  cwd?: string;
}

const RUN_TYPES = ["dev-environment", "task"];
const KNOWN_TYPES = [...RUN_TYPES, "volume", ...NOT_SUPPORTED_TYPES];

const fail = (d: Diagnostic | Diagnostic[]): never => {
  throw new ConfigError(d);
};

/** Whether a file name is a dstack configuration (`.dstack.yml`, `train.dstack.yml`, also `.yaml`). */
export function isConfigurationFileName(name: string): boolean {
  return /(^|\.)dstack\.ya?ml$/.test(name) && name !== "dstack.yml" && name !== "dstack.yaml";
}

/**
 * The configuration file to use: `-f FILE` (relative to cwd), or the one `*.dstack.yml` in the
 * working directory. Zero or several candidates are errors listing what was found.
 */
export function findConfigurationFile(opts: { file?: string; dir?: string; cwd?: string }): { file: string; repoDir: string } {
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const repoDir = path.resolve(cwd, opts.dir ?? ".");
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(repoDir);
  } catch {
    st = undefined;
  }
  if (!st) fail({ code: "E1073", severity: "error", message: `the working directory ${repoDir} does not exist`, hint: "pass an existing directory as DIR" });
  if (!st!.isDirectory()) {
    const hint = isConfigurationFileName(path.basename(repoDir)) ? `to use this file, write -f ${opts.dir}` : "DIR is the directory whose contents the run gets at /workflow";
    fail({ code: "E1073", severity: "error", message: `${repoDir} is not a directory`, hint });
  }
  if (opts.file !== undefined) {
    const file = path.resolve(cwd, opts.file);
    if (!fs.existsSync(file)) fail({ code: "E1072", severity: "error", message: `configuration file ${opts.file} not found`, hint: `looked at ${file}` });
    if (fs.statSync(file).isDirectory()) fail({ code: "E1072", severity: "error", message: `${opts.file} is a directory, not a configuration file`, hint: "pass the directory as DIR, or -f DIR/.dstack.yml" });
    return { file, repoDir };
  }
  const candidates = fs
    .readdirSync(repoDir)
    .filter(isConfigurationFileName)
    .sort();
  if (candidates.length === 1) return { file: path.join(repoDir, candidates[0]!), repoDir };
  if (!candidates.length) {
    fail({ code: "E1070", severity: "error", message: `no configuration file in ${repoDir}`, hint: "create .dstack.yml (or NAME.dstack.yml) there, or pick a file with -f FILE" });
  }
  return fail({
    code: "E1071",
    severity: "error",
    message: `several configuration files in ${repoDir}: ${candidates.join(", ")}`,
    hint: `pick one with -f, e.g. -f ${path.relative(cwd, path.join(repoDir, candidates[0]!)) || candidates[0]}`,
  });
}

interface Parsed {
  source: YamlSource;
  value: Record<string, unknown>;
  type: string;
}

/** Reads a configuration file and checks its `type`; throws ConfigError for syntax errors and bad types. */
export function readConfiguration(file: string): Parsed {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    return fail({ code: "E1072", severity: "error", message: `cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`, file });
  }
  const source = new YamlSource(file, text);
  if (source.syntaxErrors.length) fail(source.syntaxErrors);
  const value = source.value;
  if (value === null || value === undefined) {
    fail({ code: "E1002", severity: "error", message: "the configuration file is empty", hint: "start with `type: dev-environment` or `type: task`", file, line: 1, col: 1 });
  }
  if (typeof value !== "object" || Array.isArray(value)) {
    fail(source.diagnostic([], { code: "E1002", message: "the configuration must be a mapping of properties (key: value)", hint: "start with `type: dev-environment` or `type: task`" }));
  }
  const obj = value as Record<string, unknown>;
  const type = obj.type;
  if (type === undefined || type === null) {
    fail(source.diagnostic([], { code: "E1003", message: "missing property \"type\"", hint: "add `type: dev-environment` or `type: task` (or `type: volume`)" }));
  }
  if (typeof type !== "string" || !KNOWN_TYPES.includes(type)) {
    const guess = typeof type === "string" ? closest(type, KNOWN_TYPES) : undefined;
    fail(
      source.diagnostic(["type"], {
        code: "E1003",
        message: `unknown configuration type ${JSON.stringify(type)}; expected one of: ${KNOWN_TYPES.join(", ")}`,
        hint: guess ? `did you mean ${JSON.stringify(guess)}?` : undefined,
      }),
    );
  }
  if (NOT_SUPPORTED_TYPES.includes(type as string)) {
    fail(source.diagnostic(["type"], { code: "E1004", message: `type ${type as string} is not supported yet`, hint: "supported types: dev-environment, task, volume" }));
  }
  return { source, value: obj, type: type as string };
}

function resolvePaths(opts: LoadOptions): { file: string; repoDir: string } {
  return findConfigurationFile({ file: opts.file, dir: opts.dir, cwd: opts.cwd });
}

function runSpecFrom(parsed: Parsed, repoDir: string, opts: LoadOptions): RunSpec {
  const env = opts.env ?? process.env;
  const kind = parsed.type === "task" ? "task" : "devEnvironment";
  const { diagnostics, badPaths } = validateSchema(kind, parsed.value, parsed.source);
  const issues = new Issues(parsed.source, badPaths);
  const profileDiagnostics: Diagnostic[] = [];
  const profile = selectProfile(repoDir, opts.profile, env, profileDiagnostics);
  const flagDiagnostics: Diagnostic[] = [];
  const spec = normalizeRun(
    {
      type: parsed.type as "dev-environment" | "task",
      raw: parsed.value,
      issues,
      configurationPath: parsed.source.file,
      repoDir,
      profile,
      flags: opts.flags ?? {},
      env,
    },
    flagDiagnostics,
  );
  const all = [...diagnostics, ...issues.diagnostics, ...profileDiagnostics, ...flagDiagnostics];
  sortDiagnostics(all);
  if (all.some((d) => d.severity === "error")) fail(all);
  return spec;
}

function sortDiagnostics(list: Diagnostic[]): void {
  const fileOrder = new Map<string, number>();
  list.forEach((d) => fileOrder.has(d.file ?? "") || fileOrder.set(d.file ?? "", fileOrder.size));
  list.sort((a, b) => fileOrder.get(a.file ?? "")! - fileOrder.get(b.file ?? "")! || (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
}

/**
 * Loads a dev-environment or task configuration into a RunSpec. Throws `ConfigError` carrying
 * every diagnostic found (the configuration, the profile and the flags, together).
 */
export function loadRunSpec(opts: LoadOptions = {}): RunSpec {
  const { file, repoDir } = resolvePaths(opts);
  const parsed = readConfiguration(file);
  if (!RUN_TYPES.includes(parsed.type)) {
    fail(parsed.source.diagnostic(["type"], { code: "E1099", message: `this is a ${parsed.type} configuration, not a run`, hint: "runs are type: dev-environment or type: task" }));
  }
  return runSpecFrom(parsed, repoDir, opts);
}

/** Loads any supported configuration: a RunSpec for runs, a VolumeSpec for `type: volume`. */
export function loadConfiguration(opts: LoadOptions = {}): RunSpec | VolumeSpec {
  const { file, repoDir } = resolvePaths(opts);
  const parsed = readConfiguration(file);
  if (parsed.type !== "volume") return runSpecFrom(parsed, repoDir, opts);
  const { diagnostics, badPaths } = validateSchema("volume", parsed.value, parsed.source);
  const issues = new Issues(parsed.source, badPaths);
  const spec = normalizeVolume(parsed.value, issues, file, repoDir);
  const all = [...diagnostics, ...issues.diagnostics];
  sortDiagnostics(all);
  if (all.length) fail(all);
  return spec;
}

/**
 * Diagnostics (E1100) for the properties of a RunSpec that no backend honours yet
 * (`spec.unsupported`), for `dstack up` to report (as errors, or as warnings with
 * `severity: "warning"`) uniformly, positioned at the property in the configuration.
 */
export function unsupportedDiagnostics(spec: RunSpec, severity: Diagnostic["severity"] = "error"): Diagnostic[] {
  return spec.unsupported.map((u) => ({
    code: "E1100",
    severity,
    message: `${u.property} is not supported yet${u.reason ? `: ${u.reason}` : ""}`,
    hint: "remove it from the configuration to run here; `dstack config` still shows it",
    file: spec.configuration_path,
    ...(u.line ? { line: u.line, col: u.col } : {}),
  }));
}
