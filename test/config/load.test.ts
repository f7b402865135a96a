import * as fs from "fs";
import * as path from "path";
import { findConfigurationFile, loadConfiguration, loadRunSpec, unsupportedDiagnostics } from "../../src/config";
import { DEFAULT_RESOURCES } from "../../src/config/runspec";
import { ConfigError } from "../../src/diagnostics";
import { DEV, errorsOf, load, loadAny, loadDev, loadErrors, loadTask, TASK, tempDir, testEnv } from "./helpers";

const codes = (yaml: string, opts = {}) => loadErrors(yaml, opts).map((d) => d.code);

describe("dev-environment defaults", () => {
  const s = loadDev(DEV);
  it("has every default resolved", () => {
    expect(s.type).toBe("dev-environment");
    expect(s.ide).toBe("vscode");
    expect(s.python).toBe("3.11");
    expect(s.image).toBeNull();
    expect(s.working_dir).toBe("/workflow");
    expect(s.resources).toEqual(DEFAULT_RESOURCES);
    expect(s.spot_policy).toBe("on-demand");
    expect(s.retry).toEqual({ enabled: false, on_events: [], duration: null });
    expect(s.max_duration).toBeNull();
    expect(s.idle_duration).toBe(300);
    expect(s.stop_duration).toBe(300);
    expect(s.creation_policy).toBe("reuse-or-create");
    expect(s.inactivity_duration).toBeNull();
    expect(s.priority).toBe(0);
    expect(s.tags).toEqual({});
    expect(s.env).toEqual({});
    expect(s.ports).toEqual([]);
    expect(s.volumes).toEqual([]);
    expect(s.unsupported).toEqual([]);
    expect(s.force_build).toBe(false);
    expect(s.profile).toEqual({ name: null, path: null, sources: expect.objectContaining({ spot_policy: "default", "resources.gpu": "default" }) });
  });

  it("generates a stable readable name and repo id", () => {
    expect(s.name_generated).toBe(true);
    expect(s.name).toMatch(/^[a-z]+-[a-z]+-[1-9]$/);
    expect(s.repo_id).toMatch(/^[0-9a-f]{16}$/);
    const dir = path.dirname(s.configuration_path);
    const again = loadRunSpec({ dir, env: testEnv() });
    expect(again.name).toBe(s.name);
    expect(again.repo_id).toBe(s.repo_id);
  });

  it("ide may be absent (SSH only)", () => {
    expect(loadDev("type: dev-environment\n").ide).toBeNull();
  });
});

describe("task defaults", () => {
  const s = loadTask(TASK);
  it("spot auto, no retry (dstack's default: retry only when asked), one node", () => {
    expect(s.spot_policy).toBe("auto");
    expect(s.retry).toEqual({ enabled: false, on_events: [], duration: null });
    expect(s.nodes).toBe(1);
    expect(s.commands).toEqual(["echo hi"]);
  });
});

