/**
 * From a schema-valid configuration mapping (plus the profile and CLI layers) to the RunSpec:
 * every grammar parsed, every default resolved, every cross-property rule checked. Each
 * problem becomes a positioned diagnostic; nothing here throws on bad input.
 */
import * as path from "path";
import type { Diagnostic } from "../diagnostics";
import type { MountSpec, PortSpec, RegistryAuth, RunSpec, RunSpecBase, VolumeSpec } from "./runspec";
import type { RunFlags } from "./flags";
import { BOUND_CODE, MAX_NODES } from "./bounds";
import { parseMemory, parseOffDuration } from "./grammar";
import { Issues } from "./issues";
import { mergeLayers, readFlagLayer, readLayer, readResources, resourcesOf, type Layer } from "./layer";
import { generatedRunName, repoIdOf, RESOURCE_NAME_RE } from "./names";
import { localPythonVersion } from "./python";
import { PYTHON_VERSIONS } from "./schema/definitions";
import { formatPath, type Path } from "./source";

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const given = (v: unknown): boolean => v !== undefined && v !== null;
const posix = path.posix;

export const WORKFLOW_DIR = "/workflow";
const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const INTERP_RE = /\$\{\{\s*([^}]*?)\s*\}\}/g;

export interface NormalizeInput {
  type: "dev-environment" | "task";
  raw: Record<string, unknown>;
  issues: Issues;
  configurationPath: string;
  repoDir: string;
  profile: { name: string | null; path: string | null; layer: Layer };
  flags: RunFlags;
  env: NodeJS.ProcessEnv;
}

type Unsupported = RunSpecBase["unsupported"];

function unsupported(list: Unsupported, issues: Issues, property: string, p: Path, reason: string): void {
  const pos = issues.source?.locate(p, { key: true });
  const entry: Unsupported[number] & { reason: string } = { property, ...(pos ? { line: pos.line, col: pos.col } : {}), reason };
  if (!list.some((u) => u.property === property)) list.push(entry);
}

// ---------------------------------------------------------------------------------------------
// env
// ---------------------------------------------------------------------------------------------

interface EnvResult {
  env: Record<string, string>;
  secret: string[];
  /** Where each variable was declared in the file. */
  paths: Map<string, Path>;
}

function parseCliEnv(entries: string[], diagnostics: Diagnostic[]): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (const e of entries) {
    const eq = e.indexOf("=");
    const key = eq < 0 ? e : e.slice(0, eq);
    if (!ENV_KEY_RE.test(key)) {
      diagnostics.push({ code: "E1042", severity: "error", message: `-e ${e}: invalid environment variable name ${JSON.stringify(key)}`, hint: "names are letters, digits and underscores, not starting with a digit: -e KEY=VALUE" });
      continue;
    }
    out.set(key, eq < 0 ? undefined : e.slice(eq + 1));
  }
  return out;
}

function resolveEnv(raw: unknown, issues: Issues, cliEntries: string[], callerEnv: NodeJS.ProcessEnv, flagDiagnostics: Diagnostic[]): EnvResult {
  const declared = new Map<string, { value: string | undefined; path: Path }>();
  if (Array.isArray(raw)) {
    raw.forEach((item, i) => {
      if (typeof item !== "string") return;
      const eq = item.indexOf("=");
      const key = eq < 0 ? item : item.slice(0, eq);
      if (!ENV_KEY_RE.test(key)) {
        issues.error(["env", i], "E1042", `env[${i}]: invalid environment variable name ${JSON.stringify(key)}`, "write KEY=VALUE or KEY; names are letters, digits and underscores");
        return;
      }
      if (declared.has(key)) {
        issues.error(["env", i], "E1040", `env: duplicate variable ${key}`, "each variable may be set once; remove one of them");
        return;
      }
      declared.set(key, { value: eq < 0 ? undefined : item.slice(eq + 1), path: ["env", i] });
    });
  } else if (isObj(raw)) {
    for (const [key, v] of Object.entries(raw)) {
      if (!ENV_KEY_RE.test(key)) {
        issues.error(["env", key], "E1042", `env: invalid environment variable name ${JSON.stringify(key)}`, "names are letters, digits and underscores, not starting with a digit", { key: true });
        continue;
      }
      declared.set(key, { value: v === null || v === undefined ? undefined : String(v), path: ["env", key] });
    }
  }
  const cli = parseCliEnv(cliEntries, flagDiagnostics);
  const env: Record<string, string> = {};
  const secret: string[] = [];
  for (const [key, { value, path: p }] of declared) {
    const fromCli = cli.get(key);
    if (fromCli !== undefined) {
      env[key] = fromCli;
      secret.push(key);
    } else if (value !== undefined) {
      env[key] = value;
    } else if (callerEnv[key] !== undefined) {
      env[key] = callerEnv[key]!;
      secret.push(key);
    } else {
      issues.error(p, "E1041", `Environment variable ${key} is not set`, `pass it with -e ${key}=VALUE, export it in your shell, or give a value: ${key}=VALUE`);
    }
  }
  for (const [key, value] of cli) {
    if (declared.has(key)) continue;
    const v = value ?? callerEnv[key];
    if (v === undefined) {
      flagDiagnostics.push({ code: "E1041", severity: "error", message: `Environment variable ${key} is not set`, hint: `-e ${key} takes the value from your environment; export it, or write -e ${key}=VALUE` });
      continue;
    }
    env[key] = v;
    secret.push(key);
  }
  return { env, secret, paths: new Map([...declared].map(([k, d]) => [k, d.path])) };
}

