/**
 * `python` defaulted from this machine vs written: the local backend falls back to its base
 * image's Python only for the former. Uses the real configuration loader and, for the
 * fallback, the real base image in the Docker engine (skipped when absent).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadRunSpec } from "../../src/config";
import { resolveLocalPython } from "../../src/runs/inputs";
import { describeWhen, dockerEngine } from "../support/requirements";

function configIn(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "local-python-"));
  fs.writeFileSync(path.join(dir, ".dstack.yml"), text);
  return dir;
}

const env = (extra: Record<string, string>) => ({ ...process.env, DSTACK_HOME: fs.mkdtempSync(path.join(os.tmpdir(), "lp-home-")), ...extra });

describe("python_defaulted", () => {
  it("is true when neither python nor image is written, and python is this machine's", () => {
    const s = loadRunSpec({ dir: configIn("type: dev-environment\n"), profile: null, env: env({ DSTACK_LOCAL_PYTHON: "3.13" }) });
    expect([s.python, s.python_defaulted]).toEqual(["3.13", true]);
  });
  it("is false when python is written, or when an image is given", () => {
    const a = loadRunSpec({ dir: configIn('type: dev-environment\npython: "3.12"\n'), profile: null, env: env({}) });
    expect([a.python, a.python_defaulted]).toEqual(["3.12", false]);
    const b = loadRunSpec({ dir: configIn("type: dev-environment\nimage: ubuntu\n"), profile: null, env: env({}) });
    expect([b.python, b.python_defaulted]).toEqual([null, false]);
  });
});

describeWhen(dockerEngine, "resolveLocalPython (real base image)", () => {
  it("uses the default base image's python for a defaulted version no base image has, with a warning", async () => {
    const spec = loadRunSpec({ dir: configIn("type: dev-environment\n"), profile: null, env: env({ DSTACK_LOCAL_PYTHON: "3.12" }) });
    const warnings: string[] = [];
    const out = await resolveLocalPython(spec, "local", (m) => warnings.push(m));
    const { baseImageInfo, baseImageRef } = await import("../../src/stacks/base-image");
    const { dockerClient } = await import("../../src/stacks/docker");
    const base = await baseImageInfo(await dockerClient(), baseImageRef());
    expect(base.present).toBe(true); // `dstack setup` builds it; run that first
    expect(out.python).toBe(base.python[0]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("python 3.12");
  });
  it("keeps a defaulted version whose own base image is built (3.13: trixie), else falls back with a warning", async () => {
    const spec = loadRunSpec({ dir: configIn("type: dev-environment\n"), profile: null, env: env({ DSTACK_LOCAL_PYTHON: "3.13" }) });
    const warnings: string[] = [];
    const out = await resolveLocalPython(spec, "local", (m) => warnings.push(m));
    const { baseImageInfo, baseImageRef } = await import("../../src/stacks/base-image");
    const { dockerClient } = await import("../../src/stacks/docker");
    const trixie = await baseImageInfo(await dockerClient(), baseImageRef("trixie"));
    if (trixie.present) expect([out.python, warnings]).toEqual(["3.13", []]);
    else expect([out.python, warnings.length]).toEqual(["3.11", 1]);
  });
  it("leaves a written python alone (preflight reports E4112), and other backends alone", async () => {
    const written = loadRunSpec({ dir: configIn('type: dev-environment\npython: "3.13"\n'), profile: null, env: env({}) });
    const warnings: string[] = [];
    expect((await resolveLocalPython(written, "local", (m) => warnings.push(m))).python).toBe("3.13");
    const defaulted = loadRunSpec({ dir: configIn("type: dev-environment\n"), profile: null, env: env({ DSTACK_LOCAL_PYTHON: "3.13" }) });
    expect((await resolveLocalPython(defaulted, "aws", (m) => warnings.push(m))).python).toBe("3.13");
    expect(warnings).toEqual([]);
  });
});