describe("properties", () => {
  it("image, user, privileged, shell, entrypoint, working_dir", () => {
    const s = loadTask(`${TASK}image: python:3.11\nuser: "1000:1000"\nprivileged: true\nshell: bash\nentrypoint: bash -c\nworking_dir: /workflow/sub\n`);
    expect([s.image, s.python, s.user, s.privileged, s.shell, s.entrypoint, s.working_dir]).toEqual(["python:3.11", null, "1000:1000", true, "bash", "bash -c", "/workflow/sub"]);
  });

  it.each([
    ["3.9", "3.9"],
    ["3.10", "3.10"],
    ['"3.10"', "3.10"],
    ["3.1", "3.10"],
    ["3.12", "3.12"],
    ["3.13", "3.13"],
  ])("python %s -> %s", (yaml, version) => {
    expect(loadDev(`${DEV}python: ${yaml}\n`).python).toBe(version);
  });

  it("python defaults to the local version (DSTACK_LOCAL_PYTHON)", () => {
    expect(loadDev(DEV, { env: testEnv({ DSTACK_LOCAL_PYTHON: "3.12" }) }).python).toBe("3.12");
    expect(loadDev(DEV, { env: testEnv({ DSTACK_LOCAL_PYTHON: "2.7" }) }).python).toBe("3.11");
  });

  it("nvcc, version, init, setup, build", () => {
    const s = loadDev(`${DEV}nvcc: true\nversion: "1.90"\ninit: [a, b]\nsetup: [s]\nbuild: [pip install x]\n`);
    expect([s.nvcc, s.version, s.init, s.setup, s.build]).toEqual([true, "1.90", ["a", "b"], ["s"], ["pip install x"]]);
  });

  it("cursor and windsurf ides", () => {
    expect(loadDev("type: dev-environment\nide: cursor\n").ide).toBe("cursor");
    expect(loadDev("type: dev-environment\nide: windsurf\n").ide).toBe("windsurf");
  });

  it("inactivity_duration", () => {
    expect(loadDev(`${DEV}inactivity_duration: 2h\n`).inactivity_duration).toBe(7200);
    expect(loadDev(`${DEV}inactivity_duration: off\n`).inactivity_duration).toBeNull();
    expect(loadDev(`${DEV}inactivity_duration: false\n`).inactivity_duration).toBeNull();
  });

  it("docker: true implies privileged and no python", () => {
    const s = loadDev(`${DEV}docker: true\n`);
    expect([s.docker, s.privileged, s.python]).toEqual([true, true, null]);
  });

  it("profile properties at the top level", () => {
    const s = loadTask(
      `${TASK}spot_policy: spot\nmax_price: 1.5\nmax_duration: 2h\nbackends: [aws, gcp]\nregions: [us-east-1]\navailability_zones: [us-east-1a]\ninstance_types: [p3.2xlarge]\nidle_duration: 10m\nstop_duration: off\ncreation_policy: reuse\nfleets: [f]\ntags: {team: ml, n: 1}\nreservation: cr-1\npriority: 50\nutilization_policy: {min_gpu_utilization: 10, time_window: 1h}\nschedule: {cron: "15 23 * * *"}\n`,
    );
    expect(s.spot_policy).toBe("spot");
    expect(s.max_price).toBe(1.5);
    expect(s.max_duration).toBe(7200);
    expect(s.backends).toEqual(["aws", "gcp"]);
    expect(s.regions).toEqual(["us-east-1"]);
    expect(s.availability_zones).toEqual(["us-east-1a"]);
    expect(s.instance_types).toEqual(["p3.2xlarge"]);
    expect(s.idle_duration).toBe(600);
    expect(s.stop_duration).toBeNull();
    expect(s.creation_policy).toBe("reuse");
    expect(s.fleets).toEqual(["f"]);
    expect(s.tags).toEqual({ team: "ml", n: "1" });
    expect(s.reservation).toBe("cr-1");
    expect(s.priority).toBe(50);
    expect(s.utilization_policy).toEqual({ min_gpu_utilization: 10, time_window: 3600 });
    expect(s.schedule).toEqual({ cron: ["15 23 * * *"] });
    expect(s.profile.sources.spot_policy).toBe("configuration");
    expect(s.unsupported.map((u) => u.property).sort()).toEqual(["availability_zones", "creation_policy", "fleets", "idle_duration", "reservation", "schedule", "utilization_policy"]);
  });

  it("max_duration forms", () => {
    expect(loadTask(`${TASK}max_duration: 90\n`).max_duration).toBe(90);
    expect(loadTask(`${TASK}max_duration: off\n`).max_duration).toBeNull();
    expect(loadTask(`${TASK}max_duration: 1w\n`).max_duration).toBe(604800);
  });

  it("resources", () => {
    const s = loadTask(`${TASK}resources:\n  cpu: x86:8..\n  memory: 32GB..64GB\n  shm_size: 16GB\n  gpu: A100:80GB:2\n  disk: 500GB..\n`);
    expect(s.resources).toEqual({
      cpu: { arch: "x86", count: { min: 8, max: null } },
      memory: { min: 32, max: 64 },
      shm_size: 16,
      gpu: { vendor: "nvidia", name: ["A100"], count: { min: 2, max: 2 }, memory: { min: 80, max: 80 }, total_memory: null, compute_capability: null },
      disk: { size: { min: 500, max: null } },
    });
    expect(s.profile.sources["resources.gpu"]).toBe("configuration");
    expect(s.profile.sources["resources.disk"]).toBe("configuration");
  });

  it("resources partially given keep the other defaults", () => {
    const s = loadTask(`${TASK}resources:\n  gpu: 24GB\n`);
    expect(s.resources.cpu).toEqual(DEFAULT_RESOURCES.cpu);
    expect(s.resources.memory).toEqual(DEFAULT_RESOURCES.memory);
    expect(s.resources.disk).toEqual(DEFAULT_RESOURCES.disk);
    expect(s.resources.gpu.count).toEqual({ min: 1, max: null });
  });

  it("disk: null means no disk requirement", () => {
    expect(loadTask(`${TASK}resources:\n  disk: null\n`).resources.disk).toBeNull();
  });

  it("gpu object form in a configuration", () => {
    const s = loadTask(`${TASK}resources:\n  gpu:\n    memory: 24GB..\n    count: 1..\n    compute_capability: 8.0\n`);
    expect(s.resources.gpu).toMatchObject({ memory: { min: 24, max: null }, count: { min: 1, max: null }, compute_capability: [8, 0] });
  });

  it("ports", () => {
    const s = loadTask(`${TASK}ports:\n  - 8000\n  - "8080:80"\n  - "*:6006"\n  - {container_port: 9000, local_port: 19000}\n  - {container_port: 7000}\n`);
    expect(s.ports).toEqual([
      { container_port: 8000, local_port: 8000 },
      { container_port: 80, local_port: 8080 },
      { container_port: 6006, local_port: 0 },
      { container_port: 9000, local_port: 19000 },
      { container_port: 7000, local_port: 7000 },
    ]);
  });

  it("registry_auth with ${{ env.X }}", () => {
    const s = loadTask(`${TASK}image: nvcr.io/x\nenv: [NGC_API_KEY]\nregistry_auth:\n  username: $oauthtoken\n  password: \${{ env.NGC_API_KEY }}\n`, { env: testEnv({ NGC_API_KEY: "s3cret" }) });
    expect(s.registry_auth).toEqual({ username: "$oauthtoken", password: "s3cret" });
    expect(s.secret_env).toEqual(["NGC_API_KEY"]);
  });

  it("registry_auth with ${{ secrets.X }} is kept and reported unsupported", () => {
    const s = loadTask(`${TASK}image: nvcr.io/x\nregistry_auth:\n  username: u\n  password: \${{ secrets.ngc }}\n`);
    expect(s.registry_auth?.password).toBe("${{ secrets.ngc }}");
    expect(s.unsupported.map((u) => u.property)).toContain("registry_auth");
  });

  it("nodes > 1 loads and is reported unsupported", () => {
    const s = loadTask(`${TASK}nodes: 2\n`);
    expect(s.nodes).toBe(2);
    const u = s.unsupported.find((x) => x.property === "nodes");
    expect(u).toMatchObject({ line: 4, col: 1 });
    const d = unsupportedDiagnostics(s);
    expect(d[0]).toMatchObject({ code: "E1100", severity: "error", line: 4, file: s.configuration_path });
    expect(d[0]!.message).toMatch(/nodes is not supported yet: only single-node/);
  });

  it("multi-node and repo properties are accepted and listed", () => {
    const s = loadTask(
      `type: task\nrepos: [{local_path: "..", path: /my-repo, if_exists: skip}]\nfiles: ["train.py", {local_path: a, path: /b}]\nstartup_order: workers-first\nstop_criteria: master-done\ngroups:\n  - name: head\n    nodes: 1\n    commands: [ray start --head]\n    resources: {cpu: 2}\n`,
    );
    expect(s.unsupported.map((u) => u.property)).toEqual(["repos", "files", "startup_order", "stop_criteria", "groups"]);
    expect(s.commands).toEqual([]);
  });

  it("legacy and newer keys: dstack, instances, home_dir, single_branch", () => {
    const s = loadDev(`${DEV}dstack: true\ninstances:\n  - name: my-fleet-3\n  - hostname: 203.0.113.10\n  - {fleet: f, instance: 3}\nhome_dir: /root\nsingle_branch: true\n`);
    expect(s.unsupported.map((u) => u.property)).toEqual(["dstack", "instances"]);
  });

  it("volumes, short and long forms", () => {
    const s = loadTask(
      `${TASK}volumes:\n  - my-vol:/volume_data\n  - /mnt/cache:/root/.cache\n  - name: data\n    path: /data/\n  - name: [a-vol, b-vol]\n    path: /multi\n  - instance_path: /opt/x\n    path: /x\n    optional: true\n  - name: data-\${{ dstack.node_rank }}\n    path: /ranked\n`,
    );
    expect(s.volumes).toEqual([
      { kind: "volume", name: ["my-vol"], path: "/volume_data" },
      { kind: "instance", instance_path: "/mnt/cache", path: "/root/.cache", optional: false },
      { kind: "volume", name: ["data"], path: "/data" },
      { kind: "volume", name: ["a-vol", "b-vol"], path: "/multi" },
      { kind: "instance", instance_path: "/opt/x", path: "/x", optional: true },
      { kind: "volume", name: ["data-${{ dstack.node_rank }}"], path: "/ranked" },
    ]);
    expect(s.unsupported.map((u) => u.property)).toEqual(["volumes.name interpolation"]);
  });
});

