/**
 * Profiles: `.dstack/profiles.yml` in the working directory, else DSTACK_HOME/profiles.yml
 * (`~/.dstack/profiles.yml`); the two are not merged. Selection: --no-profile > --profile NAME
 * > DSTACK_PROFILE > the profile with `default: true` > none.
 */
import * as fs from "fs";
import * as path from "path";
import type { Diagnostic } from "../diagnostics";
import { homePaths } from "../paths";
import { Issues } from "./issues";
import { readLayer, type Layer } from "./layer";
import { validateSchema } from "./schema/validate";
import { YamlSource } from "./source";
import { closest } from "./suggest";

export interface ProfileSelection {
  name: string | null;
  path: string | null;
  layer: Layer;
}

/** Where profiles are read from for a working directory (the first that exists), or null. */
export function profilesPath(repoDir: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const local = path.join(repoDir, ".dstack", "profiles.yml");
  if (fs.existsSync(local)) return local;
  const home = homePaths(env).profiles;
  return fs.existsSync(home) ? home : null;
}

interface RawProfile {
  name?: unknown;
  default?: unknown;
  [k: string]: unknown;
}

export interface LoadedProfiles {
  file: string;
  source: YamlSource;
  profiles: RawProfile[];
  diagnostics: Diagnostic[];
  badPaths: Set<string>;
}

/** Parses and validates a profiles file; diagnostics are returned, not thrown. */
export function readProfilesFile(file: string): LoadedProfiles {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return { file, source: new YamlSource(file, ""), profiles: [], diagnostics: [{ code: "E1072", severity: "error", message: `cannot read the profiles file: ${message}`, file }], badPaths: new Set() };
  }
  const source = new YamlSource(file, text);
  if (source.syntaxErrors.length) return { file, source, profiles: [], diagnostics: source.syntaxErrors, badPaths: new Set() };
  const value = source.value;
  if (value === null || value === undefined) return { file, source, profiles: [], diagnostics: [], badPaths: new Set() };
  const { diagnostics, badPaths } = validateSchema("profiles", value, source);
  const list = (value as { profiles?: unknown }).profiles;
  const profiles = Array.isArray(list) ? list.filter((p): p is RawProfile => typeof p === "object" && p !== null && !Array.isArray(p)) : [];
  const issues = new Issues(source, badPaths);
  const seen = new Map<string, number>();
  profiles.forEach((p, i) => {
    if (typeof p.name !== "string") return;
    if (seen.has(p.name)) issues.error(["profiles", i, "name"], "E1082", `duplicate profile name ${JSON.stringify(p.name)}`, `profile ${seen.get(p.name)! + 1} has the same name; rename one of them`);
    else seen.set(p.name, i);
  });
  const defaults = profiles.map((p, i) => [p, i] as const).filter(([p]) => p.default === true);
  if (defaults.length > 1) {
    issues.error(["profiles", defaults[1]![1], "default"], "E1083", `several profiles have default: true (${defaults.map(([p]) => JSON.stringify(p.name)).join(", ")})`, "keep default: true on one profile only");
  }
  return { file, source, profiles, diagnostics: [...diagnostics, ...issues.diagnostics], badPaths };
}

/**
 * Selects and reads the profile for a run. `requested`: `null` = --no-profile, a string =
 * --profile NAME, `undefined` = DSTACK_PROFILE or the default profile.
 */
export function selectProfile(repoDir: string, requested: string | null | undefined, env: NodeJS.ProcessEnv, diagnostics: Diagnostic[]): ProfileSelection {
  const none: ProfileSelection = { name: null, path: null, layer: {} };
  if (requested === null) return none;
  const wanted = requested ?? (env.DSTACK_PROFILE ? env.DSTACK_PROFILE : undefined);
  const how = requested !== undefined ? "--profile" : "DSTACK_PROFILE";
  const file = profilesPath(repoDir, env);
  if (!file) {
    if (wanted !== undefined) {
      diagnostics.push({
        code: "E1080",
        severity: "error",
        message: `No such profile: ${wanted} (no profiles file)`,
        hint: `create ${path.join(repoDir, ".dstack", "profiles.yml")} or ${homePaths(env).profiles}, or drop ${how}`,
      });
    }
    return none;
  }
  const loaded = readProfilesFile(file);
  diagnostics.push(...loaded.diagnostics);
  let index: number;
  if (wanted !== undefined) {
    index = loaded.profiles.findIndex((p) => p.name === wanted);
    if (index < 0) {
      if (loaded.diagnostics.length) return none;
      const names = loaded.profiles.map((p) => String(p.name));
      const guess = closest(wanted, names);
      diagnostics.push({
        code: "E1080",
        severity: "error",
        message: `No such profile: ${wanted}`,
        hint: `${guess ? `did you mean ${guess}? ` : ""}profiles in ${file}: ${names.length ? names.join(", ") : "(none)"}`,
        file,
      });
      return none;
    }
  } else {
    index = loaded.profiles.findIndex((p) => p.default === true);
    if (index < 0) return { ...none, path: null };
  }
  const profile = loaded.profiles[index]!;
  const issues = new Issues(loaded.source, loaded.badPaths);
  const layer = readLayer(legacyResources(profile), issues, ["profiles", index]);
  diagnostics.push(...issues.diagnostics);
  return { name: String(profile.name), path: file, layer };
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A single value (24GB, 4) as opposed to a range (24GB.., 2..8, {min, max}) or a spec string (x86:8). */
const single = (v: unknown): v is number | string => typeof v === "number" || (typeof v === "string" && !v.includes("..") && !v.includes(":"));

/**
 * `resources:` in a profile is the seed-era (dstack 0.10/0.11) form: there, every single value
 * was a minimum (`memory: 24GB` = at least 24GB; likewise cpu, disk, and gpu count, memory
 * and total_memory in the gpu mapping). Such values are read as `{min: value}`, so a seed-era
 * profile means what it meant; ranges and GPU spec strings (`A10:24GB`) are read as written.
 * Paths are unchanged, so errors stay positioned in the profiles file.
 */
export function legacyResources(profile: RawProfile): RawProfile {
  const r = profile.resources;
  if (!isMap(r)) return profile;
  const out: Record<string, unknown> = { ...r };
  for (const k of ["cpu", "memory"]) if (single(out[k])) out[k] = { min: out[k] };
  if (single(out.disk)) out.disk = { size: { min: out.disk } };
  else if (isMap(out.disk) && single(out.disk.size)) out.disk = { ...out.disk, size: { min: out.disk.size } };
  if (isMap(out.gpu)) {
    const gpu: Record<string, unknown> = { ...out.gpu };
    for (const k of ["count", "memory", "total_memory"]) if (single(gpu[k])) gpu[k] = { min: gpu[k] };
    out.gpu = gpu;
  }
  return { ...profile, resources: out };
}
