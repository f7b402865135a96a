/**
 * Profile-level properties (spot_policy, retry, max_duration, resources, …) read from one
 * layer — a profile, the configuration's top level, or the CLI flags — and merged with the
 * precedence CLI flag > configuration > profile > built-in default, shallowly per key
 * (resources per sub-spec: cpu, memory, shm_size, gpu, disk).
 */
import type { CpuArch, GpuSpec, Range, ResourcesSpec, RetryEvent, RetrySpec, SpotPolicy, ValueSource } from "./runspec";
import { DEFAULT_RESOURCES } from "./runspec";
import { BOUND_CODE, MAX_COST, MAX_PRICE } from "./bounds";
import { BoundError, GrammarError, parseCpuSpec, parseDiskSpec, parseDuration, parseGpuSpec, parseMemory, parseMemoryRange, parseOffDuration } from "./grammar";
import type { Diagnostic } from "../diagnostics";
import type { RunFlags } from "./flags";
import type { Issues } from "./issues";
import type { Path } from "./source";
import { BACKENDS, RETRY_EVENTS, SPOT_POLICIES } from "./schema/definitions";
import { closest } from "./suggest";

export const ALL_RETRY_EVENTS: RetryEvent[] = ["no-capacity", "interruption", "error"];
export const DEFAULT_RETRY_DURATION = 3600;
export const DEFAULT_IDLE_DURATION = 300;
export const DEFAULT_STOP_DURATION = 300;
export const RETRY_OFF: RetrySpec = { enabled: false, on_events: [], duration: null };

export interface Layer {
  spot_policy?: SpotPolicy;
  retry?: RetrySpec;
  max_duration?: number | null;
  max_price?: number | null;
  max_cost?: number | null;
  backends?: string[] | null;
  regions?: string[] | null;
  availability_zones?: string[] | null;
  instance_types?: string[] | null;
  idle_duration?: number | null;
  stop_duration?: number | null;
  creation_policy?: "reuse" | "reuse-or-create" | null;
  fleets?: string[] | null;
  tags?: Record<string, string>;
  reservation?: string | null;
  utilization_policy?: { min_gpu_utilization: number; time_window: number } | null;
  schedule?: { cron: string[] } | null;
  "resources.cpu"?: { arch: CpuArch | null; count: Range };
  "resources.memory"?: Range;
  "resources.shm_size"?: number | null;
  "resources.gpu"?: GpuSpec;
  "resources.disk"?: { size: Range } | null;
}

export type LayerKey = keyof Layer;

export const LAYER_KEYS: LayerKey[] = [
  "spot_policy",
  "retry",
  "max_duration",
  "max_price",
  "max_cost",
  "backends",
  "regions",
  "availability_zones",
  "instance_types",
  "idle_duration",
  "stop_duration",
  "creation_policy",
  "fleets",
  "tags",
  "reservation",
  "utilization_policy",
  "schedule",
  "resources.cpu",
  "resources.memory",
  "resources.shm_size",
  "resources.gpu",
  "resources.disk",
];

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const given = (v: unknown): boolean => v !== undefined && v !== null;

function strList(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === "string") ? (v as string[]) : undefined;
}

/** Reads the resources mapping (of a configuration, a profile or a group). */
export function readResources(raw: unknown, issues: Issues, path: Path, into: Layer): void {
  if (!isObj(raw)) return;
  if (given(raw.cpu)) into["resources.cpu"] = issues.parse([...path, "cpu"], "E1023", raw.cpu, parseCpuSpec);
  if (given(raw.memory)) into["resources.memory"] = issues.parse([...path, "memory"], "E1021", raw.memory, parseMemoryRange);
  if (given(raw.shm_size)) into["resources.shm_size"] = issues.parse([...path, "shm_size"], "E1021", raw.shm_size, parseMemory);
  if (given(raw.gpu)) into["resources.gpu"] = issues.parse([...path, "gpu"], "E1022", raw.gpu, parseGpuSpec);
  if ("disk" in raw) into["resources.disk"] = raw.disk === null ? null : issues.parse([...path, "disk"], "E1024", raw.disk, parseDiskSpec);
  for (const k of LAYER_KEYS) if (k.startsWith("resources.") && k in into && into[k] === undefined) delete into[k];
}

