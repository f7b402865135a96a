/**
 * A stack made by the previous version upgrades in place: a run brought up by the local
 * program as it was before the provider plugin (nodejs dynamic-provider resources,
 * test/local/legacy-program.ts), then `up` with today's program (resources of
 * pulumi-resource-dstack, aliased to their old types) — real engine, real Docker. Nothing
 * changes in Docker: same container (same id, not restarted), same ssh port and host key, the
 * volume kept; the state now holds the plugin's types; a further `up` changes nothing and
 * `destroy` goes through the plugin.
 */
import * as fs from "fs";
import * as path from "path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { clientKey, sshRun, waitForBanner } from "./ssh-helpers";
import { builtPlugin, describeWhen, dockerEngine, pulumiCli } from "../support/requirements";
import { localStack, makePlan, runSpec, tempDir } from "./fixtures";
import { legacyLocalProgram } from "./legacy-program";

jest.setTimeout(300000);

/** The operations the engine took on the run's own resources (providers and the stack left out). */
function resourceOps(events: EngineEvent[]): Record<string, string[]> {
  const ops: Record<string, string[]> = {};
  for (const e of events) {
    const m = e.resourcePreEvent?.metadata;
    if (!m || m.type.startsWith("pulumi:providers:") || m.type === "pulumi:pulumi:Stack") continue;
    (ops[m.urn.split("::").pop() as string] ??= []).push(m.op);
  }
  return ops;
}

function stateTypes(deployment: unknown): string[] {
  return ((deployment as { resources?: { type: string }[] }).resources ?? []).map((r) => r.type).sort();
}

describeWhen([dockerEngine, pulumiCli, builtPlugin], "a stack of the previous version (dynamic providers) upgrades in place", () => {
  const home = tempDir("dstack-upgrade-home-");
  const repo = tempDir("dstack-upgrade-repo-");
  const run = `t-upgrade-${process.pid}`;
  const volume = `dstack-test-upgrade-${process.pid}`;
  const cwd = process.cwd();
  let baseRef = "";

  beforeAll(async () => {
    const { baseImageRef } = await import("../../src/stacks/base-image");
    baseRef = baseImageRef();
    fs.writeFileSync(path.join(repo, "hello.txt"), "hello\n");
    process.chdir(tempDir("dstack-cwd-"));
  });

  afterAll(async () => {
    process.chdir(cwd);
    const Docker = require("dockerode");
    const docker = new Docker();
    await docker.getContainer(`dstack-${run}`).remove({ force: true }).catch(() => undefined);
    await docker.getVolume(volume).remove().catch(() => undefined);
  });

  it("keeps the container, its port, host key and volume; the state moves to pulumi-resource-dstack", async () => {
    const Docker = require("dockerode");
    const docker = new Docker();
    const key = clientKey(home);
    const spec = runSpec({
      name: run, repo_dir: repo, env: { GREETING: "hi", TOKEN: "tok-secret-789" }, secret_env: ["TOKEN"],
      volumes: [{ kind: "volume", name: [volume], path: "/data" }],
    });
    const p = makePlan(spec, key.publicKey, baseRef);
    const ts = await localStack(home, run, p);

    // the previous version
    ts.setProgram(legacyLocalProgram);
    const old = await ts.stack.up();
    const id = old.outputs.instance_id.value as string;
    const port = old.outputs.ssh_port.value as number;
    const hostKey = old.outputs.host_key.value as string;
    expect(stateTypes((await ts.stack.exportStack()).deployment)).toEqual(expect.arrayContaining([
      "pulumi-nodejs:dynamic/dstack:LocalContainer", "pulumi-nodejs:dynamic/dstack:LocalImage", "pulumi-nodejs:dynamic/dstack:LocalVolume", "pulumi:providers:pulumi-nodejs",
    ]));
    await waitForBanner(port);
    expect((await sshRun(key, port, hostKey, home, 'echo "$GREETING $TOKEN"; echo kept > /data/f')).stdout.trim()).toBe("hi tok-secret-789");
    const startedAt = (await docker.getContainer(id).inspect()).State.StartedAt as string;

    // today's program on that stack: the preview and the update take no step on the resources
    ts.setProgram((await import("../../src/compiler/backends/local")).localProgram);
    const previewEvents: EngineEvent[] = [];
    await ts.stack.preview({ onEvent: (e) => previewEvents.push(e) });
    expect(resourceOps(previewEvents)).toEqual({ image: ["same"], [`volume-${volume}`]: ["same"], container: ["same"] });
    const upEvents: EngineEvent[] = [];
    const up = await ts.stack.up({ onEvent: (e) => upEvents.push(e) });
    expect(resourceOps(upEvents)).toEqual({ image: ["same"], [`volume-${volume}`]: ["same"], container: ["same"] });
    expect(up.outputs.instance_id.value).toBe(id);
    expect(up.outputs.ssh_port.value).toBe(port);
    expect(up.outputs.host_key.value).toBe(hostKey);

    // Docker: the very same container, never restarted
    const info = await docker.getContainer(id).inspect();
    expect(info.Id).toBe(id);
    expect(info.State.Running).toBe(true);
    expect(info.State.StartedAt).toBe(startedAt);
    expect((await sshRun(key, port, hostKey, home, "cat /data/f")).stdout.trim()).toBe("kept");

    // the state: the plugin's types, no dynamic provider left; secrets still secret
    const exported = (await ts.stack.exportStack()).deployment as { resources: { type: string; outputs?: Record<string, unknown> }[] };
    const types = stateTypes(exported);
    expect(types).toEqual(expect.arrayContaining(["dstack:index:LocalContainer", "dstack:index:LocalImage", "dstack:index:LocalVolume", "pulumi:providers:dstack"]));
    expect(types.filter((t) => t.startsWith("pulumi-nodejs") || t === "pulumi:providers:pulumi-nodejs")).toEqual([]);
    const c = exported.resources.find((r) => r.type === "dstack:index:LocalContainer");
    expect(c?.outputs?.secret_env).toMatchObject({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" });

    // settled: a further up is all `same`, and an edit is an in-place update served by the plugin
    const again: EngineEvent[] = [];
    await ts.stack.up({ onEvent: (e) => again.push(e) });
    expect(resourceOps(again)).toEqual({ image: ["same"], [`volume-${volume}`]: ["same"], container: ["same"] });
    ts.setPlan(makePlan(runSpec({ ...spec, env: { GREETING: "changed", TOKEN: "tok-secret-789" } }), key.publicKey, baseRef));
    const edit: EngineEvent[] = [];
    const up2 = await ts.stack.up({ onEvent: (e) => edit.push(e) });
    expect(resourceOps(edit).container).toEqual(["update"]);
    expect(up2.outputs.instance_id.value).toBe(id);
    await waitForBanner(port);
    expect((await sshRun(key, port, hostKey, home, 'echo "$GREETING"')).stdout.trim()).toBe("changed");

    await ts.stack.destroy();
    await expect(docker.getContainer(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await docker.getVolume(volume).inspect()).Name).toBe(volume); // volumes outlive runs
  });
});