describe("env", () => {
  it("list form with values, KEY from the caller's environment, -e first", () => {
    const s = loadTask(`${TASK}env:\n  - A=1\n  - B\n  - C\n  - D=x=y\n`, { env: testEnv({ B: "from-env", C: "from-env" }), flags: { env: ["C=from-flag", "E=new"] } });
    expect(s.env).toEqual({ A: "1", B: "from-env", C: "from-flag", D: "x=y", E: "new" });
    expect(s.secret_env.sort()).toEqual(["B", "C", "E"]);
  });

  it("map form", () => {
    const s = loadTask(`${TASK}env:\n  A: 1\n  B: true\n  C: hello\n  D:\n`, { env: testEnv({ D: "dv" }) });
    expect(s.env).toEqual({ A: "1", B: "true", C: "hello", D: "dv" });
  });

  it("-e overrides a written value; -e KEY takes the caller's value", () => {
    const s = loadTask(`${TASK}env: [A=1]\n`, { flags: { env: ["A=2", "HOMEISH"] }, env: testEnv({ HOMEISH: "h" }) });
    expect(s.env).toEqual({ A: "2", HOMEISH: "h" });
  });

  it("an unset KEY is an error at its position", () => {
    const d = loadErrors(`${TASK}env:\n  - A=1\n  - MISSING_VAR\n`);
    expect(d).toEqual([expect.objectContaining({ code: "E1041", message: "Environment variable MISSING_VAR is not set", line: 6, col: 5 })]);
  });

  it("-e KEY not set anywhere is an error", () => {
    expect(errorsOf(() => load(TASK, { flags: { env: ["NOPE_X"] } })).map((d) => d.message)).toEqual(["Environment variable NOPE_X is not set"]);
  });

  it("duplicates are errors", () => {
    const d = loadErrors(`${TASK}env:\n  - A=1\n  - A=2\n`);
    expect(d).toEqual([expect.objectContaining({ code: "E1040", line: 6 })]);
  });

  it("invalid names are errors", () => {
    expect(codes(`${TASK}env:\n  - 1A=x\n`)).toEqual(["E1042"]);
    expect(codes(`${TASK}env:\n  "bad-name": x\n`)).toEqual(["E1042"]);
    expect(errorsOf(() => load(TASK, { flags: { env: ["=x"] } })).map((d) => d.code)).toEqual(["E1042"]);
  });

  it("${{ env.X }} referring to a variable not in env is an error", () => {
    const d = loadErrors(`${TASK}image: x\nregistry_auth:\n  username: u\n  password: \${{ env.NOPE }}\n`);
    expect(d.map((x) => x.code)).toEqual(["E1043"]);
    expect(codes(`${TASK}image: x\nregistry_auth:\n  username: u\n  password: \${{ run.name }}\n`)).toEqual(["E1043"]);
  });
});