function readRetryObject(raw: Record<string, unknown>, issues: Issues, path: Path): RetrySpec | undefined {
  let events: RetryEvent[] = ALL_RETRY_EVENTS;
  if (raw.on_events !== undefined && raw.on_events !== null) {
    const list = Array.isArray(raw.on_events) ? raw.on_events : undefined;
    if (!list) return undefined;
    if (!list.length) {
      issues.error([...path, "on_events"], "E1091", "retry.on_events is empty", `list one or more of: ${RETRY_EVENTS.join(", ")}, or use retry: false`);
      return undefined;
    }
    const uniq = [...new Set(list.map(String))];
    if (uniq.length !== list.length) {
      issues.error([...path, "on_events"], "E1091", "retry.on_events lists an event twice", "list each event once");
      return undefined;
    }
    events = uniq as RetryEvent[];
  }
  const durationRaw = raw.duration ?? raw["retry-limit"];
  const durationKey = raw.duration !== undefined ? "duration" : "retry-limit";
  let duration: number | null = DEFAULT_RETRY_DURATION;
  if (durationRaw !== undefined && durationRaw !== null) {
    const d = issues.parse([...path, durationKey], "E1025", durationRaw, parseDuration);
    if (d === undefined) return undefined;
    duration = d;
  }
  return { enabled: true, on_events: ALL_RETRY_EVENTS.filter((e) => events.includes(e)), duration };
}

function readRetry(raw: Record<string, unknown>, issues: Issues, path: Path): RetrySpec | undefined {
  const r = raw.retry;
  if (r === true) return { enabled: true, on_events: [...ALL_RETRY_EVENTS], duration: DEFAULT_RETRY_DURATION };
  if (r === false) return { ...RETRY_OFF, on_events: [] };
  if (isObj(r)) return readRetryObject(r, issues, [...path, "retry"]);
  const legacy = raw.retry_policy;
  if (isObj(legacy)) {
    // dstack's legacy retry_policy: {retry: bool, limit|duration}; a limit alone means retry
    const p = [...path, "retry_policy"];
    const limitKey = legacy.limit !== undefined ? "limit" : "duration";
    const limitRaw = legacy[limitKey];
    if (legacy.retry === false && !given(limitRaw)) return { ...RETRY_OFF, on_events: [] };
    if (legacy.retry === false) {
      issues.error([...p, limitKey], "E1091", `retry_policy: ${limitKey} is set but retry is false`, "remove the limit, or set retry: true");
      return undefined;
    }
    if (legacy.retry !== true && !given(limitRaw)) return undefined;
    let duration: number | null = DEFAULT_RETRY_DURATION;
    if (given(limitRaw)) {
      const d = issues.parse([...p, limitKey], "E1025", limitRaw, parseDuration);
      if (d === undefined) return undefined;
      duration = d;
    }
    return { enabled: true, on_events: [...ALL_RETRY_EVENTS], duration };
  }
  return undefined;
}

