/**
 * Engine events as data: the Automation API's `EngineEvent` stream → a typed progress stream
 * (`toProgress`), and a preview's events → the changes it describes (`collectChanges`). Pure;
 * nothing here prints: src/cli/progress.ts renders both.
 */
import type { EngineEvent, OpType, PropertyDiff, StepEventMetadata } from "@pulumi/pulumi/automation";
import { maskSecrets, SECRET_SIG } from "./checkpoint";

export { maskSecrets };

export interface StepInfo {
  op: OpType;
  urn: string;
  /** Resource type token (`pulumi-nodejs:dynamic:Resource` for dynamic providers). */
  type: string;
  /** Logical name (last URN segment). */
  name: string;
}

export type ProgressEvent =
  | ({ kind: "step-start"; planning: boolean; diffs: string[]; replaceKeys: string[] } & StepInfo)
  | ({ kind: "step-done"; planning: boolean } & StepInfo)
  | ({ kind: "step-failed" } & StepInfo)
  | { kind: "log"; severity: "info" | "warning" | "error"; message: string; name?: string }
  | { kind: "summary"; changes: Record<string, number>; durationSeconds: number }
  | { kind: "end" };

/** `urn:pulumi:stack::project::type::name` → name. */
export function urnName(urn: string): string {
  const i = urn.lastIndexOf("::");
  return i >= 0 ? urn.slice(i + 2) : urn;
}

/** Resources that are engine bookkeeping, not something a user made (the stack, default providers). */
export function isInternal(type: string): boolean {
  return type === "pulumi:pulumi:Stack" || type.startsWith("pulumi:providers:");
}

function step(m: StepEventMetadata): StepInfo {
  return { op: m.op, urn: m.urn, type: m.type, name: urnName(m.urn) };
}

/** The ANSI colour codes Pulumi puts in messages (`<{%reset%}>` and raw escapes) removed. */
export function stripColors(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/<\{%[^%]*%\}>/g, "").replace(/\x1b\[[0-9;]*m/g, "");
}

/** One engine event as a progress event, or null when it says nothing a user needs (pure). */
export function toProgress(e: EngineEvent): ProgressEvent | null {
  // The engine sends a CancelEvent as the last event of every stream (it marks the end, not a cancellation).
  if (e.cancelEvent) return { kind: "end" };
  if (e.resourcePreEvent) {
    const m = e.resourcePreEvent.metadata;
    if (isInternal(m.type)) return null;
    return { kind: "step-start", planning: !!e.resourcePreEvent.planning, diffs: m.diffs ?? [], replaceKeys: m.keys ?? [], ...step(m) };
  }
  if (e.resOutputsEvent) {
    const m = e.resOutputsEvent.metadata;
    if (isInternal(m.type)) return null;
    return { kind: "step-done", planning: !!e.resOutputsEvent.planning, ...step(m) };
  }
  if (e.resOpFailedEvent) {
    const m = e.resOpFailedEvent.metadata;
    return { kind: "step-failed", ...step(m) };
  }
  if (e.diagnosticEvent) {
    const d = e.diagnosticEvent;
    // "debug" diagnostics (the engine's RPC traces) are for DSTACK_DEBUG only.
    if (d.ephemeral || (d.severity as string) === "debug") return null;
    const message = stripColors(d.message).replace(/\s+$/, "");
    if (!message) return null;
    const severity = d.severity === "warning" ? "warning" : d.severity === "error" ? "error" : "info";
    return { kind: "log", severity, message, ...(d.urn ? { name: urnName(d.urn) } : {}) };
  }
  if (e.summaryEvent) {
    const changes: Record<string, number> = {};
    for (const [k, v] of Object.entries(e.summaryEvent.resourceChanges ?? {})) if (typeof v === "number") changes[k] = v;
    return { kind: "summary", changes, durationSeconds: e.summaryEvent.durationSeconds };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Preview diffs

export type ChangeOp = "create" | "update" | "replace" | "delete";

export interface PropertyChange {
  /** Property path as the engine reports it (`env.FOO`, `ports[0]`). */
  path: string;
  kind: "add" | "delete" | "update";
  /** True when this property forces the resource to be replaced. */
  replace: boolean;
  old?: unknown;
  new?: unknown;
}

export interface ResourceChange {
  op: ChangeOp;
  urn: string;
  name: string;
  type: string;
  /** Properties whose change causes the replacement. */
  replace_keys: string[];
  properties: PropertyChange[];
  /** A create's inputs (a delete's old inputs), secrets masked, engine plumbing left out: what the plans list. */
  inputs?: Record<string, unknown>;
}

/** Inputs that are engine plumbing, never shown (the serialized dynamic provider). */
const HIDDEN_INPUTS = new Set(["__provider"]);

function getPath(obj: unknown, p: string): unknown {
  let cur: unknown = obj;
  for (const part of p.replace(/\[(\d+)\]/g, ".$1").split(".").filter(Boolean)) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part.replace(/^"|"$/g, "")];
  }
  return cur;
}

