import {
  formatDuration,
  formatRange,
  GrammarError,
  inferVendor,
  parseComputeCapability,
  parseCountRange,
  parseCpuSpec,
  parseDiskSpec,
  parseDuration,
  parseGpuSpec,
  parseMemory,
  parseMemoryRange,
  parseOffDuration,
} from "../../src/config/grammar";

describe("memory sizes", () => {
  it.each([
    ["24GB", 24],
    ["24gb", 24],
    ["24 GB", 24],
    ["512MB", 0.5],
    ["1TB", 1024],
    ["1.5TB", 1536],
    ["0.5GB", 0.5],
    ["16", 16],
    [8, 8],
    [0.25, 0.25],
    ["100Gb", 100],
  ])("%p is %p GB", (input, gb) => {
    expect(parseMemory(input)).toBe(gb);
  });

  it.each([["24G"], ["GB"], ["-1GB"], ["24 GiB"], ["lots"], [-3], [true], [null], [[1]]])("%p is rejected", (input) => {
    expect(() => parseMemory(input)).toThrow(GrammarError);
  });
});

describe("ranges", () => {
  it.each([
    ["2..8", { min: 2, max: 8 }],
    ["2..", { min: 2, max: null }],
    ["..8", { min: null, max: 8 }],
    ["4", { min: 4, max: 4 }],
    [4, { min: 4, max: 4 }],
    [" 1 .. 2 ", { min: 1, max: 2 }],
    [{ min: 1, max: 3 }, { min: 1, max: 3 }],
    [{ min: 1 }, { min: 1, max: null }],
    [{ max: "3" }, { min: null, max: 3 }],
  ])("count range %p", (input, expected) => {
    expect(parseCountRange(input)).toEqual(expected);
  });

  it.each([["24GB..80GB", { min: 24, max: 80 }], ["24GB..", { min: 24, max: null }], ["..1TB", { min: null, max: 1024 }], ["512MB..1GB", { min: 0.5, max: 1 }], [{ min: "8GB" }, { min: 8, max: null }]])(
    "memory range %p",
    (input, expected) => {
      expect(parseMemoryRange(input)).toEqual(expected);
    },
  );

  it.each([[".."], ["8..2"], ["1..2..3"], ["1.5"], ["-1"], ["a..b"], [{ min: 1, maxx: 2 }], [{}], [[1, 2]], [true]])("%p is rejected", (input) => {
    expect(() => parseCountRange(input)).toThrow(GrammarError);
  });

  it("names the problem in the message", () => {
    expect(() => parseCountRange("8..2")).toThrow(/minimum is greater than the maximum/);
    expect(() => parseCountRange("..")).toThrow(/empty range/);
    try {
      parseMemoryRange("10GB..5GB");
    } catch (e) {
      expect((e as GrammarError).hint).toBe("write 5GB..10GB");
    }
  });

  it("formats ranges back", () => {
    expect(formatRange({ min: 2, max: null })).toBe("2..");
    expect(formatRange({ min: null, max: 8 }, "GB")).toBe("..8GB");
    expect(formatRange({ min: 4, max: 4 })).toBe("4");
  });
});

describe("durations", () => {
  it.each([
    [90, 90],
    ["90", 90],
    ["30s", 30],
    ["15m", 900],
    ["30min", 1800],
    ["2h", 7200],
    ["1d", 86400],
    ["1w", 604800],
    ["48h", 172800],
    ["0", 0],
    [" 2H ", 7200],
  ])("%p is %p seconds", (input, seconds) => {
    expect(parseDuration(input)).toBe(seconds);
  });

  it.each([["-5m"], [-1], ["1.5h"], [1.5], ["2 hours ago"], ["h"], ["2y"], [""], [true], [null], [{}]])("%p is rejected", (input) => {
    expect(() => parseDuration(input)).toThrow(GrammarError);
  });

  it("explains negative durations", () => {
    expect(() => parseDuration("-5m")).toThrow(/cannot be negative/);
  });

  it("off, false and true", () => {
    expect(parseOffDuration("off")).toBeNull();
    expect(parseOffDuration(false)).toBeNull();
    expect(parseOffDuration(true)).toBeUndefined();
    expect(parseOffDuration("2h")).toBe(7200);
  });

  it("formats durations back", () => {
    expect(formatDuration(3600)).toBe("1h");
    expect(formatDuration(5400)).toBe("90m");
    expect(formatDuration(61)).toBe("61s");
    expect(formatDuration(null)).toBe("off");
  });
});

