import * as fs from "fs";
import * as path from "path";
import { Command } from "commander";
import { loadRunSpec, readProfilesFile } from "../../src/config";
import { addRunFlags, runFlagsFromOptions } from "../../src/cli/run-flags";
import { runSpecFromCommand } from "../../src/cli/run-spec";
import { ConfigError } from "../../src/diagnostics";
import { describeWhen, sharedProfiles } from "../support/requirements";
import { DEV, errorsOf, load, loadTask, sharedConfigs, TASK, tempDir, testEnv } from "./helpers";

const PROFILES = `profiles:
  - name: cheap
    default: true
    spot_policy: spot
    max_price: 0.5
    backends: [aws]
    max_duration: 1d
    resources:
      gpu: T4
  - name: big
    resources:
      memory: 64GB..
      gpu:
        name: A100
    retry_policy:
      limit: 30min
    regions: [us-east-1]
`;

const local = (files: Record<string, string> = {}) => ({ files: { ".dstack/profiles.yml": PROFILES, ...files } });

describe("profile selection", () => {
  it("the default profile applies when none is named", () => {
    const s = loadTask(TASK, local());
    expect(s.profile.name).toBe("cheap");
    expect(s.profile.path).toMatch(/\.dstack\/profiles\.yml$/);
    expect(s.spot_policy).toBe("spot");
    expect(s.max_price).toBe(0.5);
    expect(s.backends).toEqual(["aws"]);
    expect(s.max_duration).toBe(86400);
    expect(s.resources.gpu.name).toEqual(["T4"]);
    expect(s.profile.sources).toMatchObject({ spot_policy: "profile", max_price: "profile", "resources.gpu": "profile", "resources.memory": "default", retry: "default" });
  });

  it("--profile NAME beats DSTACK_PROFILE beats default", () => {
    expect(loadTask(TASK, { ...local(), profile: "big", env: testEnv({ DSTACK_PROFILE: "cheap" }) }).profile.name).toBe("big");
    expect(loadTask(TASK, { ...local(), env: testEnv({ DSTACK_PROFILE: "big" }) }).profile.name).toBe("big");
  });

  it("--no-profile beats everything", () => {
    const s = loadTask(TASK, { ...local(), profile: null, env: testEnv({ DSTACK_PROFILE: "big" }) });
    expect(s.profile).toMatchObject({ name: null, path: null });
    expect(s.spot_policy).toBe("auto");
  });

  it("no default and nothing named: no profile", () => {
    const s = loadTask(TASK, { files: { ".dstack/profiles.yml": "profiles:\n  - name: a\n    spot_policy: spot\n" } });
    expect(s.profile.name).toBeNull();
    expect(s.spot_policy).toBe("auto");
  });

  it("legacy retry_policy limit maps to retry on every event", () => {
    const s = loadTask(TASK, { ...local(), profile: "big" });
    expect(s.retry).toEqual({ enabled: true, on_events: ["no-capacity", "interruption", "error"], duration: 1800 });
    expect(s.resources.memory).toEqual({ min: 64, max: null });
    expect(s.regions).toEqual(["us-east-1"]);
  });

  it("unknown name: No such profile, listing the known ones", () => {
    const d = errorsOf(() => load(TASK, { ...local(), profile: "bigg" }));
    expect(d).toEqual([expect.objectContaining({ code: "E1080", message: "No such profile: bigg" })]);
    expect(d[0]!.hint).toMatch(/did you mean big\?.*cheap, big/);
    expect(errorsOf(() => load(TASK, { ...local(), env: testEnv({ DSTACK_PROFILE: "zzz" }) }))[0]!.message).toBe("No such profile: zzz");
  });

  it("a named profile without any profiles file is an error", () => {
    expect(errorsOf(() => load(TASK, { profile: "x" }))[0]).toMatchObject({ code: "E1080", message: "No such profile: x (no profiles file)" });
  });

  it("falls back to DSTACK_HOME/profiles.yml; the local file wins and they are not merged", () => {
    const env = testEnv();
    fs.writeFileSync(path.join(env.DSTACK_HOME!, "profiles.yml"), "profiles:\n  - name: home\n    default: true\n    max_price: 9\n");
    expect(loadTask(TASK, { env }).profile.name).toBe("home");
    const s = loadTask(TASK, { ...local(), env });
    expect(s.profile.name).toBe("cheap");
    expect(errorsOf(() => load(TASK, { ...local(), env, profile: "home" }))[0]!.code).toBe("E1080");
  });

  it("profile file errors are positioned in the profiles file", () => {
    const d = errorsOf(() => load(TASK, { files: { ".dstack/profiles.yml": "profiles:\n  - name: a\n    default: true\n    spot_polcy: spot\n" } }));
    expect(d[0]).toMatchObject({ code: "E1010", hint: 'did you mean "spot_policy"?', line: 4, col: 5 });
    expect(d[0]!.file).toMatch(/profiles\.yml$/);
  });

  it.each([
    ["profiles:\n  - name: a\n  - name: a\n", "E1082"],
    ["profiles:\n  - name: a\n    default: true\n  - name: b\n    default: true\n", "E1083"],
    ["profiles:\n  - default: true\n", "E1013"],
    ["profiles:\n  - name: a\n    default: true\n    max_duration: -1h\n", "E1025"],
    ["profiles:\n  - name: a\n    default: true\n    resources:\n      gpu: A100::1\n", "E1022"],
    ["profile:\n  - name: a\n", "E1010"],
    ["profiles: [\n", "E1001"],
  ])("%j -> %s", (yaml, code) => {
    expect(errorsOf(() => load(TASK, { files: { ".dstack/profiles.yml": yaml } })).map((d) => d.code)).toContain(code);
  });

  it("configuration and profile errors are reported together", () => {
    const d = errorsOf(() => load(`${TASK}spot_policy: sometimes\n`, { files: { ".dstack/profiles.yml": "profiles:\n  - name: a\n    default: true\n    max_price: -1\n" } }));
    expect(d.map((x) => x.code)).toEqual(["E1012", "E1014"]);
  });
});