/** Resolves `${{ env.X }}` from the run's env; `${{ secrets.X }}` is left as written (reported as unsupported). */
function interpolate(text: string, p: Path, env: Record<string, string>, issues: Issues, onSecret: () => void): string {
  return text.replace(INTERP_RE, (whole, expr: string) => {
    const m = /^(env|secrets)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(expr);
    if (!m) {
      issues.error(p, "E1043", `unknown interpolation ${whole}`, "only ${{ env.NAME }} (and ${{ secrets.NAME }} on a dstack server) are supported here");
      return whole;
    }
    if (m[1] === "secrets") {
      onSecret();
      return whole;
    }
    const v = env[m[2]!];
    if (v === undefined) {
      issues.error(p, "E1043", `${whole}: environment variable ${m[2]} is not in env`, `add ${m[2]} to env (as ${m[2]} to take it from your environment)`);
      return whole;
    }
    return v;
  });
}

// ---------------------------------------------------------------------------------------------
// ports and volumes
// ---------------------------------------------------------------------------------------------

function readPorts(raw: unknown, issues: Issues, base: Path = []): PortSpec[] {
  if (!Array.isArray(raw)) return [];
  const out: PortSpec[] = [];
  const p = [...base, "ports"];
  raw.forEach((item, i) => {
    let spec: PortSpec | undefined;
    const bad = (why: string) => issues.error([...p, i], "E1060", `ports[${i}]: ${why}`, "write 8080, \"8080:80\" (local:container), \"*:80\" or {local_port, container_port}");
    const port = (v: unknown): number | undefined => {
      const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : NaN;
      return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
    };
    if (typeof item === "number") {
      const n = port(item);
      if (n === undefined) return bad(`invalid port ${item}; ports are 1..65535`);
      spec = { container_port: n, local_port: n };
    } else if (typeof item === "string") {
      const m = /^(?:(\d+|\*):)?(\d+)$/.exec(item.trim());
      if (!m) return bad(`invalid port mapping ${JSON.stringify(item)}`);
      const c = port(m[2]);
      const l = m[1] === undefined ? c : m[1] === "*" ? 0 : port(m[1]);
      if (c === undefined || l === undefined) return bad(`invalid port mapping ${JSON.stringify(item)}; ports are 1..65535`);
      spec = { container_port: c, local_port: l };
    } else if (isObj(item)) {
      const c = port(item.container_port);
      if (c === undefined) return;
      const l = item.local_port === undefined ? c : item.local_port === null || item.local_port === 0 ? 0 : port(item.local_port);
      if (l === undefined) return bad(`invalid local_port ${JSON.stringify(item.local_port)}`);
      spec = { container_port: c, local_port: l };
    }
    if (!spec) return;
    if (out.some((o) => o.container_port === spec.container_port)) {
      return issues.error([...p, i], "E1061", `ports[${i}]: container port ${spec.container_port} is listed twice`, "list each port once");
    }
    if (spec.local_port !== 0 && out.some((o) => o.local_port === spec.local_port)) {
      return issues.error([...p, i], "E1061", `ports[${i}]: local port ${spec.local_port} is used twice`, "map it to another local port, e.g. \"8081:80\"");
    }
    out.push(spec);
  });
  return out;
}