/** Reads the profile-level properties of one mapping (a profile or a configuration's top level). */
export function readLayer(raw: Record<string, unknown>, issues: Issues, path: Path): Layer {
  const out: Layer = {};
  if (typeof raw.spot_policy === "string") out.spot_policy = raw.spot_policy as SpotPolicy;
  const retry = readRetry(raw, issues, path);
  if (retry) out.retry = retry;
  const off = (key: "max_duration" | "stop_duration" | "idle_duration") => {
    const v = raw[key];
    if (v === undefined || v === null) return;
    const d = issues.parse([...path, key], "E1025", v, parseOffDuration);
    if (d !== undefined) out[key] = d;
  };
  off("max_duration");
  off("stop_duration");
  off("idle_duration");
  if (raw.idle_duration === undefined && given(raw.termination_idle_time)) {
    const d = issues.parse([...path, "termination_idle_time"], "E1025", raw.termination_idle_time, parseDuration);
    if (d !== undefined) out.idle_duration = d;
  }
  if (raw.idle_duration === undefined && raw.termination_policy === "dont-destroy") out.idle_duration = null;
  if (typeof raw.max_price === "number") {
    if (!Number.isFinite(raw.max_price)) issues.error([...path, "max_price"], "E1014", `max_price: ${String(raw.max_price)} is not a price`, "a positive number of dollars per hour, e.g. 0.5");
    else if (raw.max_price > MAX_PRICE) issues.error([...path, "max_price"], BOUND_CODE, `max_price: ${raw.max_price} is too high: expected at most ${MAX_PRICE} dollars per hour`, "max_price is dollars per hour per instance, e.g. 2.5");
    else out.max_price = raw.max_price;
  }
  if (typeof raw.max_cost === "number") {
    if (!Number.isFinite(raw.max_cost)) issues.error([...path, "max_cost"], "E1014", `max_cost: ${String(raw.max_cost)} is not an amount`, "dollars, e.g. 20");
    else if (raw.max_cost > MAX_COST) issues.error([...path, "max_cost"], BOUND_CODE, `max_cost: ${raw.max_cost} is too high: expected at most ${MAX_COST} dollars`, "max_cost is the most a run may cost in dollars, e.g. 20");
    else out.max_cost = raw.max_cost;
  }
  for (const key of ["backends", "regions", "availability_zones", "instance_types", "fleets"] as const) {
    const list = strList(raw[key]);
    if (list) out[key] = list;
  }
  if (typeof raw.creation_policy === "string") out.creation_policy = raw.creation_policy as "reuse" | "reuse-or-create";
  if (typeof raw.reservation === "string") out.reservation = raw.reservation;
  if (isObj(raw.tags)) {
    const tags: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw.tags)) tags[k] = String(v);
    out.tags = tags;
  }
  const up = raw.utilization_policy;
  if (isObj(up) && typeof up.min_gpu_utilization === "number" && given(up.time_window)) {
    const tw = issues.parse([...path, "utilization_policy", "time_window"], "E1025", up.time_window, parseDuration);
    if (tw !== undefined && tw < 300) {
      issues.error([...path, "utilization_policy", "time_window"], "E1025", `utilization_policy.time_window is ${tw}s; the minimum is 5m`, "use 5m or more");
    } else if (tw !== undefined) {
      out.utilization_policy = { min_gpu_utilization: up.min_gpu_utilization, time_window: tw };
    }
  }
  const sched = raw.schedule;
  if (isObj(sched) && given(sched.cron)) {
    const crons = typeof sched.cron === "string" ? [sched.cron] : strList(sched.cron);
    if (crons) {
      let ok = true;
      crons.forEach((c, i) => {
        if (c.trim().split(/\s+/).length !== 5) {
          ok = false;
          issues.error([...path, "schedule", "cron", ...(typeof sched.cron === "string" ? [] : [i])], "E1015", `schedule.cron: ${JSON.stringify(c)} is not a cron expression`, "five fields: minute hour day-of-month month day-of-week, e.g. \"0 8 * * mon-fri\"");
        }
      });
      if (ok && crons.length) out.schedule = { cron: crons };
      if (!crons.length) issues.error([...path, "schedule", "cron"], "E1015", "schedule.cron is empty", "give at least one cron expression");
    }
  }
  readResources(raw.resources, issues, [...path, "resources"], out);
  return out;
}

function flagError(issues: Diagnostic[], flag: string, e: unknown): void {
  if (e instanceof GrammarError) issues.push({ code: e instanceof BoundError ? e.code : "E1090", severity: "error", message: `${flag}: ${e.message}`, ...(e.hint ? { hint: e.hint } : {}) });
  else throw e;
}