describe("precedence: CLI > configuration > profile > default", () => {
  it("per key, shallowly", () => {
    const s = loadTask(`${TASK}max_price: 2\nresources:\n  memory: 16GB..\n`, { ...local(), flags: { max_price: "3" } });
    expect(s.max_price).toBe(3);
    expect(s.profile.sources.max_price).toBe("cli");
    expect(s.spot_policy).toBe("spot");
    expect(s.resources.memory).toEqual({ min: 16, max: null });
    expect(s.profile.sources["resources.memory"]).toBe("configuration");
    expect(s.resources.gpu.name).toEqual(["T4"]);
    expect(s.profile.sources["resources.gpu"]).toBe("profile");
    expect(s.resources.cpu).toEqual({ arch: null, count: { min: 2, max: null } });
    expect(s.profile.sources["resources.cpu"]).toBe("default");
  });

  it("--gpu/--cpu/--memory/--disk replace the whole sub-spec", () => {
    const s = loadTask(`${TASK}resources:\n  gpu: A100:80GB:2\n  cpu: 16..\n`, { flags: { gpu: "H100", cpu: "4", memory: "1GB..", disk: "10GB.." } });
    expect(s.resources.gpu).toEqual({ vendor: "nvidia", name: ["H100"], count: { min: 1, max: null }, memory: null, total_memory: null, compute_capability: null });
    expect(s.resources.cpu.count).toEqual({ min: 4, max: 4 });
    expect(s.resources.memory).toEqual({ min: 1, max: null });
    expect(s.resources.disk).toEqual({ size: { min: 10, max: null } });
    expect(loadTask(TASK, { flags: { gpu: "2" } }).resources.gpu.count).toEqual({ min: 2, max: 2 });
  });

  it("spot, duration, backends, regions, instance types, name, build", () => {
    const s = loadTask(`${TASK}name: from-file\nspot_policy: auto\n`, {
      flags: { spot_policy: "on-demand", max_duration: "off", backends: ["local"], regions: ["r1", "r2"], instance_types: ["t1"], name: "from-cli", build: true },
    });
    expect([s.spot_policy, s.max_duration, s.backends, s.regions, s.instance_types, s.name, s.name_generated, s.build_missing, s.force_build]).toEqual([
      "on-demand",
      null,
      ["local"],
      ["r1", "r2"],
      ["t1"],
      "from-cli",
      false,
      true,
      false,
    ]);
    // --force-build builds again, and so also builds a missing image
    const forced = loadTask(TASK, { flags: { force_build: true } });
    expect([forced.build_missing, forced.force_build]).toEqual([true, true]);
    expect([loadTask(TASK).build_missing, loadTask(TASK).force_build]).toEqual([false, false]);
  });

  it("--no-retry, --retry, --retry-duration", () => {
    expect(loadTask(TASK, { flags: { retry: false } }).retry.enabled).toBe(false);
    const dev = load(DEV, { flags: { retry: true } });
    expect(dev.retry).toEqual({ enabled: true, on_events: ["no-capacity", "interruption", "error"], duration: 3600 });
    const kept = loadTask(`${TASK}retry:\n  on_events: [no-capacity]\n  duration: 2h\n`, { flags: { retry_duration: "30m" } });
    expect(kept.retry).toEqual({ enabled: true, on_events: ["no-capacity"], duration: 1800 });
    expect(loadTask(`${TASK}retry: false\n`, { flags: { retry: true } }).retry.enabled).toBe(true);
  });

  it("retry forms in the configuration", () => {
    expect(loadTask(`${TASK}retry: true\n`).retry).toEqual({ enabled: true, on_events: ["no-capacity", "interruption", "error"], duration: 3600 });
    expect(loadTask(`${TASK}retry: false\n`).retry.enabled).toBe(false);
    expect(loadTask(`${TASK}retry:\n  on_events: [error, no-capacity]\n`).retry).toEqual({ enabled: true, on_events: ["no-capacity", "error"], duration: 3600 });
    expect(loadTask(`${TASK}retry_policy:\n  retry: true\n  limit: 1d\n`).retry).toEqual({ enabled: true, on_events: ["no-capacity", "interruption", "error"], duration: 86400 });
    expect(loadTask(`${TASK}retry_policy:\n  retry: false\n`).retry.enabled).toBe(false);
    expect(loadTask(`${TASK}retry:\n  on_events: [error]\nretry_policy:\n  retry: true\n`).retry.on_events).toEqual(["error"]);
  });

  it.each([
    [{ gpu: "A100::2" }, /--gpu: GPU spec/],
    [{ cpu: "lots" }, /--cpu/],
    [{ memory: "1XB" }, /--memory/],
    [{ disk: "-1GB" }, /--disk/],
    [{ max_price: "cheap" }, /--max-price/],
    [{ max_price: "0" }, /--max-price/],
    [{ max_duration: "-1h" }, /--max-duration/],
    [{ spot_policy: "spto" }, /--spot-policy/],
    [{ retry: false, retry_duration: "1h" }, /contradict/],
    [{ retry_duration: "soon" }, /--retry-duration/],
    [{ backends: ["awz"] }, /--backend: unknown backend "awz"/],
    [{ name: "Bad Name" }, /--name: invalid run name/],
  ])("bad flag %j", (flags, message) => {
    const d = errorsOf(() => load(TASK, { flags }));
    expect(d.every((x) => x.code === "E1090" || x.code === "E1034")).toBe(true);
    expect(d.map((x) => x.message).join("\n")).toMatch(message);
  });
});

