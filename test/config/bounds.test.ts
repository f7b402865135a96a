/**
 * src/config/bounds.ts: every duration, size, count and price of a configuration, a profile and
 * the run flags has an upper bound, checked in the configuration stage as a positioned E1026
 * (what was expected, and a fix); the bounds themselves are accepted; the RunSpec schema
 * carries them. The huge max_duration that once crashed `up` with "Invalid time value".
 */
import Ajv from "ajv";
import * as path from "path";
import {
  BOUND_CODE,
  MAX_CPU_COUNT,
  MAX_DURATION_SECONDS,
  MAX_GPU_COUNT,
  MAX_NODES,
  MAX_PRICE,
  MAX_SIZE_GB,
} from "../../src/config/bounds";
import { BoundError, GrammarError, parseComputeCapability, parseCountRange, parseCpuSpec, parseDuration, parseGpuSpec, parseMemory, parseOffDuration } from "../../src/config/grammar";
import { runSpecSchema } from "../../src/config/schema/definitions";
import { loadRunSpec } from "../../src/config";
import type { RunFlags } from "../../src/config/flags";
import type { Diagnostic } from "../../src/diagnostics";
import { DEV, errorsOf, load, loadAny, loadErrors, loadTask, TASK, tempDir, testEnv } from "./helpers";

const HUGE = "99999999999999999999999d";

/** The one diagnostic of a configuration that must fail only because of a bound. */
function boundError(yaml: string): Diagnostic {
  const d = loadErrors(yaml);
  expect(d.map((x) => x.code)).toEqual([BOUND_CODE]);
  return d[0]!;
}

/** Line and column (1-based) of the first occurrence of `text` in `yaml`. */
function at(yaml: string, text: string): { line: number; col: number } {
  const i = yaml.indexOf(text);
  const before = yaml.slice(0, i).split("\n");
  return { line: before.length, col: before[before.length - 1]!.length + 1 };
}

describe("the grammars throw BoundError (code E1026) above a bound", () => {
  it("durations: 365d is the largest", () => {
    expect(parseDuration("365d")).toBe(MAX_DURATION_SECONDS);
    expect(parseDuration("52w")).toBe(52 * 604800);
    expect(parseDuration(MAX_DURATION_SECONDS)).toBe(MAX_DURATION_SECONDS);
    for (const v of ["366d", "8761h", "53w", MAX_DURATION_SECONDS + 1, HUGE, "99999999999999999999999", Number.MAX_SAFE_INTEGER + 2]) {
      expect(() => parseDuration(v)).toThrow(BoundError);
    }
    expect(() => parseDuration(HUGE)).toThrow(/too long: expected at most 365d/);
    try {
      parseOffDuration(HUGE);
    } catch (e) {
      expect(e).toBeInstanceOf(BoundError);
      expect((e as BoundError).code).toBe("E1026");
      expect((e as BoundError).hint).toMatch(/up to 365d.*or off for no limit/);
    }
  });

  it("sizes: 4096TB is the largest", () => {
    expect(parseMemory("4096TB")).toBe(MAX_SIZE_GB);
    expect(parseMemory(MAX_SIZE_GB)).toBe(MAX_SIZE_GB);
    for (const v of ["4097TB", `${MAX_SIZE_GB + 1}GB`, `${(MAX_SIZE_GB + 1) * 1024}MB`, MAX_SIZE_GB + 1, "99999999999999999999999TB", 1e300]) {
      expect(() => parseMemory(v)).toThrow(BoundError);
    }
    expect(() => parseMemory(Infinity)).toThrow(GrammarError);
  });

  it("counts: GPUs, CPUs; compute capability parts", () => {
    expect(parseGpuSpec(`A100:${MAX_GPU_COUNT}`).count).toEqual({ min: MAX_GPU_COUNT, max: MAX_GPU_COUNT });
    expect(parseCpuSpec(`x86:..${MAX_CPU_COUNT}`).count).toEqual({ min: null, max: MAX_CPU_COUNT });
    for (const g of [MAX_GPU_COUNT + 1, `A100:${MAX_GPU_COUNT + 1}`, "1..99999999999999999999", { count: "2000" }, { count: { max: 5000 } }, "A100:5000TB..", "99999999TB"]) {
      expect(() => parseGpuSpec(g)).toThrow(BoundError);
    }
    for (const c of [MAX_CPU_COUNT + 1, `arm:${MAX_CPU_COUNT + 1}..`, { count: 99999 }]) {
      expect(() => parseCpuSpec(c)).toThrow(BoundError);
    }
    expect(() => parseGpuSpec("A100:2000")).toThrow('GPU spec "A100:2000": GPU count "2000" is too large: expected at most 1024');
    expect(() => parseComputeCapability("100.0")).toThrow(BoundError);
    expect(parseComputeCapability("99.99")).toEqual([99, 99]);
    // a count with no bound of its own is still a safe integer
    expect(() => parseCountRange("99999999999999999999")).toThrow(BoundError);
  });
});