function kindOf(d: PropertyDiff["diffKind"]): { kind: PropertyChange["kind"]; replace: boolean } {
  const s = String(d);
  return { kind: s.startsWith("add") ? "add" : s.startsWith("delete") ? "delete" : "update", replace: s.endsWith("-replace") };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Property paths that differ between two input objects (objects recursed, arrays and scalars
 * compared whole), for providers that report no detailed diff (dynamic providers). Pure.
 */
export function inputPaths(olds: unknown, news: unknown, prefix = ""): { path: string; kind: PropertyChange["kind"] }[] {
  const out: { path: string; kind: PropertyChange["kind"] }[] = [];
  const a = isPlainObject(olds) ? olds : {};
  const b = isPlainObject(news) ? news : {};
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (!prefix && HIDDEN_INPUTS.has(k)) continue;
    const p = prefix ? `${prefix}.${k}` : k;
    if (!(k in a)) out.push({ path: p, kind: "add" });
    else if (!(k in b)) out.push({ path: p, kind: "delete" });
    else if (isPlainObject(a[k]) && isPlainObject(b[k]) && !(SECRET_SIG in (a[k] as object))) out.push(...inputPaths(a[k], b[k], p));
    else if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push({ path: p, kind: "update" });
  }
  return out;
}

/** The changes a preview's events describe, one per resource (pure). */
export function collectChanges(events: EngineEvent[]): ResourceChange[] {
  const byUrn = new Map<string, ResourceChange>();
  for (const e of events) {
    const m = e.resourcePreEvent?.metadata;
    if (!m || isInternal(m.type)) continue;
    let op: ChangeOp | null = null;
    if (m.op === "create") op = "create";
    else if (m.op === "update") op = "update";
    else if (m.op === "delete") op = "delete";
    else if (m.op === "replace" || m.op === "create-replacement" || m.op === "delete-replaced") op = "replace";
    if (!op) continue;
    const prev = byUrn.get(m.urn);
    const change: ResourceChange = prev ?? { op, urn: m.urn, name: urnName(m.urn), type: m.type, replace_keys: [], properties: [] };
    if (op === "replace") change.op = "replace";
    for (const k of m.keys ?? []) if (!change.replace_keys.includes(k) && !HIDDEN_INPUTS.has(k)) change.replace_keys.push(k);
    const oldIn = m.old?.inputs ?? {};
    const newIn = m.new?.inputs ?? {};
    const seen = new Set(change.properties.map((p) => p.path));
    const detailed = m.detailedDiff ?? {};
    const computed = op === "update" || op === "replace" ? inputPaths(oldIn, newIn) : [];
    const paths = Object.keys(detailed).length ? Object.keys(detailed) : m.diffs?.length ? m.diffs : computed.map((c) => c.path);
    for (const p of paths) {
      if (seen.has(p) || HIDDEN_INPUTS.has(p.split(/[.[]/)[0])) continue;
      const d = detailed[p];
      const guessed = computed.find((c) => c.path === p)?.kind ?? "update";
      const { kind, replace } = d ? kindOf(d.diffKind) : { kind: guessed, replace: change.replace_keys.includes(p) };
      change.properties.push({
        path: p,
        kind,
        replace: replace || change.replace_keys.includes(p.split(/[.[]/)[0]),
        old: maskSecrets(getPath(oldIn, p)),
        new: maskSecrets(getPath(newIn, p)),
      });
      seen.add(p);
    }
    if ((op === "create" || op === "delete") && !change.inputs) {
      const given = op === "create" ? newIn : oldIn;
      change.inputs = Object.fromEntries(Object.entries(given).filter(([k]) => !HIDDEN_INPUTS.has(k)).map(([k, v]) => [k, maskSecrets(v)]));
    }
    byUrn.set(m.urn, change);
  }
  return [...byUrn.values()];
}