describe("run flags on a commander command", () => {
  const parse = (args: string[]) => {
    const cmd = addRunFlags(new Command("up").argument("[DIR]").exitOverride());
    cmd.parse(args, { from: "user" });
    return { dir: cmd.args[0], opts: cmd.opts() };
  };

  it("negations: --no-profile is false, absent is undefined", () => {
    expect(parse([]).opts.profile).toBeUndefined();
    expect(parse(["--no-profile"]).opts.profile).toBe(false);
    expect(parse(["--profile", "big"]).opts.profile).toBe("big");
    expect(parse([]).opts.retry).toBeUndefined();
    expect(parse(["--retry"]).opts.retry).toBe(true);
    expect(parse(["--no-retry"]).opts.retry).toBe(false);
  });

  it("maps every flag", () => {
    const { opts } = parse([
      "--gpu", "A100", "--cpu", "4", "--memory", "8GB", "--disk", "50GB", "--max-price", "1.5", "--max-duration", "2h", "--spot",
      "--retry-duration", "1h", "-b", "aws", "--backend", "gcp", "-r", "r1", "--instance-type", "t1", "--instance-type", "t2",
      "-e", "A=1", "--env", "B", "-n", "my-run", "--build",
    ]);
    expect(runFlagsFromOptions(opts)).toEqual({
      gpu: "A100", cpu: "4", memory: "8GB", disk: "50GB", max_price: "1.5", max_duration: "2h", spot_policy: "spot", retry_duration: "1h",
      backends: ["aws", "gcp"], regions: ["r1"], instance_types: ["t1", "t2"], env: ["A=1", "B"], name: "my-run", build: true,
    });
  });

  it.each([
    [["--on-demand"], "on-demand"],
    [["--spot-auto"], "auto"],
    [["--spot-policy", "spot"], "spot"],
    [["--spot", "--spot-policy", "spot"], "spot"],
  ])("%j -> spot_policy %s", (args, policy) => {
    expect(runFlagsFromOptions(parse(args).opts).spot_policy).toBe(policy);
  });

  it("conflicting spot flags are a ConfigError", () => {
    expect(() => runFlagsFromOptions(parse(["--spot", "--on-demand"]).opts)).toThrow(ConfigError);
  });

  it("runSpecFromCommand: DIR, -f, profile and flags", () => {
    const dir = tempDir({ ".dstack.yml": TASK, "dev.dstack.yml": DEV, ".dstack/profiles.yml": PROFILES });
    const env = testEnv();
    const a = runSpecFromCommand(dir, parse(["-f", path.join(dir, ".dstack.yml"), "--no-profile", "--gpu", "H100"]).opts, env);
    expect(a.resources.gpu.name).toEqual(["H100"]);
    expect(a.profile.name).toBeNull();
    const b = runSpecFromCommand(dir, parse(["-f", path.join(dir, "dev.dstack.yml"), "--profile", "big"]).opts, env);
    expect(b.type).toBe("dev-environment");
    expect(b.profile.name).toBe("big");
    expect(b.resources.gpu.name).toEqual(["A100"]);
    expect(() => runSpecFromCommand(dir, parse([]).opts, env)).toThrow(ConfigError);
  });
});

