/**
 * Which backends are configured: `local` always; cloud backends from `~/.dstack/config.yml`
 * (DSTACK_HOME/config.yml):
 *
 *   backends:
 *     - type: aws
 *       regions: [us-east-1, us-west-2]
 *     - type: lambda
 *
 * dstack's server-config shape (`projects: [{name, backends: [...]}]`) is accepted too: the
 * backends of every project count. The other keys of an entry are the backend program's
 * settings (`ssh_ingress_cidrs`, `network`, …; src/compiler/backends/cloud/settings.ts
 * validates them), except credentials, which dstack never reads.
 *
 * This is the one reader of config.yml: offers take the backends and regions from it, and
 * `dstack compile` a backend's settings.
 */
import * as fs from "fs";
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Document, type Node } from "yaml";
import { ConfigError, type Diagnostic } from "../diagnostics";
import { homePaths } from "../paths";
import { normalizeBackendName } from "./backend-names";
import { MAX_PRICE } from "../config/bounds";

export interface ConfiguredBackend {
  /** dstack backend name (`lambdalabs` is normalised to `lambda`). */
  type: string;
  /** Regions this backend may use; `null` = all. */
  regions: string[] | null;
  /** 1-based line of the entry in config.yml. */
  line?: number;
}

export interface BackendsConfig {
  /** The file read (it may not exist). */
  path: string;
  exists: boolean;
  /** Cloud backends (never `local`, which is always configured). */
  backends: ConfiguredBackend[];
}

export interface BackendsConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** The file to read (default DSTACK_HOME/config.yml). */
  path?: string;
}

/** One backend entry of config.yml as written (`local` included, the same backend possibly twice). */
interface BackendEntry {
  /** dstack backend name (normalised). */
  type: string;
  regions: string[] | null;
  line?: number;
  /** The entry's keys other than type, regions and credentials, as plain values. */
  settings: Record<string, unknown>;
}

/** Keys of a backend entry that are not program settings (never passed on). */
const NON_SETTINGS = new Set(["type", "regions", "creds", "credentials", "config_file"]);

/** Reads DSTACK_HOME/config.yml; a missing file means only `local`. Throws ConfigError (E2010/E2011) on a bad file. */
export function readBackendsConfig(opts: BackendsConfigOptions = {}): BackendsConfig {
  const { path, exists, entries } = readBackendEntries(opts);
  const backends: ConfiguredBackend[] = [];
  for (const { type: name, regions, line } of entries) {
    if (name === "local") continue;
    const existing = backends.find((b) => b.type === name);
    if (existing) {
      // the same backend in two projects: allow the union of their regions
      existing.regions = existing.regions && regions ? [...new Set([...existing.regions, ...regions])] : null;
      continue;
    }
    backends.push({ type: name, regions, line });
  }
  return { path, exists, backends };
}

/**
 * The program settings of a backend from config.yml (its first entry's keys other than type,
 * regions and credentials); `{}` when the file or the entry is absent.
 */
export function backendSettings(backend: string, opts: BackendsConfigOptions = {}): Record<string, unknown> {
  const name = normalizeBackendName(backend);
  return readBackendEntries(opts).entries.find((e) => e.type === name)?.settings ?? {};
}

function readBackendEntries(opts: BackendsConfigOptions): { path: string; exists: boolean; entries: BackendEntry[] } {
  const file = opts.path ?? homePaths(opts.env).config;
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { path: file, exists: false, entries: [] };
    throw new ConfigError({ code: "E2010", severity: "error", message: `cannot read ${file}: ${(err as Error).message}`, file });
  }
  return { path: file, exists: true, entries: parseBackendEntries(text, file) };
}

