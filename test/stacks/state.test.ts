import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { engineEnv, ensureWorkspaceProject, projectSettings } from "../../src/stacks/state";
import { findOnPath } from "../../src/paths";

test("engineEnv: the CLI's and the plugin's folders first on PATH (once each), then DSTACK_HOME's, the caller's PATH and @pulumi/pulumi", () => {
  const env = { DSTACK_HOME: "/h", PATH: "/usr/bin:/bin" };
  const e = engineEnv({ binDir: "/opt/pulumi/bin", plugin: "/opt/pulumi/bin/pulumi-resource-pulumi-nodejs" }, env, { passphrase: "p" });
  const dirs = e.PATH.split(path.delimiter);
  expect(dirs.slice(0, 4)).toEqual(["/opt/pulumi/bin", "/h/pulumi/bin", "/usr/bin", "/bin"]);
  expect(dirs[4]).toMatch(/node_modules\/@pulumi\/pulumi$/);
  expect(e).toMatchObject({
    PULUMI_HOME: "/h/pulumi/home",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_CONFIG_PASSPHRASE: "p",
  });
  expect(e.PULUMI_CONFIG_PASSPHRASE_FILE).toBeUndefined();
  const other = engineEnv({ binDir: "/a", plugin: "/b/plugin" }, { ...env, PULUMI_HOME: "/ph", DSTACK_USE_PULUMI_HOME: "1" }, { passphraseFile: "/f" });
  expect(other.PATH.split(path.delimiter).slice(0, 3)).toEqual(["/a", "/b", "/h/pulumi/bin"]);
  expect(other).toMatchObject({ PULUMI_HOME: "/ph", PULUMI_CONFIG_PASSPHRASE_FILE: "/f" });
  expect(other.PULUMI_CONFIG_PASSPHRASE).toBeUndefined();
});

test("the workspace folder gets its Pulumi.yaml, rewritten atomically only when it differs", () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-state-"));
  const env = { DSTACK_HOME: home };
  const dir = ensureWorkspaceProject(env);
  const file = path.join(dir, "Pulumi.yaml");
  expect(fs.existsSync(path.join(home, "state"))).toBe(true);
  expect(fs.readFileSync(file, "utf8")).toBe(`name: dstack\nruntime: nodejs\nbackend:\n  url: "file://${home}/state"\n`);
  expect(projectSettings(env)).toEqual({ name: "dstack", runtime: "nodejs", backend: { url: `file://${home}/state` } });
  const inode = fs.statSync(file).ino;
  expect(ensureWorkspaceProject(env)).toBe(dir);
  expect(fs.statSync(file).ino).toBe(inode); // unchanged: not rewritten
  fs.writeFileSync(file, "torn");
  ensureWorkspaceProject(env);
  expect(fs.readFileSync(file, "utf8")).toContain("name: dstack");
  expect(fs.readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
});

test("findOnPath: the first executable file, not a folder or a plain file", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-path-"));
  const [a, b, c] = ["a", "b", "c"].map((d) => path.join(root, d));
  for (const d of [a, b, c]) fs.mkdirSync(d);
  fs.mkdirSync(path.join(a, "tool"));
  fs.writeFileSync(path.join(b, "tool"), "not executable", { mode: 0o644 });
  fs.writeFileSync(path.join(c, "tool"), "#!/bin/sh\n", { mode: 0o755 });
  expect(findOnPath("tool", { PATH: [a, b, c].join(path.delimiter) })).toBe(path.join(c, "tool"));
  expect(findOnPath("tool", { PATH: a })).toBeUndefined();
});