describe("configurations: each kind of bound, positioned", () => {
  const cases: [string, string, RegExp][] = [
    [`${TASK}max_duration: ${HUGE}\n`, HUGE, /^max_duration: duration "99999999999999999999999d" is too long: expected at most 365d/],
    [`${TASK}max_duration: 31536001\n`, "31536001", /^max_duration: duration 31536001 is too long/],
    [`${TASK}idle_duration: 400d\n`, "400d", /^idle_duration: duration "400d" is too long/],
    [`${TASK}stop_duration: 9999w\n`, "9999w", /^stop_duration: duration "9999w" is too long/],
    [`${TASK}retry:\n  duration: 400d\n`, "400d", /^retry\.duration: duration "400d" is too long/],
    [`${TASK}retry_policy:\n  retry: true\n  limit: 400d\n`, "400d", /^retry_policy\.limit: duration/],
    [`${TASK}termination_idle_time: 999999999999\n`, "999999999999", /^termination_idle_time: duration/],
    [`${TASK}utilization_policy: {min_gpu_utilization: 10, time_window: 400d}\n`, "400d", /^utilization_policy\.time_window: duration/],
    [`${DEV}inactivity_duration: 400d\n`, "400d", /^inactivity_duration: duration/],
    [`${TASK}resources:\n  memory: 5000TB\n`, "5000TB", /^resources\.memory: size "5000TB" is too large: expected at most 4096TB/],
    [`${TASK}resources:\n  shm_size: 99999999999999999999GB\n`, "99999999999999999999GB", /^resources\.shm_size: size/],
    [`${TASK}resources:\n  disk: 100GB..5000TB\n`, "100GB..5000TB", /^resources\.disk: size "5000TB"/],
    [`${TASK}resources:\n  disk: {size: 9000TB}\n`, "{size: 9000TB}", /^resources\.disk: size/],
    [`${TASK}resources:\n  gpu: 5000TB\n`, "5000TB", /^resources\.gpu: GPU spec "5000TB": size "5000TB"/],
    [`${TASK}resources:\n  gpu: {name: A100, total_memory: 5000TB..}\n`, "{name", /^resources\.gpu: size "5000TB"/],
    [`${TASK}resources:\n  gpu: A100:80GB:2000\n`, "A100:80GB:2000", /^resources\.gpu: GPU spec "A100:80GB:2000": GPU count "2000" is too large: expected at most 1024/],
    [`${TASK}resources:\n  gpu: 99999999999999999999\n`, "99999999999999999999", /^resources\.gpu: GPU count 100000000000000000000 is too large/],
    [`${TASK}resources:\n  gpu: {name: H100, count: 1..2000}\n`, "{name", /^resources\.gpu: GPU count "2000"/],
    [`${TASK}resources:\n  gpu: {compute_capability: 100.0}\n`, "{compute", /^resources\.gpu: compute capability 100 is too large/],
    [`${TASK}resources:\n  cpu: x86:99999..\n`, "x86:99999..", /^resources\.cpu: CPU count "99999" is too large: expected at most 4096/],
    [`${TASK}resources:\n  cpu: {count: 5000}\n`, "{count: 5000}", /^resources\.cpu: CPU count 5000/],
    [`${TASK}nodes: 100000000000000000000\n`, "100000000000000000000", /^nodes: 100000000000000000000 is too many nodes: expected at most 1024/],
    [`${TASK}max_price: 1e9\n`, "1e9", /^max_price: 1000000000 is too high: expected at most 10000 dollars per hour/],
  ];

  it.each(cases)("%j", (yaml, text, message) => {
    const d = boundError(yaml);
    expect(d).toMatchObject({ code: "E1026", severity: "error", ...at(yaml, text) });
    expect(d.file).toMatch(/\.dstack\.yml$/);
    expect(d.message).toMatch(message);
    expect(d.hint).toBeTruthy();
  });

  it("a group's nodes, and a volume's size", () => {
    const groups = `${TASK}groups:\n  - name: g\n    nodes: 5000\n`;
    expect(loadErrors(groups).find((x) => x.code === "E1026")).toMatchObject({ line: 6, col: 12, message: "groups[0].nodes: 5000 is too many nodes: expected at most 1024" });
    const volume = "type: volume\nbackend: local\nsize: 5000TB\n";
    expect(boundError(volume)).toMatchObject({ line: 3, col: 7, message: expect.stringMatching(/^size: size "5000TB" is too large/) });
  });

  it("the bounds themselves load", () => {
    const s = loadTask(
      `${TASK}max_duration: 365d\nidle_duration: 52w\nretry: {duration: 365d}\nmax_price: ${MAX_PRICE}\nnodes: ${MAX_NODES}\n` +
        `resources:\n  gpu: A100:4096TB:${MAX_GPU_COUNT}\n  cpu: ${MAX_CPU_COUNT}\n  memory: 4096TB\n  shm_size: 4096TB\n  disk: ..4096TB\n`,
    );
    expect(s).toMatchObject({ max_duration: MAX_DURATION_SECONDS, idle_duration: 52 * 604800, max_price: MAX_PRICE, nodes: MAX_NODES });
    expect(s.resources).toMatchObject({ gpu: { count: { min: MAX_GPU_COUNT, max: MAX_GPU_COUNT } }, cpu: { count: { min: MAX_CPU_COUNT } }, memory: { min: MAX_SIZE_GB } });
    expect(new Ajv({ allowUnionTypes: true }).compile(runSpecSchema())(s)).toBe(true);
    expect(loadAny("type: volume\nbackend: local\nsize: 4096TB\n")).toMatchObject({ size: MAX_SIZE_GB });
  });

  it("non-finite numbers are rejected before any bound (schema, E1011/E1014)", () => {
    for (const yaml of [`${TASK}max_duration: .inf\n`, `${TASK}max_price: .inf\n`, `${TASK}nodes: .inf\n`, `${TASK}resources:\n  memory: .nan\n`, `${TASK}resources:\n  gpu: -.inf\n`]) {
      const d = loadErrors(yaml);
      expect(d.length).toBeGreaterThan(0);
      expect(d.every((x) => /^E1\d{3}$/.test(x.code) && x.line !== undefined)).toBe(true);
    }
  });

  it("the RunSpec schema carries the bounds", () => {
    const validate = new Ajv({ allowUnionTypes: true }).compile(runSpecSchema());
    const s = loadTask(TASK);
    expect(validate(s)).toBe(true);
    expect(validate({ ...s, max_duration: MAX_DURATION_SECONDS + 1 })).toBe(false);
    expect(validate({ ...s, max_price: MAX_PRICE + 1 })).toBe(false);
    expect(validate({ ...s, nodes: MAX_NODES + 1 })).toBe(false);
    expect(validate({ ...s, resources: { ...s.resources, memory: { min: MAX_SIZE_GB + 1, max: null } } })).toBe(false);
    expect(validate({ ...s, resources: { ...s.resources, gpu: { ...s.resources.gpu, count: { min: 1, max: MAX_GPU_COUNT + 1 } } } })).toBe(false);
  });
});

