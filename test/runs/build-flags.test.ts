/**
 * `--build` and `--force-build` mean the same in every command, and the prebuilt image's hash
 * covers the repo's files: compile (no Docker, no engine) passes `--force-build` to a cloud
 * program (build even when the registry has the tag) and plans the same image ref as up.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runFlagsFromOptions } from "../../src/cli/run-flags";
import { prepareRun } from "../../src/runs/prepare";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-build-flags-"));
const home = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-build-flags-home-"));
const env = { ...process.env, DSTACK_HOME: home, DSTACK_LOCAL_PYTHON: "3.11" };
fs.writeFileSync(path.join(dir, ".dstack.yml"), ["type: task", "name: flags-task", 'python: "3.11"', "build:", "  - pip install -r requirements.txt", "commands:", "  - python train.py", "resources:", "  gpu: A10G:1", ""].join("\n"));
fs.writeFileSync(path.join(dir, "requirements.txt"), "numpy\n");
fs.writeFileSync(path.join(dir, ".gitignore"), "*.log\n");
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
});

const compile = (flags: Record<string, unknown>) => prepareRun({ dir, profile: null, flags: { backends: ["aws"], ...flags }, env }, { purpose: "compile", offer: 1 });

test("--build and --force-build as flags", () => {
  expect(runFlagsFromOptions({ build: true })).toEqual({ build: true });
  expect(runFlagsFromOptions({ forceBuild: true })).toEqual({ force_build: true });
});

test("compile: --force-build reaches the cloud program's settings; --build alone is build-or-reuse there already", async () => {
  expect((await compile({})).settings.force_build).toBeUndefined();
  expect((await compile({ build: true })).settings.force_build).toBeUndefined();
  const forced = await compile({ force_build: true });
  expect(forced.settings.force_build).toBe(true);
  expect([forced.spec.build_missing, forced.spec.force_build]).toEqual([true, true]);
});

test("the prebuilt image's hash covers the repo's files and the working directory, not ignored files", async () => {
  const first = (await compile({})).plan.image;
  expect(first.kind).toBe("prebuilt");
  expect(first.build).toMatchObject({ working_dir: "/workflow", context_hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
  fs.writeFileSync(path.join(dir, "train.log"), "ignored");
  expect((await compile({})).plan.image.ref).toBe(first.ref);
  fs.writeFileSync(path.join(dir, "requirements.txt"), "numpy\npandas\n");
  expect((await compile({})).plan.image.ref).not.toBe(first.ref);
});
