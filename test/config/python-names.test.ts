import * as fs from "fs";
import * as path from "path";
import { generatedRunName, localPythonVersion, repoIdOf } from "../../src/config";
import { DEV, loadDev, loadErrors, loadTask, TASK, tempDir, testEnv } from "./helpers";

describe("local python detection", () => {
  it("reads the version from the python3 symlink target without spawning", () => {
    const bin = tempDir({ "real/python3.12": "#!/bin/sh\nexit 1\n" });
    fs.symlinkSync(path.join(bin, "real", "python3.12"), path.join(bin, "python3"));
    const env = testEnv({ PATH: bin, DSTACK_LOCAL_PYTHON: undefined });
    delete env.DSTACK_LOCAL_PYTHON;
    expect(localPythonVersion(env)).toBe("3.12");
    expect(fs.existsSync(path.join(env.DSTACK_HOME!, "cache", "local-python.json"))).toBe(false);
  });

  it("asks a shim once and caches the answer under DSTACK_HOME/cache", () => {
    const bin = tempDir({ python3: "#!/bin/sh\necho 3.10\n" });
    fs.chmodSync(path.join(bin, "python3"), 0o755);
    const env = testEnv({ PATH: bin });
    delete env.DSTACK_LOCAL_PYTHON;
    expect(localPythonVersion(env)).toBe("3.10");
    const cache = JSON.parse(fs.readFileSync(path.join(env.DSTACK_HOME!, "cache", "local-python.json"), "utf8"));
    expect(cache.version).toBe("3.10");
    expect(cache.key).toContain(path.join(bin, "python3"));
    expect(localPythonVersion(env)).toBe("3.10");
  });

  it("unsupported or missing pythons fall back to 3.11", () => {
    const old = tempDir({ "python3.8": "" });
    fs.symlinkSync(path.join(old, "python3.8"), path.join(old, "python3"));
    const env = testEnv({ PATH: old });
    delete env.DSTACK_LOCAL_PYTHON;
    expect(localPythonVersion(env)).toBe("3.11");
    const none = testEnv({ PATH: tempDir() });
    delete none.DSTACK_LOCAL_PYTHON;
    expect(localPythonVersion(none)).toBe("3.11");
  });

  it("a dev environment without python or image gets the detected version", () => {
    expect(loadDev(DEV, { env: testEnv({ DSTACK_LOCAL_PYTHON: "3.13" }) }).python).toBe("3.13");
    expect(loadDev(`${DEV}image: ubuntu\n`, { env: testEnv({ DSTACK_LOCAL_PYTHON: "3.13" }) }).python).toBeNull();
  });
});

