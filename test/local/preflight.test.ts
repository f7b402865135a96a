/**
 * localPreflight: the checks `dstack up` makes before the engine runs, against the real
 * Docker engine — base image present, python on the base image, nvcc, and the prebuilt image
 * rule (missing without --build is E4111; with --build it is built once, then reused; deferred,
 * the due build is returned for `up` to make after the confirmation; --force-build rebuilds).
 */
import type Docker from "dockerode";
import { checkLocalPlanStatic, pythonProvided } from "../../src/compiler/backends/local/preflight";
import { localPreflight } from "../../src/runs/local-preflight";
import { DstackError } from "../../src/diagnostics";
import { baseImageInfo, baseImageRef } from "../../src/stacks/base-image";
import { baseImageFor } from "../../src/runs/inputs";
import { describeWhen, dockerEngine } from "../support/requirements";
import { makePlan, runSpec, tempDir } from "./fixtures";

jest.setTimeout(120000);

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DstackError) return `${e.diagnostics[0].code}: ${e.message}`;
    throw e;
  }
  return "ok";
}

describe("pythonProvided", () => {
  it("matches major, major.minor and patch requests against major.minor versions", () => {
    expect(pythonProvided("3.11", ["3.11"])).toBe(true);
    expect(pythonProvided("3", ["3.11"])).toBe(true);
    expect(pythonProvided("3.11.4", ["3.11"])).toBe(true);
    expect(pythonProvided("3.12", ["3.11"])).toBe(false);
    expect(pythonProvided("3.1", ["3.11"])).toBe(false);
  });
});

describeWhen(dockerEngine, "localPreflight (real Docker)", () => {
  const repo = tempDir("dstack-pre-");
  let docker: Docker;
  const built: string[] = [];
  beforeAll(() => {
    const D = require("dockerode") as typeof Docker;
    docker = new D();
  });
  afterAll(async () => {
    for (const ref of built) await docker.getImage(ref).remove({ force: true }).catch(() => undefined);
  });

  it("passes a plain base-image run; a python no base image has is E4112 naming those there are; another suite's image not built is E4110 naming the setup", async () => {
    const ok = makePlan(runSpec({ name: "pre-ok", repo_dir: repo, python: "3.11" }), "ssh-ed25519 AAAA k", baseImageRef());
    expect(await localPreflight(ok, { python: "3.11" })).toMatchObject({ image: baseImageRef(), built: false });
    const bad = makePlan(runSpec({ name: "pre-py", repo_dir: repo, python: "3.12" }), "ssh-ed25519 AAAA k", baseImageFor("local", { python: "3.12", nvcc: false }));
    expect(await code(localPreflight(bad, { python: "3.12" }))).toBe(
      "E4112: python: 3.12 is not available on local: the local base images provide python 3.9 (bullseye), 3.11 (bookworm), 3.13 (trixie)",
    );
    // python: 3.9 and 3.13 are Debian bullseye's and trixie's base images: built, they are used; else E4110 says how to build them
    for (const [v, suite] of [["3.9", "bullseye"], ["3.13", "trixie"]] as const) {
      const ref = baseImageFor("local", { python: v, nvcc: false });
      expect(ref).toBe(baseImageRef(suite));
      const other = makePlan(runSpec({ name: `pre-py-${suite}`, repo_dir: repo, python: v }), "ssh-ed25519 AAAA k", ref);
      const info = await baseImageInfo(docker, ref);
      if (!info.present) {
        expect(await code(localPreflight(other, { python: v }))).toBe(`E4110: the local base image ${ref} (Debian ${suite}, python ${v}) is not built yet`);
        await expect(localPreflight(other, { python: v })).rejects.toMatchObject({ diagnostics: [{ hint: `run \`dstack setup --python ${v}\`` }] });
      } else {
        expect(info.python).toEqual([v]);
        expect(await localPreflight(other, { python: v })).toMatchObject({ image: ref, built: false });
      }
    }
    // a user image is not checked for python
    const user = makePlan(runSpec({ name: "pre-user", repo_dir: repo, image: baseImageRef(), python: null }), "ssh-ed25519 AAAA k", baseImageRef());
    expect(user.image.kind).toBe("user");
    expect(await code(localPreflight(user, { python: "3.9" }))).toBe("ok");
  });

  it("refuses nvcc on the base image (pure check)", () => {
    const p = makePlan(runSpec({ name: "pre-nvcc", repo_dir: repo, nvcc: true, build: ["true"] }), "ssh-ed25519 AAAA k", baseImageRef());
    expect(checkLocalPlanStatic(p, baseImageRef()).map((d) => d.code)).toEqual(["E4113"]);
  });

  it("a missing prebuilt image is E4111 without --build; with --build it is due (deferred) or built once, then reused; --force-build rebuilds", async () => {
    const spec = runSpec({ name: "pre-build", repo_dir: repo, build: [`echo ${process.pid} > /preflight-built`] });
    const p = makePlan(spec, "ssh-ed25519 AAAA k", baseImageRef());
    built.push(p.image.ref);
    expect(p.image.ref).toMatch(/^dstack-prebuilt:[0-9a-f]{16}$/);
    expect(await code(localPreflight(p, {}))).toMatch(/^E4111: .*does not exist/);
    const deferred = await localPreflight(p, { buildMissing: true, defer: true });
    expect(deferred).toMatchObject({ built: false, image_id: "", pending: { ref: p.image.ref, commands: spec.build, working_dir: "/workflow", context_dir: repo } });
    await expect(docker.getImage(p.image.ref).inspect()).rejects.toMatchObject({ statusCode: 404 }); // nothing built yet
    const lines: string[] = [];
    const first = await localPreflight(p, { buildMissing: true, onBuildOutput: (l) => lines.push(l) });
    expect(first.built).toBe(true);
    expect(lines.join("\n")).toContain(`Successfully tagged ${p.image.ref}`);
    const again = await localPreflight(p, { buildMissing: true, defer: true });
    expect(again).toMatchObject({ built: false, image_id: first.image_id, pending: null });
    const noFlag = await localPreflight(p, {});
    expect(noFlag).toMatchObject({ built: false, image_id: first.image_id });
    const forced = await localPreflight(p, { rebuild: true, defer: true });
    expect(forced.pending?.ref).toBe(p.image.ref);
    const failing = makePlan(runSpec({ name: "pre-fail", repo_dir: repo, build: ["exit 3"] }), "ssh-ed25519 AAAA k", baseImageRef());
    built.push(failing.image.ref);
    expect(await code(localPreflight(failing, { buildMissing: true }))).toMatch(/^E4114: building .* failed/);
  });
});