/** The backend entries of config.yml's text; throws ConfigError (E2010 bad YAML, E2011 bad entries). */
function parseBackendEntries(text: string, file: string): BackendEntry[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const at = (node: Node | null | undefined): { line?: number; col?: number } => {
    if (!node || !node.range) return {};
    const p = lc.linePos(node.range[0]);
    return { line: p.line, col: p.col };
  };
  if (doc.errors.length) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const p = e.linePos?.[0];
        return { code: "E2010", severity: "error", message: `config.yml is not valid YAML: ${e.message.split("\n")[0]}`, file, line: p?.line, col: p?.col } as Diagnostic;
      }),
    );
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ""))) return [];
  const problems: Diagnostic[] = [];
  const bad = (node: Node | null | undefined, message: string, hint?: string) =>
    problems.push({ code: "E2011", severity: "error", message, hint, file, ...at(node) });
  if (!isMap(root)) {
    bad(root, "config.yml must be a mapping", "write `backends: [{type: aws, regions: [us-east-1]}]`");
    throw new ConfigError(problems);
  }
  const lists: Node[] = [];
  const top = root.get("backends", true) as Node | undefined;
  if (top !== undefined && !(isScalar(top) && top.value === null)) lists.push(top);
  const projects = root.get("projects", true) as Node | undefined;
  if (projects !== undefined && !(isScalar(projects) && projects.value === null)) {
    if (!isSeq(projects)) bad(projects, "projects must be a list");
    else {
      for (const p of projects.items as Node[]) {
        if (!isMap(p)) continue;
        const b = p.get("backends", true) as Node | undefined;
        if (b !== undefined && !(isScalar(b) && b.value === null)) lists.push(b);
      }
    }
  }
  const entries: BackendEntry[] = [];
  for (const list of lists) {
    if (!isSeq(list)) {
      bad(list, "backends must be a list of {type, regions}", "write `backends:` followed by `- type: aws` entries");
      continue;
    }
    for (const item of list.items as Node[]) {
      if (!isMap(item)) {
        bad(item, "each backend must be a mapping with a `type`", "write `- type: aws`");
        continue;
      }
      const typeNode = item.get("type", true) as Node | undefined;
      const type = isScalar(typeNode) ? typeNode.value : undefined;
      if (typeof type !== "string" || !type.trim()) {
        bad(typeNode ?? item, "backend entry lacks a `type` (aws, gcp, azure, lambda, runpod, …)");
        continue;
      }
      const regionsNode = item.get("regions", true) as Node | undefined;
      let regions: string[] | null = null;
      if (regionsNode !== undefined && !(isScalar(regionsNode) && regionsNode.value === null)) {
        if (!isSeq(regionsNode) || !(regionsNode.items as Node[]).every((r) => isScalar(r) && typeof r.value === "string")) {
          bad(regionsNode, `regions of backend ${type} must be a list of region names`, "write `regions: [us-east-1, us-west-2]`");
          continue;
        }
        regions = (regionsNode.items as Node[]).map((r) => String((r as { value: unknown }).value));
      }
      entries.push({ type: normalizeBackendName(type), regions, line: at(item).line, settings: settingsOf(item, doc) });
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return entries;
}

function settingsOf(item: Node, doc: Document): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item.toJS(doc) as Record<string, unknown>)) if (!NON_SETTINGS.has(k)) settings[k] = v;
  return settings;
}

/**
 * The price per hour config.yml gives this machine (`- type: local` with `price: 0.8`, for a
 * shared GPU server a team charges for; default 0): what the plan, the cost guard and `audit`
 * count for local runs. Throws E2011 for anything but a number from 0 to MAX_PRICE.
 */
export function localMachinePrice(opts: BackendsConfigOptions = {}): number {
  const price = backendSettings("local", opts).price;
  if (price === undefined || price === null) return 0;
  if (typeof price !== "number" || !Number.isFinite(price) || price < 0 || price > MAX_PRICE) {
    const file = opts.path ?? homePaths(opts.env).config;
    throw new ConfigError({ code: "E2011", severity: "error", message: `the local backend's price in config.yml must be dollars per hour from 0 to ${MAX_PRICE}, not ${JSON.stringify(price)}`, hint: "write `- type: local` with `price: 0.8`", file });
  }
  return price;
}

/** The configured cloud backends' names and their region limits, as `findOffers` takes them. */
export function configuredBackends(opts: BackendsConfigOptions = {}): {
  backends: string[];
  backendRegions: Record<string, string[]>;
} {
  const cfg = readBackendsConfig(opts);
  const backendRegions: Record<string, string[]> = {};
  for (const b of cfg.backends) if (b.regions) backendRegions[b.type] = b.regions;
  return { backends: cfg.backends.map((b) => b.type), backendRegions };
}
