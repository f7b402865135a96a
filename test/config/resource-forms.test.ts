/**
 * Resource forms dstack accepts (issue 13, configuration edge cases): range mappings with
 * min/max, GPU names written as YAML numbers, explicit nulls for optional resources, and
 * seed-era profiles whose single values are minimums.
 */
import { DEFAULT_RESOURCES } from "../../src/config/runspec";
import { loadErrors, loadTask, TASK } from "./helpers";

const res = (body: string) => loadTask(`${TASK}resources:\n${body}`).resources;

describe("range mappings (dstack's Range: {min, max})", () => {
  it("memory, cpu, disk size, gpu count/memory/total_memory normalize like the a..b strings", () => {
    expect(res("  memory: {min: 16GB, max: 64GB}\n")).toEqual(res("  memory: 16GB..64GB\n"));
    expect(res("  cpu: {min: 4}\n")).toEqual(res("  cpu: 4..\n"));
    expect(res("  cpu: {max: 8}\n").cpu).toEqual({ arch: null, count: { min: null, max: 8 } });
    expect(res("  cpu: {arch: arm, count: {min: 4, max: 16}}\n")).toEqual(res("  cpu: arm:4..16\n"));
    expect(res("  disk: {size: {min: 100GB}}\n")).toEqual(res("  disk: 100GB..\n"));
    expect(res("  gpu: {count: {min: 1, max: 2}, memory: {min: 24GB}, total_memory: {max: 160GB}}\n").gpu).toEqual({
      vendor: null,
      name: null,
      count: { min: 1, max: 2 },
      memory: { min: 24, max: null },
      total_memory: { min: null, max: 160 },
      compute_capability: null,
    });
    expect(res("  gpu: {count: {min: 1, max: 2}, memory: {min: 24GB}}\n")).toEqual(res("  gpu: 24GB..:1..2\n"));
  });

  it("an inverted or empty mapping is a positioned range error", () => {
    const d = loadErrors(`${TASK}resources:\n  memory: {min: 64GB, max: 16GB}\n`);
    expect(d[0]).toMatchObject({ code: "E1021", line: 5, col: 11 });
    expect(d[0]!.message).toMatch(/the minimum is greater than the maximum/);
    const e = loadErrors(`${TASK}resources:\n  cpu: {min: null}\n`);
    expect(e[0]).toMatchObject({ code: "E1023", line: 5, col: 8 });
    expect(e[0]!.message).toMatch(/invalid empty range/);
  });

  it("where dstack takes no range mapping, the error says where the range goes", () => {
    const disk = loadErrors(`${TASK}resources:\n  disk: {min: 100GB}\n`).find((x) => x.code === "E1024");
    expect(disk).toMatchObject({ line: 5, col: 9, hint: expect.stringMatching(/disk: \{size: \{min: 100GB\}\}/) });
    const gpu = loadErrors(`${TASK}resources:\n  gpu: {min: 1}\n`).find((x) => x.code === "E1022");
    expect(gpu).toMatchObject({ line: 5, col: 8, hint: expect.stringMatching(/under count/) });
    const cpu = loadErrors(`${TASK}resources:\n  cpu: {arch: x86, min: 4}\n`).find((x) => x.code === "E1023");
    expect(cpu).toMatchObject({ line: 5, col: 8, hint: expect.stringMatching(/count: \{min: 4\}/) });
  });
});

describe("GPU names written as YAML numbers", () => {
  it("in the object form a number is a name, alone or in a list", () => {
    expect(res("  gpu: {name: 4090}\n").gpu.name).toEqual(["4090"]);
    expect(res("  gpu: {name: [3090, 4090]}\n").gpu.name).toEqual(["3090", "4090"]);
    expect(res("  gpu:\n    name: [3090, A10]\n    count: 2\n").gpu).toMatchObject({ name: ["3090", "A10"], count: { min: 2, max: 2 } });
  });

  it("a bare number is a count, as in dstack; too large a count hints at the name form", () => {
    expect(res("  gpu: 2\n").gpu).toMatchObject({ name: null, count: { min: 2, max: 2 } });
    const d = loadErrors(`${TASK}resources:\n  gpu: 4090\n`);
    expect(d[0]).toMatchObject({ code: "E1026", line: 5, col: 8 });
    expect(d[0]!.hint).toMatch(/gpu: \{name: 4090\}/);
  });
});

describe("explicit nulls", () => {
  it("gpu, shm_size, cpu and memory: null mean the default", () => {
    const r = res("  gpu: null\n  shm_size: null\n  cpu: ~\n  memory: null\n");
    expect(r).toEqual(DEFAULT_RESOURCES);
    expect(res("  gpu: {name: A100, memory: null, total_memory: ~, count: null}\n").gpu).toMatchObject({ memory: null, total_memory: null, count: { min: 1, max: null } });
  });

  it("disk: ~ means no disk requirement (dstack's disk is Optional)", () => {
    expect(res("  disk: ~\n").disk).toBeNull();
  });

  it("a null disk size is still an error", () => {
    const d = loadErrors(`${TASK}resources:\n  disk: {size: null}\n`);
    expect(d.some((x) => x.code === "E1024" && x.line === 5)).toBe(true);
  });
});