const VOLUME_NAME_INTERP_RE = /\$\{\{\s*dstack\.[a-z_]+\s*\}\}/g;

function readVolumes(raw: unknown, issues: Issues, workingDir: string, list: Unsupported, base: Path = []): MountSpec[] {
  if (!Array.isArray(raw)) return [];
  const out: MountSpec[] = [];
  const p = [...base, "volumes"];
  raw.forEach((item, i) => {
    const at = [...p, i];
    let mount: MountSpec | undefined;
    if (typeof item === "string") {
      const idx = item.indexOf(":");
      if (idx <= 0 || idx === item.length - 1) {
        return issues.error(at, "E1050", `volumes[${i}]: invalid mount ${JSON.stringify(item)}`, "write NAME:/container/path for a volume or /host/path:/container/path for an instance path");
      }
      const left = item.slice(0, idx);
      const right = item.slice(idx + 1);
      mount = left.includes("/") || left.startsWith("~") ? { kind: "instance", instance_path: left, path: right, optional: false } : { kind: "volume", name: [left], path: right };
    } else if (isObj(item)) {
      if (given(item.name) && given(item.instance_path)) {
        return issues.error(at, "E1050", `volumes[${i}]: name and instance_path are mutually exclusive`, "a mount is either a volume (name) or an instance path (instance_path)");
      }
      if (given(item.instance_path)) {
        mount = { kind: "instance", instance_path: String(item.instance_path), path: String(item.path), optional: item.optional === true };
      } else if (given(item.name)) {
        if (item.optional !== undefined) {
          issues.error([...at, "optional"], "E1050", `volumes[${i}]: optional applies to instance paths only`, "remove optional, or mount an instance path with instance_path");
        }
        const names = Array.isArray(item.name) ? item.name.map(String) : [String(item.name)];
        if (!names.length) return issues.error([...at, "name"], "E1052", `volumes[${i}]: the name list is empty`, "give at least one volume name");
        mount = { kind: "volume", name: names, path: String(item.path) };
      } else {
        return issues.error(at, "E1050", `volumes[${i}]: a mount needs a name (a volume) or an instance_path`, "e.g. {name: my-vol, path: /volume_data}");
      }
    }
    if (!mount) return;
    const rejected = isObj(item) && item.optional !== undefined && mount.kind === "volume";
    if (mount.kind === "volume") {
      for (const name of mount.name) {
        const plain = name.replace(VOLUME_NAME_INTERP_RE, "x0");
        if (!RESOURCE_NAME_RE.test(plain)) {
          return issues.error(typeof item === "string" ? at : [...at, "name"], "E1052", `volumes[${i}]: invalid volume name ${JSON.stringify(name)}`, "volume names are 2-41 lowercase letters, digits and dashes, starting with a letter; a left side with / is an instance path");
        }
        if (plain !== name) unsupported(list, issues, "volumes.name interpolation", typeof item === "string" ? at : [...at, "name"], "${{ dstack.* }} in volume names is resolved per node on a dstack server; here the name is kept as written");
      }
    } else if (!posix.isAbsolute(mount.instance_path) && !mount.instance_path.startsWith("~")) {
      return issues.error(at, "E1050", `volumes[${i}]: the instance path ${JSON.stringify(mount.instance_path)} must be absolute`, "e.g. /mnt/data:/data");
    }
    const target = mount.path;
    if (!target) return issues.error(at, "E1054", `volumes[${i}]: the container path is empty`);
    const abs = posix.isAbsolute(target) ? posix.normalize(target) : posix.join(workingDir, target);
    if (!posix.isAbsolute(target)) {
      return issues.error(typeof item === "string" ? at : [...at, "path"], "E1054", `volumes[${i}]: the container path ${JSON.stringify(target)} must be absolute`, `e.g. ${posix.join("/", target)}`);
    }
    const norm = abs.length > 1 ? abs.replace(/\/+$/, "") : abs;
    if (norm === WORKFLOW_DIR || norm.startsWith(`${WORKFLOW_DIR}/`)) {
      return issues.error(typeof item === "string" ? at : [...at, "path"], "E1051", `volumes[${i}]: cannot mount at ${target}: ${WORKFLOW_DIR} holds the working directory`, "mount somewhere else, e.g. /volume_data");
    }
    if (out.some((m) => m.path === norm)) {
      return issues.error(at, "E1053", `volumes[${i}]: ${norm} is mounted twice`, "use a different container path for each mount");
    }
    mount.path = norm;
    if (!rejected) out.push(mount);
  });
  return out;
}