describe("gpu spec", () => {
  const any = { vendor: null, name: null, count: { min: 1, max: null }, memory: null, total_memory: null, compute_capability: null };

  it.each([
    ["A100", { ...any, vendor: "nvidia", name: ["A100"] }],
    ["A100:80GB:2", { ...any, vendor: "nvidia", name: ["A100"], memory: { min: 80, max: 80 }, count: { min: 2, max: 2 } }],
    ["24GB..40GB:2", { ...any, memory: { min: 24, max: 40 }, count: { min: 2, max: 2 } }],
    ["nvidia", { ...any, vendor: "nvidia" }],
    ["NVIDIA:4..8", { ...any, vendor: "nvidia", count: { min: 4, max: 8 } }],
    ["nvidia:B200:8", { ...any, vendor: "nvidia", name: ["B200"], count: { min: 8, max: 8 } }],
    ["v2-8", { ...any, vendor: "google", name: ["v2-8"] }],
    ["v5litepod-8", { ...any, vendor: "google", name: ["v5litepod-8"] }],
    ["tpu:v5p-8", { ...any, vendor: "google", name: ["v5p-8"] }],
    ["tpu-v3-8", { ...any, vendor: "google", name: ["v3-8"] }],
    ["H100:1..8", { ...any, vendor: "nvidia", name: ["H100"], count: { min: 1, max: 8 } }],
    ["A10G,A100", { ...any, vendor: "nvidia", name: ["A10G", "A100"] }],
    ["MI300X:4..", { ...any, vendor: "amd", name: ["MI300X"], count: { min: 4, max: null } }],
    ["amd:MI300X", { ...any, vendor: "amd", name: ["MI300X"] }],
    ["tt-galaxy-wh:32", { ...any, vendor: "tenstorrent", name: ["tt-galaxy-wh"], count: { min: 32, max: 32 } }],
    ["tt:n150", { ...any, vendor: "tenstorrent", name: ["n150"] }],
    ["intel:Gaudi2", { ...any, vendor: "intel", name: ["Gaudi2"] }],
    ["1..8", { ...any, count: { min: 1, max: 8 } }],
    ["24GB", { ...any, memory: { min: 24, max: 24 } }],
    ["16GB..24GB", { ...any, memory: { min: 16, max: 24 } }],
    ["80GB:8", { ...any, memory: { min: 80, max: 80 }, count: { min: 8, max: 8 } }],
    [" A100 : 2 ", { ...any, vendor: "nvidia", name: ["A100"], count: { min: 2, max: 2 } }],
    [1, { ...any, count: { min: 1, max: 1 } }],
    [0, { ...any, count: { min: 0, max: 0 } }],
    ["FancyGPU", { ...any, name: ["FancyGPU"] }],
    ["A100,MI300X", { ...any, name: ["A100", "MI300X"] }],
  ])("%p", (input, expected) => {
    expect(parseGpuSpec(input)).toEqual(expected);
  });

  it("object form", () => {
    expect(parseGpuSpec({ memory: "24GB..", count: "1.." })).toEqual({ ...any, memory: { min: 24, max: null } });
    expect(parseGpuSpec({ name: "A10" })).toEqual({ ...any, vendor: "nvidia", name: ["A10"] });
    expect(parseGpuSpec({ vendor: "amd", name: ["MI300X", "MI325X"], count: 2, total_memory: "384GB..", compute_capability: "9.0" })).toEqual({
      vendor: "amd",
      name: ["MI300X", "MI325X"],
      count: { min: 2, max: 2 },
      memory: null,
      total_memory: { min: 384, max: null },
      compute_capability: [9, 0],
    });
    expect(parseGpuSpec({ vendor: "tpu" }).vendor).toBe("google");
    expect(parseGpuSpec({ vendor: "tt" }).vendor).toBe("tenstorrent");
  });

  it.each([
    ["A100::2", /empty token/],
    ["", /empty/],
    ["A100:H100", /name "H100" conflicts/],
    ["nvidia:amd", /vendor "amd" conflicts/],
    ["24GB:40GB", /memory "40GB" conflicts/],
    ["2:4", /count "4" conflicts/],
    ["8..2", /invalid count token "8\.\.2"/],
    ["A100,,H100", /a name is empty/],
    ["1XB", /invalid memory token/],
    [-1, /invalid count/],
    [1.5, /invalid count/],
    [[1], /invalid GPU spec/],
    [true, /invalid GPU spec/],
  ])("%p is rejected (%p)", (input, message) => {
    expect(() => parseGpuSpec(input)).toThrow(message);
  });

  it.each([[{ vendor: "nvida" }, /invalid GPU vendor/], [{ nam: "A100" }, /unknown GPU property "nam"/], [{ name: [] }, /empty/], [{ compute_capability: "sm80" }, /compute capability/]])(
    "object %p is rejected",
    (input, message) => {
      expect(() => parseGpuSpec(input)).toThrow(message);
    },
  );

  it("infers vendors from names", () => {
    expect(inferVendor("H100")).toBe("nvidia");
    expect(inferVendor("RTX4090")).toBe("nvidia");
    expect(inferVendor("L40S")).toBe("nvidia");
    expect(inferVendor("MI250")).toBe("amd");
    expect(inferVendor("v6e-8")).toBe("google");
    expect(inferVendor("n300")).toBe("tenstorrent");
    expect(inferVendor("Gaudi3")).toBe("intel");
    expect(inferVendor("Whatever")).toBeUndefined();
  });

  it("compute capability forms", () => {
    expect(parseComputeCapability(7.5)).toEqual([7, 5]);
    expect(parseComputeCapability(8)).toEqual([8, 0]);
    expect(parseComputeCapability("8.6")).toEqual([8, 6]);
    expect(parseComputeCapability([9, 0])).toEqual([9, 0]);
    expect(() => parseComputeCapability("8")).toThrow(GrammarError);
    expect(() => parseComputeCapability([1, 2, 3])).toThrow(GrammarError);
  });
});

