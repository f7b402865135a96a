import type { EngineEvent } from "@pulumi/pulumi/automation";
import { collectChanges, maskSecrets, ProgressDisplay, progressMode, renderChanges, toProgress, urnName } from "../../src/stacks/events";

const urn = (name: string) => `urn:pulumi:run1::dstack::pulumi-nodejs:dynamic:Resource::${name}`;
const pre = (op: string, name: string, extra: Record<string, unknown> = {}): EngineEvent =>
  ({ sequence: 1, timestamp: 0, resourcePreEvent: { metadata: { op, urn: urn(name), type: "pulumi-nodejs:dynamic:Resource", provider: "", ...extra } } }) as EngineEvent;
const outs = (op: string, name: string): EngineEvent =>
  ({ sequence: 2, timestamp: 0, resOutputsEvent: { metadata: { op, urn: urn(name), type: "pulumi-nodejs:dynamic:Resource", provider: "" } } }) as EngineEvent;

class Sink {
  text = "";
  write(s: string) {
    this.text += s;
    return true;
  }
}

test("urn names and internal resources", () => {
  expect(urnName(urn("run1-container"))).toBe("run1-container");
  expect(toProgress({ sequence: 0, timestamp: 0, resourcePreEvent: { metadata: { op: "create", urn: "urn:pulumi:r::dstack::pulumi:pulumi:Stack::dstack-r", type: "pulumi:pulumi:Stack", provider: "" } } } as EngineEvent)).toBeNull();
  expect(toProgress(pre("create", "c"))).toMatchObject({ kind: "step-start", op: "create", name: "c" });
  expect(toProgress({ sequence: 0, timestamp: 0, diagnosticEvent: { message: "<{%reset%}>hello<{%reset%}>\n", color: "raw", severity: "info" } })).toEqual({ kind: "log", severity: "info", message: "hello" });
});

test("progress modes", () => {
  expect(progressMode({ isTTY: true, ci: false })).toBe("live");
  expect(progressMode({ isTTY: false, ci: false })).toBe("plain");
  expect(progressMode({ isTTY: true, ci: true })).toBe("quiet");
  expect(progressMode({ isTTY: true, ci: false, json: true })).toBe("plain");
});

test("plain display prints one line per step, quiet prints only warnings", () => {
  let t = 0;
  const sink = new Sink();
  const d = new ProgressDisplay("plain", sink as unknown as NodeJS.WritableStream, () => t);
  d.onEvent(pre("create", "vol"));
  t = 1500;
  d.onEvent(outs("create", "vol"));
  d.onEvent(pre("same", "img"));
  d.onEvent({ sequence: 3, timestamp: 0, diagnosticEvent: { message: "careful", color: "raw", severity: "warning", urn: urn("vol") } });
  d.phase("waiting for sshd");
  t = 2000;
  d.finish();
  expect(sink.text.split("\n")).toEqual(["creating vol", "created vol (1.5s)", "warning: vol: careful", "waiting for sshd…", "waiting for sshd: done (0.5s)", ""]);

  const q = new Sink();
  const dq = new ProgressDisplay("quiet", q as unknown as NodeJS.WritableStream);
  dq.onEvent(pre("create", "vol"));
  dq.onEvent({ sequence: 3, timestamp: 0, diagnosticEvent: { message: "careful", color: "raw", severity: "warning" } });
  dq.finish();
  expect(q.text).toBe("warning: careful\n");
});

test("live display redraws in place and ends with the final table", () => {
  const sink = new Sink();
  const d = new ProgressDisplay("live", sink as unknown as NodeJS.WritableStream, () => 0);
  d.onEvent(pre("create", "c"));
  d.onEvent(outs("create", "c"));
  d.finish();
  expect(sink.text).toContain("\x1b[1A\x1b[J");
  // eslint-disable-next-line no-control-regex
  expect(sink.text.trimEnd().split("\n").pop()).toMatch(/^(\x1b\[\d+A\x1b\[J)?✓ created\s+c\s+0\.0s$/);
});

test("collectChanges groups replace steps and shows property values, secrets masked", () => {
  const events = [
    pre("same", "vol"),
    pre("update", "ctr", {
      diffs: ["env"],
      detailedDiff: { "env.FOO": { diffKind: "update", inputDiff: true }, "env.TOKEN": { diffKind: "add", inputDiff: true } },
      old: { inputs: { env: { FOO: "a" }, __provider: "exports.handler=…" } },
      new: { inputs: { env: { FOO: "b", TOKEN: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "s3cret" } } } },
    }),
    pre("create-replacement", "img", { keys: ["commands"], diffs: ["commands"], old: { inputs: { commands: ["x"] } }, new: { inputs: { commands: ["y"] } } }),
    pre("replace", "img", { keys: ["commands"] }),
    pre("delete-replaced", "img", { keys: ["commands"] }),
    pre("create", "new-vol"),
  ];
  const changes = collectChanges(events);
  expect(changes.map((c) => [c.op, c.name])).toEqual([
    ["update", "ctr"],
    ["replace", "img"],
    ["create", "new-vol"],
  ]);
  expect(changes[0].properties).toEqual([
    { path: "env.FOO", kind: "update", replace: false, old: "a", new: "b" },
    { path: "env.TOKEN", kind: "add", replace: false, old: undefined, new: "[secret]" },
  ]);
  expect(changes[1]).toMatchObject({ replace_keys: ["commands"], properties: [{ path: "commands", replace: true, old: ["x"], new: ["y"] }] });
  const text = renderChanges(changes);
  expect(text).toContain('~  update  ctr\n      ~ env.FOO: "a" → "b"\n      + env.TOKEN: "[secret]"');
  expect(text).toContain("+- replace img  (replace because of: commands)");
  expect(text).toContain("1 to update, 1 to replace, 1 to create");
  expect(text).not.toContain("s3cret");
  expect(renderChanges([])).toBe("No changes.");
  expect(maskSecrets({ a: [{ "4dabf18193072939515e22adb298388d": "x" }] })).toEqual({ a: ["[secret]"] });
});

test("dynamic providers report no detailed diff: paths come from the inputs", () => {
  const changes = collectChanges([
    pre("update", "container", {
      old: { inputs: { __provider: "a", env: { FOO: "bar", KEEP: "1" }, cpus: null, ports: [1] } },
      new: { inputs: { __provider: "b", env: { FOO: "baz", KEEP: "1", NEW: "x" }, cpus: null, ports: [1, 2] } },
    }),
    pre("replace", "image", { keys: ["ref"], old: { inputs: { ref: "a:1" } }, new: { inputs: { ref: "a:2" } } }),
  ]);
  expect(changes[0].properties).toEqual([
    { path: "env.FOO", kind: "update", replace: false, old: "bar", new: "baz" },
    { path: "env.NEW", kind: "add", replace: false, old: undefined, new: "x" },
    { path: "ports", kind: "update", replace: false, old: [1], new: [1, 2] },
  ]);
  expect(changes[1]).toMatchObject({ op: "replace", replace_keys: ["ref"], properties: [{ path: "ref", replace: true }] });
});