/** dstack's repo rules: at most one repo; `local_path` xor `url`; no `~user` paths. */
function readRepos(raw: unknown, issues: Issues): void {
  if (!Array.isArray(raw)) return;
  if (raw.length > 1) issues.error(["repos", 1], "E1092", "repos: at most one repo is supported", "keep one entry");
  raw.forEach((item, i) => {
    if (isObj(item)) {
      if (given(item.local_path) && given(item.url)) issues.error(["repos", i], "E1092", `repos[${i}]: local_path and url are mutually exclusive`, "keep one of them");
      else if (!given(item.local_path) && !given(item.url)) issues.error(["repos", i], "E1092", `repos[${i}]: give local_path or url`, "e.g. {local_path: .., path: /my-repo}");
      if (typeof item.path === "string" && /^~[^/]/.test(item.path)) issues.error(["repos", i, "path"], "E1092", `repos[${i}]: ~user paths are not supported`, "use ~/… or an absolute path");
    } else if (typeof item === "string" && !item.trim()) {
      issues.error(["repos", i], "E1092", `repos[${i}] is empty`, "a path (.., ..:/my-repo) or a Git URL");
    }
  });
}

/** dstack's file mappings: `local[:container]` (a Windows drive letter is not a separator) or {local_path, path}. */
function readFiles(raw: unknown, issues: Issues): void {
  if (!Array.isArray(raw)) return;
  raw.forEach((item, i) => {
    if (typeof item !== "string") return;
    const text = item.trim();
    const rest = /^[A-Za-z]:[\\/]/.test(text) ? text.slice(2) : text;
    const parts = rest.split(":");
    if (!text || parts.length > 2 || parts.some((x) => !x)) {
      issues.error(["files", i], "E1093", `files[${i}]: invalid file mapping ${JSON.stringify(item)}`, "write local_path or local_path:container_path, e.g. train.py or ~/.ssh/id_rsa:/root/.ssh/id_rsa");
    }
  });
}

// ---------------------------------------------------------------------------------------------
// the run spec
// ---------------------------------------------------------------------------------------------

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

function pythonVersion(raw: unknown, issues: Issues): string | null | undefined {
  if (raw === undefined || raw === null) return undefined;
  let v: string;
  if (typeof raw === "number") {
    // a YAML float 3.10 reads as 3.1: prefer the text as written, and read 3.1 as 3.10 (dstack's rule)
    v = issues.source?.scalarSource(["python"]) ?? String(raw);
    if (!PYTHON_VERSIONS.includes(v)) v = String(raw);
    if (v === "3.1") v = "3.10";
  } else if (typeof raw === "string") {
    v = raw.trim();
  } else {
    return undefined;
  }
  if (!PYTHON_VERSIONS.includes(v)) {
    issues.error(["python"], "E1032", `python: unsupported version ${JSON.stringify(v)}; expected one of: ${PYTHON_VERSIONS.join(", ")}`, "quote it to keep YAML from reading it as a number: python: \"3.11\"");
    return null;
  }
  return v;
}

/** `nodes` (schema: an integer ≥ 1) at most MAX_NODES. */
function checkNodes(v: unknown, issues: Issues, p: Path): void {
  if (typeof v === "number" && v > MAX_NODES) {
    issues.error(p, BOUND_CODE, `${formatPath(p)}: ${v} is too many nodes: expected at most ${MAX_NODES}`, `write nodes: ${MAX_NODES} or fewer`);
  }
}

