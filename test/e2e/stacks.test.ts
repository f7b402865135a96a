/**
 * The Automation API layer against the real engine with the DIY file backend, using a
 * dynamic provider that writes a file (no Docker needed): create, no-op, update, outputs,
 * list, destroy + remove; secrets never in plaintext state; the passphrase file.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

jest.setTimeout(180_000);

describe("stacks workspace (real engine, file backend)", () => {
  let tmp: string;
  const saved = { ...process.env };
  const cwd = process.cwd();
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-stacks-"));
    process.env.DSTACK_HOME = path.join(tmp, "dstack");
    process.env.HOME = path.join(tmp, "home");
    delete process.env.PULUMI_CONFIG_PASSPHRASE;
    delete process.env.DSTACK_STATE_URL;
    process.chdir(tmp);
  });
  afterAll(() => {
    process.env = saved;
    // back to where we were before removing the folder: jest reuses this worker process for
    // other test files, and a working directory that no longer exists breaks them all
    process.chdir(cwd);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("create, no-op, update, outputs, list, destroy and remove", async () => {
    const ws = await import("../../src/stacks/workspace");
    const pulumi = await import("@pulumi/pulumi");
    const target = path.join(tmp, "target.txt");
    const provider: import("@pulumi/pulumi").dynamic.ResourceProvider = {
      async create(inputs) {
        require("fs").writeFileSync(inputs.file, inputs.content);
        return { id: inputs.file, outs: inputs };
      },
      async diff(_id, olds, news) {
        const changes = olds.content !== news.content || olds.secret !== news.secret;
        return { changes, replaces: olds.file !== news.file ? ["file"] : [] };
      },
      async update(_id, _olds, news) {
        require("fs").writeFileSync(news.file, news.content);
        return { outs: news };
      },
      async delete(id) {
        require("fs").rmSync(id, { force: true });
      },
    };
    class FileResource extends pulumi.dynamic.Resource {}
    const program = (content: string) => async () => {
      const r = new FileResource(provider, "file", { file: target, content, secret: pulumi.secret("hunter2-" + content) }, {});
      return { id: r.id, content: pulumi.output(content), token: pulumi.secret("tok-" + content) };
    };
    let t = Date.now();
    const stack = await ws.openStack("test-run-1", program("one"));
    const r1 = await stack.up();
    const tCreate = Date.now() - t;
    expect(r1.summary.resourceChanges?.create).toBe(2);
    expect(fs.readFileSync(target, "utf8")).toBe("one");
    expect(r1.outputs.token.secret).toBe(true);

    t = Date.now();
    const again = await ws.openStack("test-run-1", program("one"));
    const r2 = await again.up();
    const tNoop = Date.now() - t;
    expect(r2.summary.resourceChanges).toEqual({ same: 2 });

    const changed = await ws.openStack("test-run-1", program("two"));
    const events: string[] = [];
    const pv = await changed.preview({ onEvent: (e) => e.resourcePreEvent && events.push(e.resourcePreEvent.metadata.op) });
    expect(pv.changeSummary.update).toBe(1);
    expect(events).toContain("update");
    expect(fs.readFileSync(target, "utf8")).toBe("one");
    await changed.up();
    expect(fs.readFileSync(target, "utf8")).toBe("two");

    const outs = await ws.readOutputs("test-run-1");
    expect(outs).toMatchObject({ content: "two", token: "[secret]" });
    expect(await ws.readOutputs("no-such-run")).toBeNull();
    // the DIY fast path reads the same outputs the engine reports
    const viaEngine = ws.plainOutputs(await (await ws.openWorkspace()).stackOutputs("test-run-1"));
    expect(ws.readOutputsFromFile("test-run-1")).toEqual(viaEngine);
    expect(await ws.listRunNames()).toEqual(["test-run-1"]);
    const names = (await ws.listStacks()).map((s) => s.name);
    expect(names).toContain("test-run-1");

    // the state never holds the secret in plaintext; the passphrase file is 0600
    const stateText = fs.readdirSync(path.join(tmp, "dstack", "state", ".pulumi", "stacks", "dstack"))
      .filter((f) => f.endsWith(".json"))
      .map((f) => fs.readFileSync(path.join(tmp, "dstack", "state", ".pulumi", "stacks", "dstack", f), "utf8"))
      .join("\n");
    expect(stateText).toContain("two");
    expect(stateText).not.toContain("hunter2");
    expect(stateText).not.toContain("tok-two");
    expect(fs.statSync(path.join(tmp, "dstack", "passphrase")).mode & 0o777).toBe(0o600);

    t = Date.now();
    await ws.destroyAndRemove(await ws.openStack("test-run-1", program("two"), { create: false }));
    const tDown = Date.now() - t;
    expect(fs.existsSync(target)).toBe(false);
    expect(await ws.stackExists("test-run-1")).toBe(false);
    await expect(ws.openStack("test-run-1", program("two"), { create: false })).rejects.toMatchObject({ diagnostics: [{ code: "E4503" }] });
    process.stderr.write(`engine timings: create ${tCreate} ms, no-op ${tNoop} ms, destroy+remove ${tDown} ms\n`);
  });
});
