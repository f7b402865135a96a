/**
 * prepareRun, the steps every run command shares, for the purposes that need no Docker and no
 * engine: `compile` (every catalog, the N-th offer with a program, the run's key or a
 * placeholder, the backend's settings) and `build`'s refusal of a configuration without `build:`.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DstackError } from "../../src/diagnostics";
import { prepareRun } from "../../src/runs/prepare";
import { ensureRunKey } from "../../src/ssh/keys";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-prepare-repo-"));
const home = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-prepare-home-"));
const env = { ...process.env, DSTACK_HOME: home, DSTACK_LOCAL_PYTHON: "3.11" };
fs.writeFileSync(path.join(dir, ".dstack.yml"), ["type: task", "name: prep-task", 'python: "3.11"', "commands:", "  - python train.py", "resources:", "  gpu: A10G:1", ""].join("\n"));
fs.writeFileSync(path.join(home, "config.yml"), "backends:\n  - type: aws\n    ssh_ingress_cidrs: [198.51.100.0/24]\n");
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
});

const input = (flags: Record<string, unknown> = {}) => ({ dir, profile: null, flags: { backends: ["aws"], ...flags }, env });

test("compile: the N-th cheapest offer with a program, a placeholder key until the run has its own, the backend's settings", async () => {
  const first = await prepareRun(input(), { purpose: "compile", offer: 1 });
  expect(first.offer).toBe(first.offers[0]);
  expect(first.offers.every((o) => o.backend === "aws")).toBe(true);
  expect(first.plan.run_name).toBe("prep-task");
  expect(first.plan.ssh.public_key).toContain("dstack-compile-placeholder");
  expect(first.settings.ssh_ingress_cidrs).toEqual(["198.51.100.0/24"]);
  const second = await prepareRun(input(), { purpose: "compile", offer: 2 });
  expect(second.offer).toBe(second.offers[1]);

  const key = ensureRunKey("prep-task", env);
  const keyed = await prepareRun(input(), { purpose: "compile", offer: 1 });
  expect(keyed.plan.ssh.public_key).toBe(key.publicKey);

  await expect(prepareRun(input(), { purpose: "compile", offer: first.offers.length + 1 })).rejects.toMatchObject({ diagnostics: [{ code: "E3020" }] });
});

test("build: a configuration without build: commands is E4115, before any Docker call", async () => {
  const e = await prepareRun(input({ backends: undefined }), { purpose: "build" }).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(DstackError);
  expect((e as DstackError).diagnostics[0]).toMatchObject({ code: "E4115", file: path.join(dir, ".dstack.yml") });
});