export function normalizeRun(input: NormalizeInput, flagDiagnostics: Diagnostic[]): RunSpec {
  const { raw, issues, type } = input;
  const list: Unsupported = [];

  // cross-property rules (dstack's)
  const image = typeof raw.image === "string" ? raw.image : null;
  const docker = typeof raw.docker === "boolean" ? raw.docker : null;
  const nvcc = raw.nvcc === true;
  let python = pythonVersion(raw.python, issues);
  if (image !== null && python) issues.error(["python"], "E1030", "image and python are mutually exclusive", "drop python (the image brings its own), or drop image");
  if (docker === true && image !== null) issues.error(["docker"], "E1030", "image and docker are mutually exclusive", "docker: true runs dstack's Docker-in-Docker image; drop one of them");
  if (docker === true && python) issues.error(["docker"], "E1030", "python and docker are mutually exclusive", "drop one of them");
  if (docker === true && nvcc) issues.error(["docker"], "E1030", "nvcc and docker are mutually exclusive", "drop one of them");
  if (image !== null && nvcc) issues.error(["nvcc"], "E1030", "image and nvcc are mutually exclusive", "nvcc selects dstack's base image with the CUDA compiler; drop it when you bring an image");
  const pythonDefaulted = (python === undefined || python === null) && image === null && docker !== true;
  if (python === undefined || python === null) python = pythonDefaulted ? localPythonVersion(input.env) : null;
  if (image !== null || docker === true) python = null;

  // name
  const flagName = input.flags.name;
  let name: string | undefined = flagName ?? (typeof raw.name === "string" ? raw.name : undefined);
  if (name !== undefined && !RESOURCE_NAME_RE.test(name)) {
    const msg = `invalid run name ${JSON.stringify(name)}`;
    const hint = "run names are 2-41 lowercase letters, digits and dashes, starting with a letter";
    if (flagName !== undefined) flagDiagnostics.push({ code: "E1034", severity: "error", message: `--name: ${msg}`, hint });
    else issues.error(["name"], "E1034", msg, hint);
    name = undefined;
  }
  const nameGenerated = name === undefined;
  const runName = name ?? generatedRunName(input.repoDir, input.configurationPath);

  // working dir, shell, user, entrypoint
  let workingDir = WORKFLOW_DIR;
  if (typeof raw.working_dir === "string") {
    if (!posix.isAbsolute(raw.working_dir)) {
      issues.error(["working_dir"], "E1035", `working_dir must be an absolute path, got ${JSON.stringify(raw.working_dir)}`, `e.g. ${posix.join(WORKFLOW_DIR, raw.working_dir)}`);
    } else workingDir = posix.normalize(raw.working_dir);
  }
  const shell = typeof raw.shell === "string" ? raw.shell : null;
  if (shell !== null && shell !== "sh" && shell !== "bash" && !posix.isAbsolute(shell)) {
    issues.error(["shell"], "E1036", `invalid shell ${JSON.stringify(shell)}`, "use sh, bash, or an absolute path such as /usr/bin/zsh");
  }
  const user = typeof raw.user === "string" ? raw.user : typeof raw.user === "number" ? String(raw.user) : null;
  if (user !== null && !/^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/.test(user)) {
    issues.error(["user"], "E1037", `invalid user ${JSON.stringify(user)}`, "write user_name_or_id[:group_name_or_id], e.g. ubuntu or 1000:1000");
  }
  const entrypoint = typeof raw.entrypoint === "string" ? raw.entrypoint : null;
  if (type === "dev-environment" && raw.ide === "windsurf" && typeof raw.version === "string" && !/^.+@[a-f0-9]+$/.test(raw.version)) {
    issues.error(["version"], "E1039", `invalid Windsurf version ${JSON.stringify(raw.version)}`, "write version@commit, e.g. 1.106.0@8951cd3ad688e789573d7f51750d67ae4a0bea7d");
  }
  if (type === "dev-environment" && entrypoint !== null) issues.error(["entrypoint"], "E1038", "entrypoint is not supported for dev environments", "remove entrypoint; use init for commands run before the IDE starts");

  // env and registry_auth
  const { env, secret, paths: envPaths } = resolveEnv(raw.env, issues, input.flags.env ?? [], input.env, flagDiagnostics);
  Object.entries(env).forEach(([k, v]) => {
    if (/\$\{\{\s*secrets\./.test(v)) unsupported(list, issues, `env.${k}`, envPaths.get(k) ?? ["env"], "${{ secrets.* }} is resolved by a dstack server; the value is kept as written");
  });
  let registryAuth: RegistryAuth | null = null;
  if (isObj(raw.registry_auth) && typeof raw.registry_auth.username === "string" && typeof raw.registry_auth.password === "string") {
    const onSecret = () => unsupported(list, issues, "registry_auth", ["registry_auth"], "${{ secrets.* }} is resolved by a dstack server; set the value with ${{ env.NAME }} instead");
    registryAuth = {
      username: interpolate(raw.registry_auth.username, ["registry_auth", "username"], env, issues, onSecret),
      password: interpolate(raw.registry_auth.password, ["registry_auth", "password"], env, issues, onSecret),
    };
  }

  // profile-level properties
  const confLayer = readLayer(raw, issues, []);
  const lowerRetry = confLayer.retry ?? input.profile.layer.retry;
  const cliLayer = readFlagLayer(input.flags, flagDiagnostics, lowerRetry);
  const merged = mergeLayers(type, { cli: cliLayer, configuration: confLayer, profile: input.profile.layer });
  const v = merged.values;

  const ports = readPorts(raw.ports, issues);
  const volumes = readVolumes(raw.volumes, issues, workingDir, list);
  const commands = strings(raw.commands);

  // properties accepted and validated, but not honoured by any backend yet
  const un = (key: string, reason: string, cond = true) => {
    if (cond && key in raw && raw[key] !== null && raw[key] !== undefined) unsupported(list, issues, key, [key], reason);
  };
  un("repos", "Git repos are not cloned; the working directory DIR is copied to /workflow instead", strings(raw.repos).length + (Array.isArray(raw.repos) ? raw.repos.length : 0) > 0);
  un("files", "file mappings are not copied yet; put the files in the working directory", Array.isArray(raw.files) && raw.files.length > 0);
  un("groups", "node groups (multi-node tasks) are not supported yet");
  un("startup_order", "multi-node start order is not supported yet");
  un("stop_criteria", "multi-node stop criteria are not supported yet");
  un("schedule", "scheduled runs are not supported yet");
  un("utilization_policy", "GPU-utilization termination is not supported yet");
  un("fleets", "fleets are not supported yet");
  un("reservation", "capacity reservations are not supported yet");
  un("instances", "pinning runs to instances is not supported yet");
  un("dstack", "installing the dstack CLI in the container is not supported yet", raw.dstack === true);
  un("availability_zones", "availability zones are not honoured yet");
  // lifecycle properties no backend honours (docs/lifecycle.md): an instance ends with its run here
  const idle = "there is no pool of idle instances: a run's instance is removed when the run ends";
  un("idle_duration", idle);
  un("termination_idle_time", idle);
  un("termination_policy", idle);
  un("creation_policy", "there are no existing instances to reuse: every run gets a new instance (reuse-or-create)", raw.creation_policy === "reuse");
  // the same properties set by the profile (positioned at the profile's name)
  const fromProfile = (key: string, why: string, cond: boolean) => {
    if (cond && merged.sources[key] === "profile" && !list.some((u) => u.property === key)) {
      list.push({ property: key, reason: `set by profile ${input.profile.name ?? "?"} in ${input.profile.path ?? "profiles.yml"}: ${why}` });
    }
  };
  fromProfile("idle_duration", idle, v.idle_duration !== null);
  fromProfile("creation_policy", "there are no existing instances to reuse", v.creation_policy === "reuse");
  fromProfile("schedule", "scheduled runs are not supported yet", v.schedule !== null);
  fromProfile("utilization_policy", "GPU-utilization termination is not supported yet", v.utilization_policy !== null);
  readRepos(raw.repos, issues);
  readFiles(raw.files, issues);
  if (Array.isArray(raw.groups)) {
    raw.groups.forEach((g, i) => {
      if (!isObj(g)) return;
      checkNodes(g.nodes, issues, ["groups", i, "nodes"]);
      readResources(g.resources, issues, ["groups", i, "resources"], {});
      readPorts(g.ports, issues, ["groups", i]);
      readVolumes(g.volumes, issues, workingDir, list, ["groups", i]);
      if (g.python !== undefined && g.python !== null && g.image !== undefined) issues.error(["groups", i, "python"], "E1030", "image and python are mutually exclusive", "drop one of them");
    });
  }
  checkNodes(raw.nodes, issues, ["nodes"]);
  const nodes = typeof raw.nodes === "number" ? raw.nodes : 1;
  if (type === "task" && nodes > 1) unsupported(list, issues, "nodes", ["nodes"], `only single-node tasks can run for now (nodes: ${nodes})`);

  if (type === "task" && !commands.length && image === null && !(Array.isArray(raw.groups) && raw.groups.length) && !issues.isBad(["commands"])) {
    issues.error(Array.isArray(raw.commands) ? ["commands"] : ["type"], "E1031", "a task needs commands (or an image with its own entrypoint)", "add commands: [...], or set image");
  }

  list.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
  const priority = typeof raw.priority === "number" ? raw.priority : 0;
  const base: RunSpecBase = {
    configuration_path: input.configurationPath,
    repo_dir: input.repoDir,
    repo_id: repoIdOf(input.repoDir),
    name: runName,
    name_generated: nameGenerated,
    image,
    python,
    python_defaulted: pythonDefaulted,
    nvcc,
    registry_auth: registryAuth,
    working_dir: workingDir,
    shell,
    user,
    privileged: raw.privileged === true || docker === true,
    entrypoint,
    docker,
    env,
    secret_env: secret,
    ports,
    volumes,
    resources: resourcesOf(v),
    build: strings(raw.build),
    setup: strings(raw.setup),
    init: strings(raw.init),
    spot_policy: v.spot_policy,
    retry: v.retry,
    max_duration: v.max_duration,
    max_price: v.max_price,
    max_cost: v.max_cost,
    backends: v.backends,
    regions: v.regions,
    availability_zones: v.availability_zones,
    instance_types: v.instance_types,
    idle_duration: v.idle_duration,
    stop_duration: v.stop_duration,
    creation_policy: v.creation_policy,
    fleets: v.fleets,
    tags: v.tags,
    reservation: v.reservation,
    priority,
    utilization_policy: v.utilization_policy,
    schedule: v.schedule,
    build_missing: input.flags.build === true || input.flags.force_build === true,
    force_build: input.flags.force_build === true,
    profile: { name: input.profile.name, path: input.profile.path, sources: merged.sources },
    unsupported: list,
  };
  if (type === "dev-environment") {
    let inactivity: number | null = null;
    if (given(raw.inactivity_duration)) inactivity = issues.parse(["inactivity_duration"], "E1025", raw.inactivity_duration, (x) => parseOffDuration(x) ?? null) ?? null;
    return {
      type,
      ...base,
      ide: raw.ide === "vscode" || raw.ide === "cursor" || raw.ide === "windsurf" ? raw.ide : null,
      version: typeof raw.version === "string" ? raw.version : raw.version !== undefined && raw.version !== null ? (issues.source?.scalarSource(["version"]) ?? String(raw.version)) : null,
      inactivity_duration: inactivity,
    };
  }
  return { type, ...base, commands, nodes };
}

// ---------------------------------------------------------------------------------------------
// volumes
// ---------------------------------------------------------------------------------------------

export function normalizeVolume(raw: Record<string, unknown>, issues: Issues, configurationPath: string, repoDir: string): VolumeSpec {
  let name = typeof raw.name === "string" ? raw.name : undefined;
  if (name !== undefined && !RESOURCE_NAME_RE.test(name)) {
    issues.error(["name"], "E1052", `invalid volume name ${JSON.stringify(name)}`, "volume names are 2-41 lowercase letters, digits and dashes, starting with a letter");
    name = undefined;
  }
  let size: number | null = null;
  if (given(raw.size)) size = issues.parse(["size"], "E1021", raw.size, parseMemory) ?? null;
  if (size !== null && size <= 0) issues.error(["size"], "E1021", "size must be greater than 0", "e.g. size: 100GB");
  // (a local Docker volume has no size)
  if (size === null && !given(raw.size) && !given(raw.volume_id) && raw.backend !== "local" && !issues.isBad(["size"])) {
    issues.error(["type"], "E1095", "a new volume needs a size (or a volume_id to register an existing one)", "e.g. size: 100GB");
  }
  return {
    type: "volume",
    configuration_path: configurationPath,
    name: name ?? generatedRunName(repoDir, configurationPath),
    backend: typeof raw.backend === "string" ? raw.backend : "local",
    region: typeof raw.region === "string" ? raw.region : null,
    availability_zone: typeof raw.availability_zone === "string" ? raw.availability_zone : null,
    size,
    volume_id: typeof raw.volume_id === "string" ? raw.volume_id : null,
  };
}