describe("errors", () => {
  it("unknown keys with did-you-mean, at the key", () => {
    const d = loadErrors(`${DEV}pyhton: "3.11"\n`);
    expect(d).toEqual([expect.objectContaining({ code: "E1010", message: 'unknown property "pyhton"', hint: 'did you mean "python"?', line: 3, col: 1, length: 6 })]);
  });

  it("unknown nested keys name their parent", () => {
    const d = loadErrors(`${DEV}resources:\n  gpus: 1\n`);
    expect(d[0]).toMatchObject({ code: "E1010", message: 'unknown property "gpus" in resources', hint: 'did you mean "gpu"?', line: 4, col: 3 });
  });

  it("resources keys at the top level hint at indentation", () => {
    const d = loadErrors(`${TASK}resources:\ngpu: A100\n`);
    expect(d.map((x) => x.code)).toEqual(["E1011", "E1010"]);
    expect(d[1]!.hint).toMatch(/belongs under resources/);
  });

  it("several errors in one file are reported together, in order", () => {
    const d = loadErrors(`type: task\nname: Bad_Name\ncommands: [x]\nresources:\n  gpu: A100::2\n  memory: lots\nmax_duration: -5m\nspot_policy: spott\n`);
    expect(d.map((x) => [x.code, x.line])).toEqual([
      ["E1034", 2],
      ["E1022", 5],
      ["E1021", 6],
      ["E1025", 7],
      ["E1012", 8],
    ]);
    expect(d[4]!.hint).toBe('did you mean "spot"?');
  });

  it("wrong types say what was expected", () => {
    const d = loadErrors(`${TASK}nodes: two\n`);
    expect(d[0]).toMatchObject({ code: "E1011", message: 'nodes: expected an integer, got the string "two"', line: 4, col: 8 });
    const g = loadErrors(`${TASK}resources:\n  gpu: [A100]\n`);
    expect(g[0]!.message).toMatch(/^resources\.gpu: expected a GPU spec: A100, A100:80GB:2/);
  });

  it("out of range values", () => {
    expect(codes(`${TASK}nodes: 0\n`)).toEqual(["E1014"]);
    expect(codes(`${TASK}priority: 101\n`)).toEqual(["E1014"]);
    expect(codes(`${TASK}max_price: 0\n`)).toEqual(["E1014"]);
    expect(codes(`${TASK}ports: [70000]\n`)).toEqual(["E1060"]);
  });

  it.each([
    [`${DEV}image: x\npython: "3.11"\n`, "E1030"],
    [`${DEV}image: x\ndocker: true\n`, "E1030"],
    [`${DEV}python: "3.11"\ndocker: true\n`, "E1030"],
    [`${DEV}nvcc: true\ndocker: true\n`, "E1030"],
    [`${DEV}image: x\nnvcc: true\n`, "E1030"],
    ["type: task\n", "E1031"],
    ["type: task\ncommands: []\n", "E1031"],
    [`${DEV}python: "3.8"\n`, "E1032"],
    [`${DEV}python: 2\n`, "E1032"],
    [`${DEV}name: a\n`, "E1034"],
    [`${DEV}name: UPPER\n`, "E1034"],
    [`${DEV}working_dir: rel/dir\n`, "E1035"],
    [`${DEV}shell: zsh\n`, "E1036"],
    [`${DEV}user: "bad user"\n`, "E1037"],
    [`${DEV}entrypoint: bash\n`, "E1038"],
    [`${TASK}retry:\n  on_events: []\n`, "E1091"],
    [`${TASK}retry:\n  on_events: [error, error]\n`, "E1091"],
    [`${TASK}retry:\n  on_events: [oom]\n`, "E1012"],
    [`${TASK}retry:\n  duration: soon\n`, "E1025"],
    [`${TASK}utilization_policy: {min_gpu_utilization: 10, time_window: 1m}\n`, "E1025"],
    [`${TASK}utilization_policy: {min_gpu_utilization: 101, time_window: 1h}\n`, "E1014"],
    [`${TASK}schedule: {cron: "every day"}\n`, "E1015"],
    [`${TASK}backends: [awss]\n`, "E1012"],
    [`${TASK}ide: vscode\n`, "E1010"],
    [`${DEV}commands: [x]\n`, "E1010"],
    [`${TASK}resources:\n  cpu: 4:8\n`, "E1023"],
    [`${TASK}resources:\n  disk: big\n`, "E1024"],
    [`${TASK}resources:\n  shm_size: 1XB\n`, "E1021"],
    [`${TASK}resources:\n  memory: 8GB..4GB\n`, "E1021"],
    [`${TASK}resources:\n  gpu:\n    nam: A100\n`, "E1010"],
    [`${TASK}resources:\n  gpu:\n    vendor: nvida\n`, "E1012"],
    [`${TASK}ports: ["80:80:80"]\n`, "E1060"],
    [`${TASK}ports: [8000, 8000]\n`, "E1061"],
    [`${TASK}ports: ["8080:80", "8080:81"]\n`, "E1061"],
    [`${TASK}registry_auth: {username: u}\n`, "E1013"],
    [`${TASK}env: "A=1"\n`, "E1011"],
    ["type: task\ncommands: echo hi\n", "E1011"],
  ])("%j -> %s", (yaml, code) => {
    expect(codes(yaml)).toContain(code);
  });

  it.each([
    ["volumes:\n  - /workflow:/workflow\n", "E1051"],
    ["volumes:\n  - vol:/workflow/data\n", "E1051"],
    ["volumes:\n  - name: vol\n    path: /workflow/\n", "E1051"],
    ["volumes:\n  - novolpath\n", "E1050"],
    ["volumes:\n  - vol:\n", "E1050"],
    ["volumes:\n  - name: vol\n    instance_path: /x\n    path: /y\n", "E1050"],
    ["volumes:\n  - name: vol\n    path: /y\n    optional: true\n", "E1050"],
    ["volumes:\n  - path: /y\n", "E1050"],
    ["volumes:\n  - name: Bad_Vol\n    path: /y\n", "E1052"],
    ["volumes:\n  - name: []\n    path: /y\n", "E1052"],
    ["volumes:\n  - vol:relative\n", "E1054"],
    ["volumes:\n  - a-vol:/data\n  - b-vol:/data/\n", "E1053"],
    ["volumes:\n  - relative/host:/data\n", "E1050"],
    ["volumes:\n  - name: v\n", "E1013"],
    ["volumes:\n  - name: v\n    path: /p\n    size: 1\n", "E1010"],
  ])("volumes %j -> %s", (yaml, code) => {
    expect(codes(`${TASK}${yaml}`)).toContain(code);
  });

  it("the rejected seed volume: name with a slash and optional", () => {
    const d = loadErrors(`${DEV}volumes:\n  - name: /docker-volume\n    path: /var/lib/docker\n    optional: true\n`);
    expect(d.map((x) => [x.code, x.line])).toEqual([["E1052", 4], ["E1050", 6]]);
  });

  it("YAML syntax errors are positioned", () => {
    const d = loadErrors("type: task\ncommands:\n  - a\n - b\n");
    expect(d[0]).toMatchObject({ code: "E1001", line: 4 });
    expect(loadErrors("type: task\ntype: task\n")[0]).toMatchObject({ code: "E1001", line: 2 });
    expect(loadErrors("type: task\n\tcommands: []\n")[0]!.code).toBe("E1001");
  });

  it("empty file, non-mapping, missing or unknown type", () => {
    expect(codes("")).toEqual(["E1002"]);
    expect(codes("# just a comment\n")).toEqual(["E1002"]);
    expect(codes("- a\n- b\n")).toEqual(["E1002"]);
    expect(codes("ide: vscode\n")).toEqual(["E1003"]);
    const d = loadErrors("type: dev-enviroment\n");
    expect(d[0]).toMatchObject({ code: "E1003", hint: 'did you mean "dev-environment"?', line: 1, col: 7 });
    expect(codes("type: 3\n")).toEqual(["E1003"]);
  });

  it.each(["service", "fleet", "gateway"])("type %s is not supported yet", (type) => {
    const d = loadErrors(`type: ${type}\nport: 80\ncommands: [x]\n`);
    expect(d).toEqual([expect.objectContaining({ code: "E1004", message: `type ${type} is not supported yet` })]);
  });

  it("a volume configuration is not a run", () => {
    const dir = tempDir({ ".dstack.yml": "type: volume\nbackend: local\nsize: 10GB\n" });
    expect(errorsOf(() => loadRunSpec({ dir, env: testEnv() })).map((d) => d.code)).toEqual(["E1099"]);
  });

  it("ConfigError carries file, line, col and length", () => {
    const dir = tempDir({ "x.dstack.yml": `${DEV}ide: vscodee\n` });
    try {
      loadRunSpec({ dir, env: testEnv() });
      throw new Error("loaded");
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const d = (e as ConfigError).diagnostics;
      expect(d.length).toBeGreaterThan(0);
      expect(d[0]).toMatchObject({ file: path.join(dir, "x.dstack.yml"), severity: "error" });
      expect((e as ConfigError).exitCode).toBe(2);
    }
  });
});

