/**
 * The JSON Schemas of `.dstack.yml` and `profiles.yml`, built from shared definitions.
 * `npm run schemas` writes them to schemas/ and
 * regenerates the ajv standalone validators (src/config/schema/validators.generated.ts);
 * a test checks that both are up to date.
 *
 * Property names and semantics follow dstack 0.21 (configurations.py, profiles.py,
 * resources.py), plus the older forms still found in real configurations.
 */
import { MAX_COMPUTE_CAPABILITY_PART, MAX_CPU_COUNT, MAX_DURATION_SECONDS, MAX_GPU_COUNT, MAX_COST, MAX_NODES, MAX_PRICE, MAX_SIZE_GB } from "../bounds";

export type JsonSchema = { [key: string]: unknown };

export const SCHEMA_BASE_URL = "https://dstack-pulumi.local/schemas";
export const CONFIGURATION_SCHEMA_ID = `${SCHEMA_BASE_URL}/dstack-configuration.schema.json`;
export const PROFILES_SCHEMA_ID = `${SCHEMA_BASE_URL}/profiles.schema.json`;

/** Backends dstack knows (0.21 and later); `local` is this CLI's embedded Docker backend. */
export const BACKENDS = [
  "local",
  "aws",
  "azure",
  "gcp",
  "lambda",
  "kubernetes",
  "nebius",
  "oci",
  "runpod",
  "vastai",
  "vultr",
  "cudo",
  "datacrunch",
  "verda",
  "tensordock",
  "crusoe",
  "cloudrift",
  "hotaisle",
  "digitalocean",
  "amddevcloud",
  "tenstorrent",
  "remote",
  "ssh",
  "dstack",
];

export const PYTHON_VERSIONS = ["3.9", "3.10", "3.11", "3.12", "3.13"];
export const RETRY_EVENTS = ["no-capacity", "interruption", "error"];
export const SPOT_POLICIES = ["spot", "on-demand", "auto"];
export const IDES = ["vscode", "cursor", "windsurf"];
export const NOT_SUPPORTED_TYPES = ["service", "fleet", "gateway"];

const ref = (name: string): JsonSchema => ({ $ref: `#/definitions/${name}` });
const str = (description: string, extra: JsonSchema = {}): JsonSchema => ({ type: "string", description, ...extra });
const strList = (description: string): JsonSchema => ({ type: "array", description, items: { type: "string" } });