describe("cpu spec", () => {
  it.each([
    [4, { arch: null, count: { min: 4, max: 4 } }],
    ["2..", { arch: null, count: { min: 2, max: null } }],
    ["..64", { arch: null, count: { min: null, max: 64 } }],
    ["x86:8..", { arch: "x86", count: { min: 8, max: null } }],
    ["arm:4", { arch: "arm", count: { min: 4, max: 4 } }],
    ["8:arm", { arch: "arm", count: { min: 8, max: 8 } }],
    ["arm", { arch: "arm", count: { min: 2, max: null } }],
    [{ arch: "x86", count: "16.." }, { arch: "x86", count: { min: 16, max: null } }],
    [{ count: 3 }, { arch: null, count: { min: 3, max: 3 } }],
  ])("%p", (input, expected) => {
    expect(parseCpuSpec(input)).toEqual(expected);
  });

  it.each([["risc:4"], ["x86:arm"], ["4:8"], ["4::"], [""], [{ arch: "mips" }], [{ cores: 4 }], [2.5], [[4]]])("%p is rejected", (input) => {
    expect(() => parseCpuSpec(input)).toThrow(GrammarError);
  });
});

describe("disk spec", () => {
  it.each([
    ["100GB", { size: { min: 100, max: 100 } }],
    ["100GB..", { size: { min: 100, max: null } }],
    [200, { size: { min: 200, max: 200 } }],
    [{ size: "1TB.." }, { size: { min: 1024, max: null } }],
  ])("%p", (input, expected) => {
    expect(parseDiskSpec(input)).toEqual(expected);
  });

  it.each([[{}], [{ size: "1GB", type: "ssd" }], ["big"], ["10GB..5GB"]])("%p is rejected", (input) => {
    expect(() => parseDiskSpec(input)).toThrow(GrammarError);
  });
});

describe("grammar properties", () => {
  const fc = require("fast-check") as typeof import("fast-check");
  const end = fc.option(fc.nat(10000), { nil: null });

  it("formatRange and parseCountRange round-trip", () => {
    fc.assert(
      fc.property(end, end, (a, b) => {
        if (a === null && b === null) return;
        const r = { min: a !== null && b !== null ? Math.min(a, b) : a, max: a !== null && b !== null ? Math.max(a, b) : b };
        expect(parseCountRange(formatRange(r))).toEqual(r);
      }),
      { numRuns: 500 },
    );
  });

  it("durations round-trip through formatDuration", () => {
    fc.assert(
      fc.property(fc.nat(10_000_000), (s) => {
        expect(parseDuration(formatDuration(s))).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it("sizes in MB, GB and TB agree", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4096 }), (n) => {
        expect(parseMemory(`${n}GB`)).toBe(n);
        expect(parseMemory(`${n * 1024}MB`)).toBe(n);
        expect(parseMemory(`${n}TB`)).toBe(n * 1024);
      }),
      { numRuns: 300 },
    );
  });

  it("any GPU string either parses to a well-formed spec or throws GrammarError", () => {
    const token = fc.oneof(fc.constantFrom("A100", "nvidia", "tpu", "24GB", "1..8", "2", "..", "80GB..", "v5p-8", "A10G,A100", "", "x"), fc.string({ maxLength: 6 }));
    fc.assert(
      fc.property(fc.array(token, { maxLength: 4 }), (tokens) => {
        try {
          const g = parseGpuSpec(tokens.join(":"));
          expect(g.count).toBeDefined();
          if (g.count.min !== null && g.count.max !== null) expect(g.count.min).toBeLessThanOrEqual(g.count.max);
        } catch (e) {
          expect(e).toBeInstanceOf(GrammarError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