describe("volume configurations", () => {
  it("loads name, backend, region, size", () => {
    const v = loadAny("type: volume\nname: my-vol\nbackend: aws\nregion: eu-west-1\nsize: 100GB\n");
    expect(v).toMatchObject({ type: "volume", name: "my-vol", backend: "aws", region: "eu-west-1", size: 100, availability_zone: null, volume_id: null });
  });

  it("a local Docker volume needs no size", () => {
    expect(loadAny("type: volume\nname: v1\nbackend: local\n")).toMatchObject({ size: null, backend: "local" });
  });

  it("an existing volume by id needs no size", () => {
    expect(loadAny("type: volume\nname: v1\nbackend: aws\nvolume_id: vol-123\n")).toMatchObject({ size: null, volume_id: "vol-123" });
  });

  it.each([
    ["type: volume\nname: v1\nsize: 10GB\n", "E1013"],
    ["type: volume\nname: v1\nbackend: aws\n", "E1095"],
    ["type: volume\nname: V!\nbackend: local\nsize: 1GB\n", "E1052"],
    ["type: volume\nbackend: local\nsize: 1XB\n", "E1021"],
    ["type: volume\nbackend: local\nsize: 0\n", "E1021"],
    ["type: volume\nbackend: local\nsize: 1GB\ncolor: red\n", "E1010"],
  ])("%j -> %s", (yaml, code) => {
    expect(codes(yaml)).toContain(code);
  });
});

