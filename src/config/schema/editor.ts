/**
 * The editor schemas (schemas/*.json, for yaml-language-server / VS Code's YAML extension):
 * the loader's schemas (definitions.ts) plus every rule of the loader that JSON Schema can
 * say, so that an editor marks what `dstack` would refuse:
 *
 * - a task needs `commands` (non-empty) unless it has an `image` or `groups` (E1031);
 * - run and volume names: 2-41 lowercase letters, digits and dashes, starting with a letter
 *   (E1034, E1052; `${{ dstack.* }}` stays allowed in volume names), also on the left of a
 *   `name:/path` mount;
 * - the grammar of memory sizes and ranges (`24GB`, `24GB..80GB`, `..1TB`), counts and count
 *   ranges, CPU specs (`x86:8..`), GPU specs (`A100:80GB:2`: one colon between tokens, each a
 *   vendor or names, a memory range or a count range), as patterns;
 * - durations: a whole number of seconds ≥ 0, or a number with a unit (`-5m` is not one), or
 *   `off` where a duration may be switched off.
 *
 * What it cannot say (a range whose minimum exceeds its maximum, a unit name outside dstack's,
 * bounds such as 4 PB, conflicting tokens, mutual exclusions that depend on values) stays with
 * the loader. The loader itself keeps validating with definitions.ts (its precompiled
 * validators): its own checks give positioned diagnostics with codes for all of the above.
 *
 * `$id`: a relative reference (`dstack-configuration.schema.json`), which resolves against the
 * URI the schema is read from: the file in schemas/ (docs/configuration.md shows the VS Code
 * settings and the modeline that point at it).
 */
import { configurationSchema, profilesSchema, type JsonSchema } from "./definitions";

const MEM = String.raw`(?:\d+(?:\.\d+)?|\.\d+)\s*(?:[MmGgTt][Bb])?`;
const MEM_RANGE_BODY = String.raw`(?:${MEM}\s*(?:\.\.\s*(?:${MEM})?)?|\.\.\s*${MEM})`;
const COUNT_RANGE_BODY = String.raw`(?:\d+\s*(?:\.\.\s*\d*)?|\.\.\s*\d+)`;
const ARCH = String.raw`(?:[Xx]86(?:_64)?|[Aa][Mm][Dd]64|[Aa][Rr][Mm](?:64)?|[Aa][Aa][Rr][Cc][Hh]64)`;
const GPU_NAMES = String.raw`[A-Za-z][A-Za-z0-9_.+-]*(?:\s*,\s*[A-Za-z0-9][A-Za-z0-9_.+-]*)*`;
const GPU_TOKEN = `(?:${GPU_NAMES}|${MEM_RANGE_BODY}|${COUNT_RANGE_BODY})`;
const DURATION_BODY = String.raw`\d+\s*[A-Za-z]*`;
const VOLUME_INTERP = String.raw`\$\{\{\s*dstack\.[a-z_]+\s*\}\}`;
const VOLUME_NAME_BODY = String.raw`(?:[a-z][a-z0-9-]{1,40}|(?:[a-z0-9-]|${VOLUME_INTERP})*${VOLUME_INTERP}(?:[a-z0-9-]|${VOLUME_INTERP})*)`;

/** The patterns, exported for tests. */
export const EDITOR_PATTERNS = {
  memory: String.raw`^\s*${MEM}\s*$`,
  memoryRange: String.raw`^\s*${MEM_RANGE_BODY}\s*$`,
  countRange: String.raw`^\s*${COUNT_RANGE_BODY}\s*$`,
  cpu: String.raw`^\s*(?:${ARCH}|${COUNT_RANGE_BODY})(?:\s*:\s*(?:${ARCH}|${COUNT_RANGE_BODY}))?\s*$`,
  gpu: String.raw`^\s*${GPU_TOKEN}(?:\s*:\s*${GPU_TOKEN})*\s*$`,
  duration: String.raw`^\s*${DURATION_BODY}\s*$`,
  offDuration: String.raw`^\s*(?:${DURATION_BODY}|[Oo][Ff][Ff])\s*$`,
  resourceName: "^[a-z][a-z0-9-]{1,40}$",
  volumeName: `^${VOLUME_NAME_BODY}$`,
  /** `name:/path` (a volume) or `/host/path:/path`, `~/x:/path` (an instance path). */
  mount: String.raw`^(?:[^:]*/[^:]*|~[^:]*|${VOLUME_NAME_BODY}):.+$`,
} as const;

