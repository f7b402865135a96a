/**
 * What runs inside matches what dstack users write (issue 13), end to end with the built CLI,
 * the real engine, Docker and OpenSSH:
 * - the two-line dev environment (`type: dev-environment`, `ide: vscode`, no resources: dstack's
 *   default `disk: 100GB..`) reaches SSH; `python`, `pip`, `python -m venv`, git and curl work,
 *   and `pip install -r requirements.txt` installs a local package from the index the user
 *   configures (PIP_INDEX_URL: a tiny index served on 127.0.0.1 inside the run);
 * - `build:` commands see the repo's files (not the .gitignore'd or .dstackignore'd ones), a
 *   changed file is a new image, and `up --build` shows the plan and asks before it builds;
 * - the confirmations list the resources a new run creates and those `down` deletes (a real
 *   terminal, through `script`).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { describeWhen } from "../support/requirements";
import { cleanup, cliEntry, docker, dstack, e2ePrerequisites, makeSandbox, ok, ssh, testId, writeConfig, type Sandbox } from "./helpers";

jest.setTimeout(900_000);

const id = testId();

function write(sb: Sandbox, rel: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(sb.project, rel)), { recursive: true });
  fs.writeFileSync(path.join(sb.project, rel), text);
}

/** Runs dstack in a pseudo-terminal (util-linux `script`), typing `answer` at the prompt. */
function inTerminal(sb: Sandbox, args: string[], answer: string): { status: number | null; output: string } {
  const command = [process.execPath, cliEntry, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  const r = spawnSync("script", ["-qec", command, "/dev/null"], { cwd: sb.project, env: { ...sb.env, CI: "" }, input: answer, encoding: "utf8", timeout: 300_000 });
  return { status: r.status, output: ((r.stdout ?? "") + (r.stderr ?? "")).replace(/\r/g, "") };
}

/** dstack without CI=true and without a terminal: the plain progress display (CI=true keeps it quiet). */
function dstackPlain(sb: Sandbox, args: string[]) {
  return spawnSync(process.execPath, [cliEntry, ...args], { cwd: sb.project, env: { ...sb.env, CI: "" }, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", timeout: 600_000 });
}

describeWhen(e2ePrerequisites, "the two-line dev environment: python, pip and an index of the user's", () => {
  let sb: Sandbox;
  let run = "";
  beforeAll(() => {
    sb = makeSandbox("fidelity");
    writeConfig(sb, "type: dev-environment\nide: vscode\n");
    write(sb, "requirements.txt", "dstack-e2e-pkg==0.1\n");
    write(sb, "pkg/setup.py", 'from setuptools import setup\nsetup(name="dstack-e2e-pkg", version="0.1", py_modules=["dstack_e2e_pkg"])\n');
    write(sb, "pkg/dstack_e2e_pkg.py", `VALUE = "installed-${id}"\n`);
  });
  afterAll(() => cleanup(sb, run ? [run] : []));

  test("up -y with no resources reaches SSH (the default 100GB.. disk is the size of the machine's disk)", () => {
    const r = dstack(sb, ["up", "-y", "--json"]);
    const record = JSON.parse(ok(r, "dstack up")) as { name: string };
    run = record.name;
    expect(run).toMatch(/^[a-z][a-z0-9-]+$/);
    expect(ok(ssh(sb, run, "echo ssh-ok"), "ssh")).toBe("ssh-ok\n");
  });

  test("python, pip, venv, git and curl are there", () => {
    const out = ok(ssh(sb, run, "python --version && pip --version && python3 --version && git --version && curl --version | head -1 && python -m venv /tmp/venv && /tmp/venv/bin/pip --version"), "ssh");
    expect(out).toMatch(/^Python 3\.\d+\.\d+\npip \d+[\s\S]*\nPython 3\.\d+\.\d+\ngit version [\d.]+\ncurl [\d.]+[\s\S]*\npip \d+.* from \/tmp\/venv\//);
  });

  test("pip install -r requirements.txt installs a local package from the index in PIP_INDEX_URL", () => {
    const port = 19000 + (process.pid % 900); // below the range of dstack's ssh ports (20000-31999)
    const script = [
      "set -e",
      "cd /workflow",
      "pip wheel --quiet --no-index --no-build-isolation --no-deps -w /tmp/index/dstack-e2e-pkg ./pkg",
      `cd /tmp/index && (python -m http.server ${port} --bind 127.0.0.1 </dev/null >/tmp/index.log 2>&1 & echo $! >/tmp/index.pid) && cd /workflow`,
      `for i in $(seq 50); do curl -fs http://127.0.0.1:${port}/ >/dev/null && break; sleep 0.2; done`,
      `PIP_INDEX_URL=http://127.0.0.1:${port}/ pip install --quiet -r requirements.txt`,
      "python -c 'import dstack_e2e_pkg; print(dstack_e2e_pkg.VALUE)'",
      "kill $(cat /tmp/index.pid)",
    ].join("\n");
    const out = ok(ssh(sb, run, script), "ssh pip install");
    expect(out.trim().split("\n").pop()).toBe(`installed-${id}`);
    ok(dstack(sb, ["down", run, "-y"]), "dstack down");
    run = "";
  });
});

describeWhen(e2ePrerequisites, "build: sees the repo's files; the plan comes before the build", () => {
  let sb: Sandbox;
  const run = `e2e-ctx-${id}`;
  const images: string[] = [];
  const previewImage = (): string => {
    const doc = JSON.parse(ok(dstack(sb, ["preview", "--build", "--json"]), "preview --build")) as { build: { image: string } | null };
    if (!doc.build) throw new Error("preview --build names no image to build");
    images.push(doc.build.image);
    return doc.build.image;
  };
  beforeAll(() => {
    sb = makeSandbox("context");
    writeConfig(sb, `type: dev-environment\nname: ${run}\nbuild:\n  - cat build-input.txt > /etc/from-repo\n  - ls -A > /etc/build-context\n  - pwd > /etc/build-dir\n`);
    write(sb, "build-input.txt", `repo-file-${id}\n`);
    write(sb, ".gitignore", "*.log\n");
    write(sb, "debug.log", "ignored by .gitignore\n");
    write(sb, ".dstackignore", "data/\n");
    write(sb, "data/big.bin", "ignored by .dstackignore\n");
  });
  afterAll(() => {
    cleanup(sb, [run]);
    for (const i of images) docker(["rmi", "-f", i]);
  });

  test("without --build a missing image is refused; with it, preview names the image up would build (and builds nothing)", () => {
    const r = dstack(sb, ["preview"]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/E4111/);
    const image = previewImage();
    expect(image).toMatch(/^dstack-prebuilt:[0-9a-f]{16}$/);
    expect(docker(["image", "inspect", image]).status).not.toBe(0);
  });

  test("up --build asks before it builds: declined, nothing is built and nothing is left", () => {
    const image = previewImage();
    const r = inTerminal(sb, ["up", "--build"], "n\n");
    expect(r.status).not.toBe(0);
    expect(r.output).toContain(`Image: ${image} will be built (--build) before the run starts`);
    expect(r.output).toMatch(/is new; up will create \(2 to create\):\n\s+\+ LocalImage\s+image\s+ref=dstack-prebuilt:[0-9a-f]{16}[\s\S]*\+ LocalContainer\s+container\s+name=dstack-e2e-ctx-/);
    expect(r.output).toMatch(/Submit the run .* \[y\/n\]/);
    expect(r.output).toMatch(/aborted: nothing was changed/);
    expect(docker(["image", "inspect", image]).status).not.toBe(0);
    expect(JSON.parse(ok(dstack(sb, ["ps", "--json"]), "ps"))).toEqual([]);
  });

  test("up -y --build builds with the repo as context, in the working directory, output as indented steps", () => {
    const r = dstackPlain(sb, ["up", "-y", "--build"]);
    ok(r, "up --build");
    images.push(ok(docker(["inspect", "-f", "{{.Config.Image}}", `dstack-${run}`]), "inspect").trim());
    expect(r.stderr).toMatch(/\n {2}step 1\/\d+: FROM dstack-base:/);
    expect(r.stderr).not.toMatch(/ ---> |Successfully tagged/);
    expect(ok(ssh(sb, run, "cat /etc/from-repo /etc/build-dir"), "ssh")).toBe(`repo-file-${id}\n/workflow\n`);
    const context = ok(ssh(sb, run, "cat /etc/build-context"), "ssh").trim().split("\n");
    expect(context).toEqual(expect.arrayContaining([".dstack.yml", ".dstackignore", ".gitignore", "build-input.txt"]));
    expect(context).not.toContain("debug.log");
    expect(context).not.toContain("data");
  });

  test("a changed repo file is a new image; an ignored one is not", () => {
    const buildOf = () => (JSON.parse(ok(dstack(sb, ["preview", "--build", "--json"]), "preview --build")) as { build: { image: string } | null }).build;
    expect(buildOf()).toBeNull(); // the run's image exists: nothing to build
    fs.writeFileSync(path.join(sb.project, "debug.log"), "changed, but ignored\n");
    expect(buildOf()).toBeNull();
    fs.writeFileSync(path.join(sb.project, "build-input.txt"), `changed-${id}\n`);
    const running = ok(docker(["inspect", "-f", "{{.Config.Image}}", `dstack-${run}`]), "inspect").trim();
    const next = previewImage();
    expect(next).toMatch(/^dstack-prebuilt:[0-9a-f]{16}$/);
    expect(next).not.toBe(running);
  });

  test("down's confirmation lists what it deletes and what it keeps", () => {
    const r = inTerminal(sb, ["down", run], "y\n");
    expect(r.status).toBe(0);
    expect(r.output).toMatch(new RegExp(`down will delete ${run} \\(1 to delete, 1 kept\\):`));
    expect(r.output).toMatch(/\n {4}LocalImage\s+image\s+ref=dstack-prebuilt:[0-9a-f]{16}.*\[kept \(shared\)\]\n {2}- LocalContainer\s+container\s+name=dstack-e2e-ctx-/);
    expect(r.output).toContain(`${run} stopped (terminated: stopped by user)`);
  });
});