const definitions: Record<string, JsonSchema> = {
  Duration: {
    description: "a duration: whole seconds, or a number with a unit (30s, 15m, 2h, 1d, 1w)",
    type: ["integer", "string"],
  },
  OffDuration: {
    description: "a duration (seconds, 30s, 15m, 2h, 1d, 1w), or off",
    type: ["integer", "string", "boolean", "null"],
  },
  Memory: {
    description: "a memory size: 512MB, 24GB, 1TB (a bare number means GB)",
    type: ["number", "string"],
  },
  IntRange: {
    description: "a count or a range: 4, 2..8, 2.., ..8, or {min, max}; null means the default",
    type: ["integer", "string", "object", "null"],
    properties: { min: { type: ["integer", "string", "null"] }, max: { type: ["integer", "string", "null"] } },
    additionalProperties: false,
  },
  MemoryRange: {
    description: "a memory size or range: 24GB, 24GB..80GB, 24GB.., ..80GB, or {min, max}",
    type: ["number", "string", "object"],
    properties: { min: { type: ["number", "string", "null"] }, max: { type: ["number", "string", "null"] } },
    additionalProperties: false,
  },
  OptionalMemoryRange: {
    description: "a memory size or range: 24GB, 24GB..80GB, 24GB.., ..80GB, or {min, max}; null means not set",
    type: ["number", "string", "object", "null"],
    properties: { min: { type: ["number", "string", "null"] }, max: { type: ["number", "string", "null"] } },
    additionalProperties: false,
  },
  OptionalMemory: {
    description: "a memory size: 512MB, 24GB, 1TB (a bare number means GB); null means not set",
    type: ["number", "string", "null"],
  },
  Cpu: {
    description: "a CPU spec: a count or range (4, 2..), optionally with an arch (x86:8.., arm:4), {min, max}, or {arch, count}",
    type: ["integer", "string", "object", "null"],
    properties: {
      arch: { description: "the CPU architecture", enum: ["x86", "arm", null] },
      count: ref("IntRange"),
      min: { description: "the minimum CPU count (the range form, without arch)", type: ["integer", "string", "null"] },
      max: { description: "the maximum CPU count (the range form, without arch)", type: ["integer", "string", "null"] },
    },
    additionalProperties: false,
  },
  Gpu: {
    description:
      "a GPU spec: A100, A100:80GB:2, 24GB..40GB:2, nvidia:1..8, v5p-8, a count (a bare number is a count, as in dstack), or {vendor, name, count, memory, total_memory, compute_capability}",
    type: ["integer", "string", "object", "null"],
    properties: {
      vendor: {
        description: "the vendor: nvidia, amd, intel, google (tpu), tenstorrent (tt)",
        enum: ["nvidia", "amd", "intel", "google", "tpu", "tenstorrent", "tt", "NVIDIA", "AMD", "Intel", "Google", "TPU", null],
      },
      name: { description: "a GPU name or a list of names (any of); a number here is a name (4090)", type: ["string", "number", "array", "null"], items: { type: ["string", "number"] } },
      count: ref("IntRange"),
      memory: ref("OptionalMemoryRange"),
      total_memory: ref("OptionalMemoryRange"),
      compute_capability: { description: "the minimum compute capability, e.g. 7.5", type: ["number", "string", "array", "null"], items: { type: "integer" } },
    },
    additionalProperties: false,
  },
  Disk: {
    description: "a disk size or range (100GB, 100GB..), or {size}",
    type: ["number", "string", "object", "null"],
    properties: { size: ref("MemoryRange") },
    required: ["size"],
    additionalProperties: false,
  },
  Resources: {
    description: "the resources: cpu, memory, shm_size, gpu, disk",
    type: "object",
    properties: {
      cpu: ref("Cpu"),
      memory: ref("OptionalMemoryRange"),
      shm_size: ref("OptionalMemory"),
      gpu: ref("Gpu"),
      disk: ref("Disk"),
    },
    additionalProperties: false,
  },
  Env: {
    description: "environment variables: a list of KEY=VALUE or KEY, or a mapping",
    type: ["array", "object"],
    items: { type: "string" },
    additionalProperties: { type: ["string", "number", "boolean", "null"] },
  },
  Commands: { description: "a list of shell commands", type: "array", items: { type: "string" } },
  Ports: {
    description: "a list of ports: 8080, \"8080:80\" (local:container), \"*:80\", or {local_port, container_port}",
    type: "array",
    items: {
      type: ["integer", "string", "object"],
      properties: {
        local_port: { type: ["integer", "null"], minimum: 0, maximum: 65535 },
        container_port: { type: "integer", minimum: 1, maximum: 65535 },
      },
      required: ["container_port"],
      additionalProperties: false,
    },
  },
  Volumes: {
    description: "mounts: name:/path (a volume), /host/path:/path (an instance path), or {name, path} / {instance_path, path, optional}",
    type: "array",
    items: {
      type: ["string", "object"],
      properties: {
        name: { description: "the volume name, or a list of names (any of)", type: ["string", "array"], items: { type: "string" } },
        instance_path: { description: "a path on the instance (host)", type: "string" },
        path: { description: "the absolute path in the container", type: "string" },
        optional: { description: "skip the mount when the instance path does not exist", type: "boolean" },
      },
      required: ["path"],
      additionalProperties: false,
    },
  },
  RegistryAuth: {
    description: "credentials for pulling a private image: {username, password}",
    type: ["object", "null"],
    properties: { username: { type: "string" }, password: { type: "string" } },
    required: ["username", "password"],
    additionalProperties: false,
  },
  Retry: {
    description: "retry: true, false, or {on_events: [no-capacity, interruption, error], duration}",
    type: ["boolean", "object", "null"],
    properties: {
      on_events: { type: "array", items: { enum: RETRY_EVENTS } },
      duration: ref("Duration"),
    },
    additionalProperties: false,
  },
  LegacyRetry: {
    description: "retry: true, false, or {on_events, duration} (profiles also accept the legacy retry-limit)",
    type: ["boolean", "object", "null"],
    properties: {
      on_events: { type: "array", items: { enum: RETRY_EVENTS } },
      duration: ref("Duration"),
      "retry-limit": ref("Duration"),
    },
    additionalProperties: false,
  },
  RetryPolicy: {
    description: "the legacy retry policy: {retry: bool, limit (or duration)}",
    type: ["object", "null"],
    properties: { retry: { type: "boolean" }, limit: ref("Duration"), duration: ref("Duration") },
    additionalProperties: false,
  },
  UtilizationPolicy: {
    description: "terminate the run when GPU utilization stays low: {min_gpu_utilization, time_window}",
    type: ["object", "null"],
    properties: { min_gpu_utilization: { type: "integer", minimum: 0, maximum: 100 }, time_window: ref("Duration") },
    required: ["min_gpu_utilization", "time_window"],
    additionalProperties: false,
  },
  Schedule: {
    description: "a cron schedule: {cron: \"0 8 * * mon-fri\"} or a list of cron expressions",
    type: ["object", "null"],
    properties: { cron: { type: ["string", "array"], items: { type: "string" } } },
    required: ["cron"],
    additionalProperties: false,
  },
  Repos: {
    description: "Git repos: a path or URL (\"..\", \"..:/my-repo\", https://…), or {local_path | url, branch, hash, path, if_exists}",
    type: "array",
    items: {
      type: ["string", "object"],
      properties: {
        local_path: { type: "string" },
        url: { type: "string" },
        branch: { type: "string" },
        hash: { type: "string" },
        path: { type: "string" },
        if_exists: { enum: ["error", "skip"] },
      },
      additionalProperties: false,
    },
  },
  Files: {
    description: "local files to copy: \"local[:container]\" or {local_path, path}",
    type: "array",
    items: {
      type: ["string", "object"],
      properties: { local_path: { type: "string" }, path: { type: "string" } },
      required: ["local_path", "path"],
      additionalProperties: false,
    },
  },
  Tags: {
    description: "resource tags: a mapping of names to string values",
    type: ["object", "null"],
    additionalProperties: { type: ["string", "number", "boolean"] },
  },
  Instances: {
    description: "the instances to run on: {name}, {hostname} or {fleet, instance}",
    type: "array",
    items: {
      type: "object",
      properties: { name: { type: "string" }, hostname: { type: "string" }, fleet: { type: "string" }, instance: { type: ["integer", "string"] } },
      additionalProperties: false,
    },
  },
  Groups: {
    description: "node groups of a multi-node task: {name, nodes, commands, resources, ports, …}",
    type: "array",
    items: {
      type: "object",
      properties: {
        name: { type: "string" },
        nodes: { type: "integer", minimum: 1 },
        commands: ref("Commands"),
        resources: ref("Resources"),
        ports: ref("Ports"),
        env: ref("Env"),
        image: { type: "string" },
        python: { type: ["string", "number"] },
        nvcc: { type: "boolean" },
        user: { type: "string" },
        privileged: { type: "boolean" },
        shell: { type: "string" },
        working_dir: { type: "string" },
        volumes: ref("Volumes"),
        entrypoint: { type: "string" },
        docker: { type: "boolean" },
      },
      additionalProperties: false,
    },
  },
};