describe("discovery", () => {
  it("uses the one *.dstack.yml in DIR", () => {
    const dir = tempDir({ "train.dstack.yml": TASK, "other.yml": "x: 1\n" });
    expect(findConfigurationFile({ dir })).toEqual({ file: path.join(dir, "train.dstack.yml"), repoDir: dir });
  });

  it("accepts .dstack.yaml too", () => {
    const dir = tempDir({ ".dstack.yaml": TASK });
    expect(loadRunSpec({ dir, env: testEnv() }).type).toBe("task");
  });

  it("zero files: a clear error", () => {
    const dir = tempDir({ "README.md": "hi" });
    expect(errorsOf(() => loadRunSpec({ dir, env: testEnv() }))[0]).toMatchObject({ code: "E1070" });
  });

  it("several files: an error listing them", () => {
    const dir = tempDir({ ".dstack.yml": TASK, "b.dstack.yml": TASK });
    const d = errorsOf(() => loadRunSpec({ dir, env: testEnv() }))[0]!;
    expect(d.code).toBe("E1071");
    expect(d.message).toContain(".dstack.yml, b.dstack.yml");
    expect(d.hint).toMatch(/-f/);
  });

  it("-f picks one, relative to cwd; DIR is the repo", () => {
    const dir = tempDir({ ".dstack.yml": TASK, "b.dstack.yml": `${DEV}` });
    const s = loadRunSpec({ dir: ".", file: "b.dstack.yml", cwd: dir, env: testEnv() });
    expect(s.type).toBe("dev-environment");
    expect(s.repo_dir).toBe(dir);
    expect(s.configuration_path).toBe(path.join(dir, "b.dstack.yml"));
  });

  it("missing -f file, missing DIR, DIR that is a file", () => {
    const dir = tempDir({ ".dstack.yml": TASK });
    expect(errorsOf(() => loadRunSpec({ dir, file: "nope.dstack.yml", cwd: dir, env: testEnv() }))[0]!.code).toBe("E1072");
    expect(errorsOf(() => loadRunSpec({ dir: path.join(dir, "nope"), env: testEnv() }))[0]!.code).toBe("E1073");
    const d = errorsOf(() => loadRunSpec({ dir: path.join(dir, ".dstack.yml"), env: testEnv() }))[0]!;
    expect(d.code).toBe("E1073");
    expect(d.hint).toMatch(/-f/);
  });

  it("the generated name depends on the configuration path", () => {
    const dir = tempDir({ "a.dstack.yml": TASK, "b.dstack.yml": TASK });
    const a = loadRunSpec({ dir, file: path.join(dir, "a.dstack.yml"), env: testEnv() });
    const b = loadRunSpec({ dir, file: path.join(dir, "b.dstack.yml"), env: testEnv() });
    expect(a.repo_id).toBe(b.repo_id);
    expect(a.name === b.name).toBe(false);
  });

  it("loadConfiguration returns a RunSpec for runs", () => {
    const dir = tempDir({ ".dstack.yml": TASK });
    expect(loadConfiguration({ dir, env: testEnv() }).type).toBe("task");
    expect(fs.existsSync(dir)).toBe(true);
  });
});