describe("the huge max_duration of issue 9", () => {
  it("loadRunSpec: a ConfigError at the value, not a RunSpec that crashes up/preview/compile", () => {
    const yaml = `${TASK}max_duration: ${HUGE}\n`;
    const dir = tempDir({ ".dstack.yml": yaml });
    const d = errorsOf(() => loadRunSpec({ dir, cwd: dir, env: testEnv() }));
    expect(d).toEqual([
      {
        severity: "error",
        code: "E1026",
        message: `max_duration: duration "${HUGE}" is too long: expected at most 365d (one year)`,
        hint: "write a duration up to 365d, e.g. 72h or 30d, or off for no limit",
        file: path.join(dir, ".dstack.yml"),
        line: 4,
        col: 15,
        length: HUGE.length,
      },
    ]);
  });
});

describe("profiles and run flags have the same bounds", () => {
  it("a profile's duration, size, count and price: E1026 in profiles.yml", () => {
    const profiles = "profiles:\n  - name: a\n    default: true\n    max_duration: 400d\n    max_price: 50000\n    resources:\n      gpu: H100:4096\n      memory: 9000TB\n";
    const d = errorsOf(() => load(TASK, { files: { ".dstack/profiles.yml": profiles } }));
    expect(d.map((x) => [x.code, x.line, x.col])).toEqual([
      ["E1026", 4, 19],
      ["E1026", 5, 16],
      ["E1026", 7, 12],
      ["E1026", 8, 15],
    ]);
    expect(d.every((x) => x.file!.endsWith(path.join(".dstack", "profiles.yml")))).toBe(true);
  });

  // a malformed price is E1090; a price above the bound, like every other bound, E1026
  it.each<[RunFlags, string, RegExp]>([
    [{ max_duration: HUGE }, "E1026", /^--max-duration: duration "99999999999999999999999d" is too long: expected at most 365d/],
    [{ retry_duration: "400d" }, "E1026", /^--retry-duration: duration "400d" is too long/],
    [{ max_price: "1e6" }, "E1090", /^--max-price: invalid price/],
    [{ max_price: "20000" }, "E1026", /^--max-price: "20000" is too high: expected at most 10000 dollars per hour/],
    [{ gpu: "2000" }, "E1026", /^--gpu: GPU count 2000 is too large: expected at most 1024/],
    [{ gpu: "A100:80GB:1..5000" }, "E1026", /^--gpu: GPU spec "A100:80GB:1..5000": GPU count "5000"/],
    [{ cpu: "99999" }, "E1026", /^--cpu: CPU count "99999" is too large/],
    [{ memory: "5000TB" }, "E1026", /^--memory: size "5000TB" is too large/],
    [{ disk: "100GB..99999TB" }, "E1026", /^--disk: size "99999TB" is too large/],
  ])("flags %j", (flags, code, message) => {
    const d = errorsOf(() => load(TASK, { flags }));
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ code, message: expect.stringMatching(message), hint: expect.any(String) });
  });
});