/** Profile parameters, valid both in profiles.yml and at the top level of a configuration. */
function profileParams(legacyRetry: boolean): Record<string, JsonSchema> {
  return {
    backends: { description: "the backends to consider (e.g. [aws, gcp])", type: ["array", "null"], items: { enum: BACKENDS } },
    regions: { ...strList("the regions to consider"), type: ["array", "null"] },
    availability_zones: { ...strList("the availability zones to consider"), type: ["array", "null"] },
    instance_types: { ...strList("the instance types to consider"), type: ["array", "null"] },
    reservation: { description: "an existing reservation to use", type: ["string", "null"] },
    spot_policy: { description: "spot, on-demand or auto", enum: [...SPOT_POLICIES, null] },
    retry: ref(legacyRetry ? "LegacyRetry" : "Retry"),
    retry_policy: ref("RetryPolicy"),
    max_duration: { ...ref("OffDuration"), description: "the maximum run duration, or off" },
    stop_duration: { ...ref("OffDuration"), description: "the maximum graceful-stop duration, or off" },
    max_price: { description: "the maximum price per hour, in dollars", type: ["number", "null"], exclusiveMinimum: 0 },
    max_cost: { description: "dstack (Pulumi edition): the most a run may cost, in dollars: price per hour × max_duration; a run projected above it is refused", type: ["number", "null"], minimum: 0 },
    creation_policy: { description: "reuse or reuse-or-create", enum: ["reuse", "reuse-or-create", null] },
    idle_duration: { ...ref("OffDuration"), description: "how long an idle instance is kept, or off" },
    utilization_policy: ref("UtilizationPolicy"),
    fleets: { ...strList("the fleets to consider"), type: ["array", "null"] },
    tags: ref("Tags"),
    schedule: ref("Schedule"),
    startup_order: { description: "the start order of the nodes of a multi-node task: any, master-first, workers-first", enum: ["any", "master-first", "workers-first", null] },
    stop_criteria: { description: "when a multi-node task stops: all-done, master-done", enum: ["all-done", "master-done", null] },
    termination_policy: { description: "deprecated: use idle_duration", enum: ["dont-destroy", "destroy-after-idle", null] },
    termination_idle_time: { description: "deprecated: use idle_duration", type: ["integer", "string", "null"] },
    pool_name: { description: "deprecated", type: ["string", "null"] },
    instance_name: { description: "deprecated", type: ["string", "null"] },
  };
}