describeWhen(sharedProfiles, "real profiles", () => {
  const dir = path.join(sharedConfigs, "profiles");
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yml"));
  it.each(files)("%s loads and applies", (f) => {
    const file = path.join(dir, f);
    const loaded = readProfilesFile(file);
    expect(loaded.diagnostics).toEqual([]);
    const env = testEnv();
    fs.copyFileSync(file, path.join(env.DSTACK_HOME!, "profiles.yml"));
    const name = String(loaded.profiles[0]!.name);
    const s = loadRunSpec({ dir: tempDir({ ".dstack.yml": TASK }), env, profile: name });
    expect(s.profile.name).toBe(name);
  });
});

describe("seed-era profiles (dstack 0.10: a single resource value is a minimum)", () => {
  const SEED = `profiles:
  - name: gpu-large
    project: gcp
    resources:
       memory: 48GB
       cpu: 4
       disk: 200GB
       gpu:
         memory: 24GB
         count: 1
    default: true
`;

  it("single values load as minimums, ranges and spec strings as written", () => {
    const s = loadTask(TASK, { files: { ".dstack/profiles.yml": SEED } });
    expect(s.resources.memory).toEqual({ min: 48, max: null });
    expect(s.resources.cpu).toEqual({ arch: null, count: { min: 4, max: null } });
    expect(s.resources.disk).toEqual({ size: { min: 200, max: null } });
    expect(s.resources.gpu).toMatchObject({ memory: { min: 24, max: null }, count: { min: 1, max: null } });
    const r = loadTask(TASK, { files: { ".dstack/profiles.yml": "profiles:\n  - name: p\n    default: true\n    resources:\n      memory: 16GB..32GB\n      gpu: A10:24GB:2\n" } });
    expect(r.resources.memory).toEqual({ min: 16, max: 32 });
    expect(r.resources.gpu).toMatchObject({ memory: { min: 24, max: 24 }, count: { min: 2, max: 2 } });
  });

  it("the configuration's single values stay exact", () => {
    expect(loadTask(`${TASK}resources:\n  memory: 24GB\n`).resources.memory).toEqual({ min: 24, max: 24 });
  });

  it("errors in a seed-era profile stay positioned in the profiles file", () => {
    const d = errorsOf(() => load(TASK, { files: { ".dstack/profiles.yml": "profiles:\n  - name: p\n    default: true\n    resources:\n      memory: lots\n" } }));
    expect(d[0]).toMatchObject({ code: "E1021", line: 5, col: 15, file: expect.stringMatching(/profiles\.yml$/) });
  });

  describeWhen(sharedProfiles, "the shared seed profiles", () => {
    it("every profile with memory: NGB loads it as a minimum", () => {
      const dir = path.join(sharedConfigs, "profiles");
      let seen = 0;
      for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".yml"))) {
        const text = fs.readFileSync(path.join(dir, f), "utf8");
        const m = /^\s+memory: (\d+)GB\s*$/m.exec(text);
        const name = /name: (\S+)/.exec(text);
        if (!m || !name || !/^\s+resources:/m.test(text)) continue;
        const s = loadTask(TASK, { files: { ".dstack/profiles.yml": text }, profile: name[1]! });
        expect(s.resources.memory).toEqual({ min: Number(m[1]), max: null });
        seen++;
      }
      expect(seen).toBeGreaterThan(0);
    });
  });
});
