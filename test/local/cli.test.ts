/**
 * `dstack setup`, `dstack doctor` and `dstack build`, in process through cli.ts's main(),
 * against the real Docker engine and the real Pulumi CLI (skipped when absent).
 */
import * as fs from "fs";
import * as path from "path";
import type Docker from "dockerode";
import { runInProcess as run } from "../support/in-process-cli";
import { describeWhen, dockerEngine, setupPulumiCli } from "../support/requirements";
import { tempDir } from "./fixtures";

jest.setTimeout(120000);

describeWhen([dockerEngine, setupPulumiCli], "dstack setup / doctor / build", () => {
  const home = tempDir("dstack-cli-home-");
  const env = { DSTACK_HOME: home };

  it("setup on a ready machine finds everything and builds nothing (--json)", async () => {
    const r = await run(["setup", "--json"], env);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.pulumi).toMatchObject({ how: "found" });
    expect(doc.base_image).toMatchObject({ built: false, python: ["3.11"] });
    expect(doc.base_image.ref).toMatch(/^dstack-base:[0-9a-f]{12}$/);
    expect(doc.catalog.rows).toBe(49477); // the shipped catalogs, loaded once so their cache exists
    expect(fs.existsSync(doc.pulumi.plugin)).toBe(true);
  });

  it("doctor --json lists every check; without a Docker engine it says so with the fix and exits 5", async () => {
    const good = await run(["doctor", "--json"], env);
    const doc = JSON.parse(good.stdout);
    expect(doc.checks.map((c: { name: string }) => c.name)).toEqual(["node", "pulumi", "nodejs-plugin", "docker", "base-image", "state", "ssh"]);
    expect(doc.ok).toBe(true);
    expect(good.code).toBe(0);

    const bad = await run(["doctor", "--json"], { ...env, DOCKER_HOST: `unix://${path.join(home, "no-such.sock")}` });
    const b = JSON.parse(bad.stdout);
    expect(b.ok).toBe(false);
    const dockerCheck = b.checks.find((c: { name: string }) => c.name === "docker");
    expect(dockerCheck).toMatchObject({ ok: false });
    expect(dockerCheck.detail).toMatch(/no Docker engine at unix:\/\/.*no-such\.sock/);
    expect(dockerCheck.fix).toMatch(/dockerd|DOCKER_HOST/);
    expect(bad.code).toBe(5);

    const text = await run(["doctor"], { ...env, DOCKER_HOST: `unix://${path.join(home, "no-such.sock")}` });
    expect(text.stdout).toMatch(/MISSING\s+docker/);
    expect(text.stdout).toMatch(/fix: /);
  });

  it("build -f FILE builds the prebuilt image once, then reuses it; a configuration without build: is E4115", async () => {
    const repo = tempDir("dstack-cli-build-");
    const file = path.join(repo, "b.dstack.yml");
    fs.writeFileSync(file, `type: dev-environment\nname: cli-build\npython: "3.11"\nbuild:\n  - echo cli-build-${process.pid} > /cli-build\n`);
    const first = await run(["build", "-f", file, "--json"], env);
    // stdout carries the JSON error when it fails, so a failure says why
    expect({ code: first.code, stdout: first.stdout }).toMatchObject({ code: 0 });
    const a = JSON.parse(first.stdout);
    expect(a).toMatchObject({ built: true });
    expect(first.stderr).toMatch(/^ {2}step 1\/\d+: FROM dstack-base:/m); // indented steps, not raw Docker lines
    const second = await run(["build", "-f", file, "--json"], env);
    expect(JSON.parse(second.stdout)).toMatchObject({ built: false, image: a.image, image_id: a.image_id });
    const D = require("dockerode") as typeof Docker;
    await new D().getImage(a.image).remove({ force: true });

    const none = path.join(repo, "none.dstack.yml");
    fs.writeFileSync(none, "type: dev-environment\nname: cli-none\n");
    const r = await run(["build", "-f", none, "--json"], env);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.code).toBe("E4115");
  });
});