function baseRunProperties(): Record<string, JsonSchema> {
  return {
    name: str("the run name (lowercase letters, digits and dashes); generated when absent"),
    image: str("the Docker image to run; mutually exclusive with python, nvcc and docker"),
    user: { description: "the user inside the container (name or uid[:gid])", type: ["string", "integer", "null"] },
    privileged: { description: "run the container in privileged mode", type: "boolean" },
    entrypoint: { description: "the Docker entrypoint (tasks only)", type: ["string", "null"] },
    working_dir: { description: "the absolute working directory in the container (default /workflow)", type: ["string", "null"] },
    home_dir: { description: "deprecated, no effect", type: "string" },
    registry_auth: ref("RegistryAuth"),
    python: { description: "the Python version: 3.9 … 3.13; mutually exclusive with image and docker", type: ["string", "number", "null"] },
    nvcc: { description: "use an image with the CUDA compiler (nvcc)", type: ["boolean", "null"] },
    single_branch: { description: "clone only the current branch of remote repos", type: ["boolean", "null"] },
    env: ref("Env"),
    shell: { description: "the shell for commands: sh, bash, or an absolute path", type: ["string", "null"] },
    resources: ref("Resources"),
    priority: { description: "the run priority, 0 … 100", type: ["integer", "null"], minimum: 0, maximum: 100 },
    volumes: ref("Volumes"),
    docker: { description: "use Docker inside the container; mutually exclusive with image, python and nvcc", type: ["boolean", "null"] },
    repos: ref("Repos"),
    files: ref("Files"),
    setup: { ...ref("Commands"), description: "commands run once at the first start (deprecated by dstack; kept)" },
    build: { ...ref("Commands"), description: "commands baked into a prebuilt image (legacy dstack)" },
    dstack: { description: "install the dstack CLI in the container", type: ["boolean", "null"] },
    instances: ref("Instances"),
    ports: ref("Ports"),
  };
}

function runConfiguration(type: string, extra: Record<string, JsonSchema>, required: string[] = []): JsonSchema {
  return {
    type: "object",
    description: `a ${type} configuration`,
    properties: { type: { const: type }, ...baseRunProperties(), ...profileParams(false), ...extra },
    required: ["type", ...required],
    additionalProperties: false,
  };
}

const devEnvironment = runConfiguration("dev-environment", {
  ide: { description: "the IDE: vscode, cursor, windsurf; absent = SSH only", enum: [...IDES, null] },
  version: { description: "the IDE version (a string; an unquoted number is read as written)", type: ["string", "number", "null"] },
  init: { ...ref("Commands"), description: "commands run at every start, before the IDE" },
  inactivity_duration: { ...ref("OffDuration"), description: "stop after this long without SSH connections, or off" },
});