function flagParse<T>(issues: Diagnostic[], flag: string, value: unknown, parser: (v: unknown) => T): T | undefined {
  try {
    return parser(value);
  } catch (e) {
    flagError(issues, flag, e);
    return undefined;
  }
}

/** The flags that form the CLI layer (the rest of RunFlags — name, env, build — are not layered). */
export type LayerFlags = Pick<
  RunFlags,
  "gpu" | "cpu" | "memory" | "disk" | "max_price" | "max_cost" | "max_duration" | "spot_policy" | "retry" | "retry_duration" | "backends" | "regions" | "instance_types"
>;

/** The CLI layer. `--retry`/`--retry-duration` keep the events of the lower layers when they enabled retry. */
export function readFlagLayer(flags: LayerFlags, issues: Diagnostic[], lower: RetrySpec | undefined): Layer {
  const out: Layer = {};
  const fail = (message: string, hint?: string) => issues.push({ code: "E1090", severity: "error", message, ...(hint ? { hint } : {}) });
  if (flags.gpu !== undefined) {
    const g = flagParse(issues, "--gpu", flags.gpu, (v) => parseGpuSpec(/^\d+$/.test(String(v)) ? Number(v) : v));
    if (g) out["resources.gpu"] = g;
  }
  if (flags.cpu !== undefined) {
    const c = flagParse(issues, "--cpu", flags.cpu, parseCpuSpec);
    if (c) out["resources.cpu"] = c;
  }
  if (flags.memory !== undefined) {
    const m = flagParse(issues, "--memory", flags.memory, parseMemoryRange);
    if (m) out["resources.memory"] = m;
  }
  if (flags.disk !== undefined) {
    const d = flagParse(issues, "--disk", flags.disk, parseDiskSpec);
    if (d) out["resources.disk"] = d;
  }
  if (flags.max_price !== undefined) {
    const p = typeof flags.max_price === "number" ? flags.max_price : /^\s*\d+(\.\d+)?\s*$|^\s*\.\d+\s*$/.test(flags.max_price) ? Number(flags.max_price) : NaN;
    if (!Number.isFinite(p) || p <= 0) fail(`--max-price: invalid price ${JSON.stringify(flags.max_price)}`, "a positive number of dollars per hour, e.g. --max-price 0.5");
    else if (p > MAX_PRICE) {
      issues.push({ code: BOUND_CODE, severity: "error", message: `--max-price: ${JSON.stringify(flags.max_price)} is too high: expected at most ${MAX_PRICE} dollars per hour`, hint: "the price is dollars per hour per instance, e.g. --max-price 2.5" });
    } else out.max_price = p;
  }
  if (flags.max_cost !== undefined) {
    const c = typeof flags.max_cost === "number" ? flags.max_cost : /^\s*\d+(\.\d+)?\s*$|^\s*\.\d+\s*$/.test(flags.max_cost) ? Number(flags.max_cost) : NaN;
    if (!Number.isFinite(c)) fail(`--max-cost: invalid amount ${JSON.stringify(flags.max_cost)}`, "dollars, e.g. --max-cost 20");
    else if (c > MAX_COST) issues.push({ code: BOUND_CODE, severity: "error", message: `--max-cost: ${JSON.stringify(flags.max_cost)} is too high: expected at most ${MAX_COST} dollars`, hint: "the most the run may cost in dollars, e.g. --max-cost 20" });
    else out.max_cost = c;
  }
  if (flags.max_duration !== undefined) {
    const d = flagParse(issues, "--max-duration", flags.max_duration, parseOffDuration);
    if (d !== undefined) out.max_duration = d;
  }
  if (flags.spot_policy !== undefined) {
    if (SPOT_POLICIES.includes(flags.spot_policy)) out.spot_policy = flags.spot_policy as SpotPolicy;
    else {
      const guess = closest(flags.spot_policy, SPOT_POLICIES);
      fail(`--spot-policy: invalid value ${JSON.stringify(flags.spot_policy)}; expected one of: ${SPOT_POLICIES.join(", ")}`, guess ? `did you mean ${guess}?` : undefined);
    }
  }
  const lowerEvents = lower?.enabled && lower.on_events.length ? lower.on_events : [...ALL_RETRY_EVENTS];
  const lowerDuration = lower?.enabled ? lower.duration : DEFAULT_RETRY_DURATION;
  if (flags.retry === false && flags.retry_duration !== undefined) {
    fail("--no-retry and --retry-duration contradict each other", "drop one of them");
  } else if (flags.retry === false) {
    out.retry = { ...RETRY_OFF, on_events: [] };
  } else if (flags.retry_duration !== undefined) {
    const d = flagParse(issues, "--retry-duration", flags.retry_duration, parseDuration);
    if (d !== undefined) out.retry = { enabled: true, on_events: lowerEvents, duration: d };
  } else if (flags.retry === true) {
    out.retry = { enabled: true, on_events: lowerEvents, duration: lowerDuration };
  }
  if (flags.backends?.length) {
    const bad = flags.backends.filter((b) => !BACKENDS.includes(b));
    for (const b of bad) {
      const guess = closest(b, BACKENDS);
      fail(`--backend: unknown backend ${JSON.stringify(b)}`, guess ? `did you mean ${guess}?` : `known backends: ${BACKENDS.join(", ")}`);
    }
    if (!bad.length) out.backends = [...flags.backends];
  }
  if (flags.regions?.length) out.regions = [...flags.regions];
  if (flags.instance_types?.length) out.instance_types = [...flags.instance_types];
  return out;
}