type Defs = Record<string, JsonSchema>;

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Adds the grammar's patterns and bounds to the shared definitions (in place). */
function refineDefinitions(d: Defs): void {
  const P = EDITOR_PATTERNS;
  const rangeEnds = (end: JsonSchema, pattern: string, minimum = 0): JsonSchema => ({ ...end, pattern, minimum });
  d.Duration = { ...d.Duration, pattern: P.duration, minimum: 0 };
  d.OffDuration = { ...d.OffDuration, pattern: P.offDuration, minimum: 0 };
  d.Memory = { ...d.Memory, pattern: P.memory, minimum: 0 };
  d.OptionalMemory = { ...d.OptionalMemory, pattern: P.memory, minimum: 0 };
  for (const k of ["MemoryRange", "OptionalMemoryRange"]) {
    const props = d[k].properties as Record<string, JsonSchema>;
    d[k] = { ...d[k], pattern: P.memoryRange, minimum: 0, properties: { min: rangeEnds(props.min, P.memory), max: rangeEnds(props.max, P.memory) } };
  }
  const intProps = d.IntRange.properties as Record<string, JsonSchema>;
  d.IntRange = { ...d.IntRange, pattern: P.countRange, minimum: 0, properties: { min: rangeEnds(intProps.min, P.countRange), max: rangeEnds(intProps.max, P.countRange) } };
  const cpuProps = d.Cpu.properties as Record<string, JsonSchema>;
  d.Cpu = { ...d.Cpu, pattern: P.cpu, minimum: 0, properties: { ...cpuProps, min: rangeEnds(cpuProps.min, P.countRange), max: rangeEnds(cpuProps.max, P.countRange) } };
  d.Gpu = { ...d.Gpu, pattern: P.gpu, minimum: 0 };
  d.Disk = { ...d.Disk, pattern: P.memoryRange, minimum: 0 };
  const volumes = clone(d.Volumes);
  const item = volumes.items as JsonSchema;
  const itemProps = item.properties as Record<string, JsonSchema>;
  itemProps.name = { ...itemProps.name, pattern: P.volumeName, items: { type: "string", pattern: P.volumeName } };
  d.Volumes = { ...volumes, items: { ...item, pattern: P.mount } };
}

/** A task needs non-empty commands unless it has an image or groups (the loader's E1031). */
const TASK_NEEDS_COMMANDS: JsonSchema = {
  if: {
    not: {
      anyOf: [
        { required: ["image"], properties: { image: { type: "string" } } },
        { required: ["groups"], properties: { groups: { type: "array", minItems: 1 } } },
      ],
    },
  },
  then: { required: ["commands"], properties: { commands: { type: "array", minItems: 1 } } },
};

export const EDITOR_CONFIGURATION_SCHEMA_ID = "dstack-configuration.schema.json";
export const EDITOR_PROFILES_SCHEMA_ID = "profiles.schema.json";

/** schemas/dstack-configuration.schema.json. */
export function editorConfigurationSchema(): JsonSchema {
  const s = clone(configurationSchema());
  const defs = s.definitions as Defs;
  refineDefinitions(defs);
  for (const k of ["DevEnvironmentConfiguration", "TaskConfiguration"]) {
    const props = defs[k].properties as Record<string, JsonSchema>;
    props.name = { ...props.name, pattern: EDITOR_PATTERNS.resourceName };
  }
  defs.TaskConfiguration = { ...defs.TaskConfiguration, allOf: [TASK_NEEDS_COMMANDS] };
  const volumeProps = defs.VolumeConfiguration.properties as Record<string, JsonSchema>;
  volumeProps.name = { ...volumeProps.name, pattern: EDITOR_PATTERNS.resourceName };
  return { ...s, $id: EDITOR_CONFIGURATION_SCHEMA_ID };
}

/** schemas/profiles.schema.json. */
export function editorProfilesSchema(): JsonSchema {
  const s = clone(profilesSchema());
  refineDefinitions(s.definitions as Defs);
  return { ...s, $id: EDITOR_PROFILES_SCHEMA_ID };
}