const task = runConfiguration("task", {
  commands: { ...ref("Commands"), description: "the commands of the task (required unless image is set)" },
  nodes: { description: "the number of nodes", type: "integer", minimum: 1 },
  groups: ref("Groups"),
});

const volume: JsonSchema = {
  type: "object",
  description: "a volume configuration",
  properties: {
    type: { const: "volume" },
    name: str("the volume name"),
    backend: { description: "the backend", enum: BACKENDS },
    region: { description: "the region", type: ["string", "null"] },
    availability_zone: { description: "the availability zone", type: ["string", "null"] },
    size: { ...ref("Memory"), description: "the size, e.g. 100GB" },
    volume_id: { description: "an existing volume to register", type: ["string", "null"] },
    auto_cleanup_duration: ref("OffDuration"),
    tags: ref("Tags"),
  },
  required: ["type", "backend"],
  additionalProperties: false,
};

const notSupported = (type: string): JsonSchema => ({
  type: "object",
  description: `a ${type} configuration (not supported yet by this CLI)`,
  properties: { type: { const: type } },
  required: ["type"],
});

export function configurationSchema(): JsonSchema {
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: CONFIGURATION_SCHEMA_ID,
    title: "dstack configuration (.dstack.yml)",
    type: "object",
    required: ["type"],
    discriminator: { propertyName: "type" },
    oneOf: [ref("DevEnvironmentConfiguration"), ref("TaskConfiguration"), ref("VolumeConfiguration"), ...NOT_SUPPORTED_TYPES.map((t) => ref(`${t[0]!.toUpperCase()}${t.slice(1)}Configuration`))],
    definitions: {
      ...definitions,
      DevEnvironmentConfiguration: devEnvironment,
      TaskConfiguration: task,
      VolumeConfiguration: volume,
      ServiceConfiguration: notSupported("service"),
      FleetConfiguration: notSupported("fleet"),
      GatewayConfiguration: notSupported("gateway"),
    },
  };
}

