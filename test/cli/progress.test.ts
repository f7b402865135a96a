import type { EngineEvent } from "@pulumi/pulumi/automation";
import { ProgressDisplay, progressMode, renderChanges } from "../../src/cli/progress";
import type { ResourceChange } from "../../src/stacks/events";

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

test("renderChanges: --diff adds each resource's type and the properties of creates and deletes; the default is unchanged", () => {
  const T = "pulumi-nodejs:dynamic:Resource";
  const changes: ResourceChange[] = [
    { op: "update", urn: urn("ctr"), name: "ctr", type: T, replace_keys: [], properties: [{ path: "env.FOO", kind: "update", replace: false, old: "a", new: "b" }] },
    { op: "create", urn: urn("vol"), name: "vol", type: T, replace_keys: [], properties: [{ path: "size", kind: "add", replace: false, new: 5 }] },
    { op: "delete", urn: urn("old"), name: "old", type: T, replace_keys: [], properties: [{ path: "path", kind: "delete", replace: false, old: "/data" }] },
  ];
  const plain = renderChanges(changes);
  expect(plain.split("\n")).toEqual(["~  update  ctr", '      ~ env.FOO: "a" → "b"', "+  create  vol", "-  delete  old", "", "1 to update, 1 to create, 1 to delete"]);
  expect(renderChanges(changes, { diff: false })).toBe(plain);
  expect(renderChanges(changes, { diff: true }).split("\n")).toEqual([
    `~  update  ctr  [${T}]`,
    '      ~ env.FOO: "a" → "b"',
    `+  create  vol  [${T}]`,
    "      + size: 5",
    `-  delete  old  [${T}]`,
    '      - path: "/data"',
    "",
    "1 to update, 1 to create, 1 to delete",
  ]);
  expect(renderChanges([], { diff: true })).toBe("No changes.");
});
