/** `dstack config` and `dstack schema`, in process through cli.ts's main(). */
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { main } from "../../cli";
import { loadRunSpec } from "../../src/config";
import { builtCli, describeWhen } from "../support/requirements";
import { DEV, repoRoot, TASK, tempDir, testEnv } from "./helpers";

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = jest.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = jest.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(["node", "dstack", ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const isolated = testEnv();
const saved: Record<string, string | undefined> = {};
beforeAll(() => {
  for (const [k, v] of Object.entries(isolated)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
});
afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe("dstack config", () => {
  it("--json prints exactly the RunSpec", async () => {
    const dir = tempDir({ ".dstack.yml": `${TASK}env: [A=1]\nresources:\n  gpu: A100:2\n` });
    const r = await run(["config", dir, "--json", "--max-price", "2"]);
    expect(r.code).toBe(0);
    const spec = JSON.parse(r.stdout);
    expect(spec).toMatchObject({ type: "task", repo_dir: dir, max_price: 2, env: { A: "1" }, resources: { gpu: { name: ["A100"], count: { min: 2, max: 2 } } } });
    expect(spec.profile.sources.max_price).toBe("cli");
    expect(r.stderr).toBe("");
  });

  it("--json hides the registry password", async () => {
    const dir = tempDir({ ".dstack.yml": `${TASK}image: x\nregistry_auth: {username: u, password: p4ss}\n` });
    const r = await run(["config", dir, "--json"]);
    expect(JSON.parse(r.stdout).registry_auth).toEqual({ username: "u", password: "***" });
    expect(r.stdout).not.toContain("p4ss");
  });

  it("--json masks secret env values unless --show-secrets", async () => {
    const dir = tempDir({ ".dstack.yml": `${TASK}env: [PLAIN=1, TOKEN_FROM_ENV]\n` });
    process.env.TOKEN_FROM_ENV = "tok-123";
    try {
      const masked = JSON.parse((await run(["config", dir, "--json", "-e", "FLAGGED=f"])).stdout);
      expect(masked.env).toEqual({ PLAIN: "1", TOKEN_FROM_ENV: "***", FLAGGED: "***" });
      expect(masked.secret_env.sort()).toEqual(["FLAGGED", "TOKEN_FROM_ENV"]);
      const shown = JSON.parse((await run(["config", dir, "--json", "--show-secrets"])).stdout);
      expect(shown.env.TOKEN_FROM_ENV).toBe("tok-123");
      expect(Object.keys(shown)[0]).toBe("type");
    } finally {
      delete process.env.TOKEN_FROM_ENV;
    }
  });

  it("prints a readable summary without --json", async () => {
    const dir = tempDir({ ".dstack.yml": `${DEV}name: my-dev\nrepos: [.]\n` });
    const r = await run(["config", dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Configuration\s+/);
    expect(r.stdout).toMatch(/Name\s+my-dev\n/);
    expect(r.stdout).toMatch(/IDE\s+vscode/);
    expect(r.stdout).toMatch(/Not supported yet/);
  });

  it("errors: FILE:LINE:COL, the line with a caret, exit code 2, no stack", async () => {
    const dir = tempDir({ ".dstack.yml": `${DEV}resources:\n  gpu: A100::2\n` });
    const r = await run(["config", dir]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    const lines = r.stderr.split("\n");
    expect(lines[0]).toMatch(/\.dstack\.yml:4:8: error: resources\.gpu: GPU spec "A100::2" has an empty token \[E1022\]$/);
    expect(lines[1]).toBe("    gpu: A100::2");
    expect(lines[2]).toBe("         ^^^^^^^");
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it("errors with --json are one JSON document", async () => {
    const dir = tempDir({ ".dstack.yml": "type: task\n" });
    const r = await run(["config", dir, "--json"]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: "E1031", exit_code: 2 });
  });

  it("a duration past its bound (max_duration: 99999999999999999999999d): E1026 at FILE:LINE:COL, exit 2", async () => {
    const dir = tempDir({ ".dstack.yml": `${TASK}max_duration: 99999999999999999999999d\n` });
    const r = await run(["config", dir]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n")[0]).toMatch(/\.dstack\.yml:4:15: error: max_duration: duration "99999999999999999999999d" is too long: expected at most 365d \(one year\) \[E1026\]$/);
    expect(r.stderr).toMatch(/hint: write a duration up to 365d/);
    const flag = await run(["config", tempDir({ ".dstack.yml": TASK }), "--max-duration", "99999999999999999999999d", "--json"]);
    expect(flag.code).toBe(2);
    expect(JSON.parse(flag.stdout).error).toMatchObject({ code: "E1026", exit_code: 2 });
  });

  it("flag errors exit 2", async () => {
    const dir = tempDir({ ".dstack.yml": TASK });
    expect((await run(["config", dir, "--spot", "--on-demand"])).code).toBe(2);
    expect((await run(["config", dir, "--gpu", "A100::"])).code).toBe(2);
  });

  it("-f and --no-profile", async () => {
    const dir = tempDir({ "a.dstack.yml": TASK, "b.dstack.yml": DEV, ".dstack/profiles.yml": "profiles:\n  - name: p\n    default: true\n    max_price: 1\n" });
    const withProfile = JSON.parse((await run(["config", dir, "-f", path.join(dir, "b.dstack.yml"), "--json"])).stdout);
    expect(withProfile.profile.name).toBe("p");
    const without = JSON.parse((await run(["config", dir, "-f", path.join(dir, "b.dstack.yml"), "--no-profile", "--json"])).stdout);
    expect(without.profile.name).toBeNull();
    expect(without.max_price).toBeNull();
  });

  it("volume configurations print their VolumeSpec", async () => {
    const dir = tempDir({ "v.dstack.yml": "type: volume\nname: v1\nbackend: local\nsize: 5GB\n" });
    expect(JSON.parse((await run(["config", dir, "--json"])).stdout)).toMatchObject({ type: "volume", name: "v1", size: 5 });
  });
});

describe("dstack schema", () => {
  it("prints the configuration schema by default, and the profiles schema", async () => {
    const a = await run(["schema"]);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(fs.readFileSync(path.join(repoRoot, "schemas", "dstack-configuration.schema.json"), "utf8"));
    const b = await run(["schema", "profiles"]);
    expect(JSON.parse(b.stdout).title).toMatch(/profiles/);
    expect((await run(["schema", "--path"])).stdout.trim()).toBe(path.join(repoRoot, "schemas", "dstack-configuration.schema.json"));
    expect(JSON.parse((await run(["schema", "runspec"])).stdout).title).toMatch(/RunSpec/);
  });

  it("an unknown schema is a usage error", async () => {
    const r = await run(["schema", "fleet"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown schema "fleet"/);
  });

  it("--json is accepted and prints the same JSON Schema", async () => {
    const plain = await run(["schema"]);
    const r = await run(["schema", "--json"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(plain.stdout);
    expect(JSON.parse(r.stdout).$schema).toBeDefined();
    const p = await run(["schema", "profiles", "--json"]);
    expect(JSON.parse(p.stdout).title).toMatch(/profiles/);
  });
});

describe("CLI conventions", () => {
  it("apply is an alias of up, shown in the help", async () => {
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/\bup\|apply \[options\] \[DIR\]/);
    const upHelp = await run(["up", "--help"]);
    const applyHelp = await run(["apply", "--help"]);
    expect(applyHelp.code).toBe(0);
    expect(applyHelp.stdout).toBe(upHelp.stdout);
  });

  it("apply runs up's action (the same configuration error as up)", async () => {
    const dir = tempDir({ ".dstack.yml": "type: dev-environment\nide: vscodee\n" });
    const viaUp = await run(["up", dir, "-y"]);
    const viaApply = await run(["apply", dir, "-y"]);
    expect(viaUp.code).toBe(2);
    expect(viaApply.code).toBe(viaUp.code);
    expect(viaApply.stderr).toBe(viaUp.stderr);
  });

  it("preview accepts --diff (in its help)", async () => {
    expect((await run(["preview", "--help"])).stdout).toMatch(/--diff\s+show each resource's type/);
  });

  it("build offers no run-only flags: --spot, --max-price, --retry, … are unknown options (exit 2)", async () => {
    const help = (await run(["build", "--help"])).stdout;
    for (const f of ["-f, --file", "--profile", "--no-profile", "--force", "--json"]) expect(help).toContain(f);
    for (const f of ["--spot", "--max-price", "--retry", "--max-duration", "--on-demand", "--spot-policy", "--backend", "--region", "--instance-type", "--gpu", "--name", "--build"]) {
      expect(help).not.toMatch(new RegExp(`${f}\\b`));
    }
    for (const args of [["--spot"], ["--max-price", "1"], ["--retry"], ["--max-duration", "1h"]]) {
      const r = await run(["build", ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/unknown option/);
    }
  });
});

describeWhen(builtCli, "the built CLI (dist/cli.js)", () => {
  it("config --json equals loadRunSpec for the dev-environment example", () => {
    const env = { ...process.env, ...testEnv() };
    const dir = path.join(repoRoot, "examples", "dev-environment");
    const r = spawnSync(process.execPath, [path.join(repoRoot, "dist", "cli.js"), "config", dir, "--json"], { env, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(loadRunSpec({ dir, env }));
  });

  it("exits 2 on a bad configuration, with the caret line on stderr", () => {
    const dir = tempDir({ ".dstack.yml": "type: dev-environment\nide: vscodee\n" });
    const r = spawnSync(process.execPath, [path.join(repoRoot, "dist", "cli.js"), "config", dir], { env: { ...process.env, ...testEnv() }, encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("^^^^^^^");
    expect(r.stderr).toContain('did you mean "vscode"?');
  });
});