describe("names and ids", () => {
  it("generated names are deterministic, readable and valid run names", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const n = generatedRunName("/repo", `/repo/${i}.dstack.yml`);
      expect(n).toMatch(/^[a-z]+-[a-z]+-[1-9]$/);
      expect(n.length).toBeLessThanOrEqual(41);
      expect(generatedRunName("/repo", `/repo/${i}.dstack.yml`)).toBe(n);
      seen.add(n);
    }
    expect(seen.size).toBeGreaterThan(150);
  });

  it("repo ids are stable hashes of the directory", () => {
    expect(repoIdOf("/a")).toBe(repoIdOf("/a"));
    expect(repoIdOf("/a")).not.toBe(repoIdOf("/b"));
    expect(repoIdOf("/a")).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe("more properties", () => {
  it("legacy termination settings map to idle_duration", () => {
    expect(loadTask(`${TASK}termination_idle_time: 1h\n`).idle_duration).toBe(3600);
    expect(loadTask(`${TASK}termination_policy: dont-destroy\n`).idle_duration).toBeNull();
    expect(loadTask(`${TASK}idle_duration: off\n`).idle_duration).toBeNull();
    expect(loadTask(`${TASK}pool_name: p\ninstance_name: i\n`).type).toBe("task");
  });

  it("YAML 1.1 booleans get a hint", () => {
    const d = loadErrors(`${DEV}privileged: yes\n`);
    expect(d[0]).toMatchObject({ code: "E1011", hint: "YAML 1.2 reads yes as a string: write true" });
  });

  it("group resources, ports and volumes are checked", () => {
    const d = loadErrors("type: task\ngroups:\n  - nodes: 1\n    commands: [x]\n    resources:\n      gpu: H100::8\n    ports: [0]\n");
    expect(d.map((x) => [x.code, x.line])).toEqual([
      ["E1022", 6],
      ["E1060", 7],
    ]);
  });

  it("schedule as a list of crons, tags as strings", () => {
    const s = loadTask(`${TASK}schedule:\n  cron: ["0 8 * * mon-fri", "0 20 * * *"]\n`);
    expect(s.schedule).toEqual({ cron: ["0 8 * * mon-fri", "0 20 * * *"] });
  });

  it("env values may be empty", () => {
    expect(loadTask(`${TASK}env: [EMPTY=]\n`).env).toEqual({ EMPTY: "" });
  });

  it.each([
    ["type: task\ncommands: [x]\nrepos: [a, b]\n", "E1092"],
    ["type: task\ncommands: [x]\nrepos: [{local_path: a, url: https://x}]\n", "E1092"],
    ["type: task\ncommands: [x]\nrepos: [{branch: main}]\n", "E1092"],
    ["type: task\ncommands: [x]\nrepos: [{local_path: a, path: ~bob/x}]\n", "E1092"],
    ["type: dev-environment\nide: windsurf\nversion: latest\n", "E1039"],
    ["type: task\ncommands: [x]\nfiles: [\"a:b:c\"]\n", "E1093"],
    ["type: task\ncommands: [x]\nfiles: [\":x\"]\n", "E1093"],
    ["type: task\ncommands: [x]\nfiles: [{local_path: a}]\n", "E1013"],
  ])("%j -> %s", (yaml, code) => {
    expect(loadErrors(yaml).map((d) => d.code)).toContain(code);
  });

  it("a windsurf version@commit is accepted", () => {
    expect(loadDev("type: dev-environment\nide: windsurf\nversion: 1.106.0@8951cd3a\n").version).toBe("1.106.0@8951cd3a");
  });

  it("YAML anchors, aliases and merge keys work", () => {
    const t = loadTask("type: task\ncommands: &cmds [a, b]\ninit: *cmds\n".replace("init: *cmds\n", "setup: *cmds\n"));
    expect(t.setup).toEqual(["a", "b"]);
    const m = loadTask("type: task\ncommands: [x]\nresources:\n  <<: {cpu: 4, memory: 16GB}\n  gpu: A100\n");
    expect(m.resources.cpu.count).toEqual({ min: 4, max: 4 });
    expect(m.resources.memory).toEqual({ min: 16, max: 16 });
  });
});

describe("configuration file names", () => {
  const { isConfigurationFileName } = require("../../src/config") as typeof import("../../src/config");
  it.each([
    [".dstack.yml", true],
    ["train.dstack.yml", true],
    [".dstack.yaml", true],
    ["a.b.dstack.yml", true],
    ["dstack.yml", false],
    ["train.yml", false],
    ["x.dstack.yml.bak", false],
    ["xdstack.yml", false],
  ])("%s -> %s", (name, ok) => {
    expect(isConfigurationFileName(name)).toBe(ok);
  });
});

describe("file encodings", () => {
  it("CRLF line endings and a BOM load, and positions stay right", () => {
    const s = loadTask("\ufefftype: task\r\ncommands:\r\n  - echo hi\r\n");
    expect(s.commands).toEqual(["echo hi"]);
    const d = loadErrors("type: task\r\ncommands: [x]\r\nide: vscode\r\n");
    expect(d[0]).toMatchObject({ code: "E1010", line: 3, col: 1, length: 3 });
  });
});

describe("numbers as written", () => {
  it("an infinite max_price is rejected", () => {
    expect(loadErrors("type: task\ncommands: [x]\nmax_price: .inf\n").map((d) => d.code)).toEqual(["E1011"]);
  });
  it("a numeric user is a uid", () => {
    expect(loadDev("type: dev-environment\nuser: 1000\n").user).toBe("1000");
  });
  it("an unquoted IDE version keeps its trailing zero", () => {
    expect(loadDev("type: dev-environment\nide: vscode\nversion: 1.90\n").version).toBe("1.90");
  });
  it("python 3.10 unquoted is 3.10; 3.1 is also 3.10", () => {
    expect(loadDev("type: dev-environment\npython: 3.10\n").python).toBe("3.10");
    expect(loadDev("type: dev-environment\npython: 3.1\n").python).toBe("3.10");
    expect(loadDev("type: dev-environment\npython: 3.12\n").python).toBe("3.12");
  });
});

