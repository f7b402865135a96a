import type { EngineEvent } from "@pulumi/pulumi/automation";
import { collectChanges, maskSecrets, toProgress, urnName } from "../../src/stacks/events";
import { renderChanges } from "../../src/cli/progress";

const urn = (name: string) => `urn:pulumi:run1::dstack::pulumi-nodejs:dynamic:Resource::${name}`;
const pre = (op: string, name: string, extra: Record<string, unknown> = {}): EngineEvent =>
  ({ sequence: 1, timestamp: 0, resourcePreEvent: { metadata: { op, urn: urn(name), type: "pulumi-nodejs:dynamic:Resource", provider: "", ...extra } } }) as EngineEvent;

test("urn names and internal resources", () => {
  expect(urnName(urn("run1-container"))).toBe("run1-container");
  expect(toProgress({ sequence: 0, timestamp: 0, resourcePreEvent: { metadata: { op: "create", urn: "urn:pulumi:r::dstack::pulumi:pulumi:Stack::dstack-r", type: "pulumi:pulumi:Stack", provider: "" } } } as EngineEvent)).toBeNull();
  expect(toProgress(pre("create", "c"))).toMatchObject({ kind: "step-start", op: "create", name: "c" });
  expect(toProgress({ sequence: 0, timestamp: 0, diagnosticEvent: { message: "<{%reset%}>hello<{%reset%}>\n", color: "raw", severity: "info" } })).toEqual({ kind: "log", severity: "info", message: "hello" });
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