/** Built-in defaults (dstack's), which differ per run type for spot_policy. */
export function defaultLayer(type: "dev-environment" | "task"): Required<Layer> {
  return {
    spot_policy: type === "task" ? "auto" : "on-demand",
    // dstack's get_retry(): no `retry` (nor legacy retry_policy) means no retry, for every run type
    retry: { ...RETRY_OFF, on_events: [] },
    max_duration: null,
    max_price: null,
    max_cost: null,
    backends: null,
    regions: null,
    availability_zones: null,
    instance_types: null,
    idle_duration: DEFAULT_IDLE_DURATION,
    stop_duration: DEFAULT_STOP_DURATION,
    creation_policy: "reuse-or-create",
    fleets: null,
    tags: {},
    reservation: null,
    utilization_policy: null,
    schedule: null,
    "resources.cpu": structuredClone(DEFAULT_RESOURCES.cpu),
    "resources.memory": { ...DEFAULT_RESOURCES.memory },
    "resources.shm_size": DEFAULT_RESOURCES.shm_size,
    "resources.gpu": structuredClone(DEFAULT_RESOURCES.gpu),
    "resources.disk": structuredClone(DEFAULT_RESOURCES.disk),
  };
}

/** Merges the layers key by key: CLI > configuration > profile > default. */
export function mergeLayers(
  type: "dev-environment" | "task",
  layers: { cli: Layer; configuration: Layer; profile: Layer },
): { values: Required<Layer>; sources: Record<string, ValueSource> } {
  const values = defaultLayer(type) as Record<LayerKey, unknown>;
  const sources: Record<string, ValueSource> = {};
  for (const key of LAYER_KEYS) {
    let source: ValueSource = "default";
    for (const name of ["cli", "configuration", "profile"] as const) {
      if (key in layers[name] && layers[name][key] !== undefined) {
        values[key] = layers[name][key];
        source = name;
        break;
      }
    }
    sources[key] = source;
  }
  return { values: values as Required<Layer>, sources };
}

export function resourcesOf(v: Required<Layer>): ResourcesSpec {
  return {
    cpu: v["resources.cpu"],
    memory: v["resources.memory"],
    shm_size: v["resources.shm_size"],
    gpu: v["resources.gpu"],
    disk: v["resources.disk"],
  };
}