export function profilesSchema(): JsonSchema {
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: PROFILES_SCHEMA_ID,
    title: "dstack profiles (.dstack/profiles.yml)",
    type: "object",
    properties: { profiles: { type: "array", items: ref("Profile") } },
    required: ["profiles"],
    additionalProperties: false,
    definitions: {
      ...definitions,
      Profile: {
        type: "object",
        description: "a profile",
        properties: {
          name: str("the profile name, for --profile"),
          default: { description: "apply this profile when none is named", type: "boolean" },
          resources: { ...ref("Resources"), description: "the resources (legacy profiles)" },
          project: { description: "legacy: the dstack project (ignored)", type: "string" },
          ...profileParams(true),
        },
        required: ["name"],
        additionalProperties: false,
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The RunSpec (what `dstack config --json` prints), for CI scripts and later stages
// ---------------------------------------------------------------------------------------------

export const RUNSPEC_SCHEMA_ID = `${SCHEMA_BASE_URL}/runspec.schema.json`;

const nullable = (s: JsonSchema): JsonSchema => ({ anyOf: [s, { type: "null" }] });
const obj = (properties: Record<string, JsonSchema>, extra: JsonSchema = {}): JsonSchema => ({
  type: "object",
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
  ...extra,
});
const num = { type: "number" };
const int = { type: "integer" };
const bool = { type: "boolean" };
const string = { type: "string" };
const strings = { type: "array", items: string };
const seconds = nullable({ type: "integer", minimum: 0, maximum: MAX_DURATION_SECONDS });

export function runSpecSchema(): JsonSchema {
  // every duration, size, count and price within src/config/bounds.ts
  const rangeUpTo = (maximum: number, type = "number") => obj({ min: nullable({ type, minimum: 0, maximum }), max: nullable({ type, minimum: 0, maximum }) });
  const sizes = rangeUpTo(MAX_SIZE_GB);
  const source = { enum: ["cli", "configuration", "profile", "default"] };
  const base: Record<string, JsonSchema> = {
    configuration_path: string,
    repo_dir: string,
    repo_id: { type: "string", pattern: "^[0-9a-f]{16}$" },
    name: { type: "string", pattern: "^[a-z][a-z0-9-]{1,40}$" },
    name_generated: bool,
    image: nullable(string),
    python: nullable({ enum: PYTHON_VERSIONS }),
    python_defaulted: bool,
    nvcc: bool,
    registry_auth: nullable(obj({ username: string, password: string })),
    working_dir: { type: "string", pattern: "^/" },
    shell: nullable(string),
    user: nullable(string),
    privileged: bool,
    entrypoint: nullable(string),
    docker: nullable(bool),
    env: { type: "object", additionalProperties: string },
    secret_env: strings,
    ports: { type: "array", items: obj({ container_port: { type: "integer", minimum: 1, maximum: 65535 }, local_port: { type: "integer", minimum: 0, maximum: 65535 } }) },
    volumes: {
      type: "array",
      items: {
        oneOf: [
          obj({ kind: { const: "volume" }, name: { ...strings, minItems: 1 }, path: string }),
          obj({ kind: { const: "instance" }, instance_path: string, path: string, optional: bool }),
        ],
      },
    },
    resources: obj({
      cpu: obj({ arch: nullable({ enum: ["x86", "arm"] }), count: rangeUpTo(MAX_CPU_COUNT, "integer") }),
      memory: sizes,
      shm_size: nullable({ ...num, minimum: 0, maximum: MAX_SIZE_GB }),
      gpu: obj({
        vendor: nullable({ enum: ["nvidia", "amd", "intel", "google", "tenstorrent"] }),
        name: nullable({ ...strings, minItems: 1 }),
        count: rangeUpTo(MAX_GPU_COUNT, "integer"),
        memory: nullable(sizes),
        total_memory: nullable(sizes),
        compute_capability: nullable({ type: "array", items: { ...int, minimum: 0, maximum: MAX_COMPUTE_CAPABILITY_PART }, minItems: 2, maxItems: 2 }),
      }),
      disk: nullable(obj({ size: sizes })),
    }),
    build: strings,
    setup: strings,
    init: strings,
    spot_policy: { enum: SPOT_POLICIES },
    retry: obj({ enabled: bool, on_events: { type: "array", items: { enum: RETRY_EVENTS }, uniqueItems: true }, duration: seconds }),
    max_duration: seconds,
    max_price: nullable({ type: "number", exclusiveMinimum: 0, maximum: MAX_PRICE }),
    max_cost: nullable({ type: "number", minimum: 0, maximum: MAX_COST }),
    backends: nullable({ type: "array", items: { enum: BACKENDS } }),
    regions: nullable(strings),
    availability_zones: nullable(strings),
    instance_types: nullable(strings),
    idle_duration: seconds,
    stop_duration: seconds,
    creation_policy: nullable({ enum: ["reuse", "reuse-or-create"] }),
    fleets: nullable(strings),
    tags: { type: "object", additionalProperties: string },
    reservation: nullable(string),
    priority: nullable({ type: "integer", minimum: 0, maximum: 100 }),
    utilization_policy: nullable(obj({ min_gpu_utilization: { type: "integer", minimum: 0, maximum: 100 }, time_window: { type: "integer", minimum: 300, maximum: MAX_DURATION_SECONDS } })),
    schedule: nullable(obj({ cron: { ...strings, minItems: 1 } })),
    build_missing: bool,
    force_build: bool,
    profile: obj({ name: nullable(string), path: nullable(string), sources: { type: "object", additionalProperties: source } }),
    unsupported: {
      type: "array",
      items: { type: "object", properties: { property: string, line: int, col: int, reason: string }, required: ["property"], additionalProperties: false },
    },
  };
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: RUNSPEC_SCHEMA_ID,
    title: "dstack RunSpec (dstack config --json)",
    oneOf: [
      obj({ type: { const: "dev-environment" }, ...base, ide: nullable({ enum: IDES }), version: nullable(string), inactivity_duration: seconds }),
      obj({ type: { const: "task" }, ...base, commands: strings, nodes: { type: "integer", minimum: 1, maximum: MAX_NODES } }),
    ],
  };
}
