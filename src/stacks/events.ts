/**
 * Engine events → a typed progress stream, and its displays:
 * - `live`: a redrawn table of resources on a TTY (stderr),
 * - `plain`: one line per step and per log line (pipes, files),
 * - `quiet`: nothing but warnings (CI=true), and
 * stdout is never written (so `--json` output stays one document).
 * Also the readable diff of a preview (`collectChanges` / `renderChanges`).
 * The conversions are pure; only `ProgressDisplay` writes.
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

export type ProgressMode = "live" | "plain" | "quiet";

/** live on a TTY, plain otherwise, quiet with CI=true. `--json` keeps stderr plain (stdout is the document). */
export function progressMode(o: { isTTY: boolean; ci: boolean; json?: boolean }): ProgressMode {
  if (o.ci) return "quiet";
  if (o.json) return "plain";
  return o.isTTY ? "live" : "plain";
}

export function defaultProgressMode(json = false): ProgressMode {
  const ci = /^(1|true|yes)$/i.test(process.env.CI ?? "");
  return progressMode({ isTTY: !!process.stderr.isTTY, ci, json });
}

/** The verb for an operation, as shown to a user. */
export function opVerb(op: OpType, done: boolean): string {
  const table: Partial<Record<OpType, [string, string]>> = {
    create: ["creating", "created"],
    update: ["updating", "updated"],
    delete: ["deleting", "deleted"],
    replace: ["replacing", "replaced"],
    "create-replacement": ["creating replacement", "created replacement"],
    "delete-replaced": ["deleting replaced", "deleted replaced"],
    read: ["reading", "read"],
    refresh: ["refreshing", "refreshed"],
    same: ["unchanged", "unchanged"],
  };
  const v = table[op];
  return v ? v[done ? 1 : 0] : op;
}

interface Row {
  name: string;
  op: OpType;
  state: "running" | "done" | "failed";
  started: number;
  ended?: number;
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * Shows a progress stream on a writable (stderr by default). Feed it engine events through
 * `onEvent`, free-form phases (waiting for sshd, …) through `phase`, and call `finish()`.
 */
export class ProgressDisplay {
  private readonly rows = new Map<string, Row>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private frame = 0;
  private phaseText: { text: string; started: number } | undefined;
  readonly events: ProgressEvent[] = [];

  constructor(
    readonly mode: ProgressMode,
    private readonly out: NodeJS.WritableStream = process.stderr,
    private readonly now: () => number = Date.now,
  ) {}

  /** Bound handler for the Automation API's `onEvent`. */
  readonly onEvent = (e: EngineEvent): void => {
    const p = toProgress(e);
    if (p) this.handle(p);
  };

  handle(p: ProgressEvent): void {
    this.events.push(p);
    switch (p.kind) {
      case "step-start": {
        if (p.op === "same" || p.planning) return;
        const key = p.urn;
        this.rows.set(key, { name: p.name, op: p.op, state: "running", started: this.now() });
        const why = p.replaceKeys.length ? ` (replace: ${p.replaceKeys.join(", ")})` : p.diffs.length && p.op === "update" ? ` (${p.diffs.join(", ")})` : "";
        this.line(`${opVerb(p.op, false)} ${p.name}${why}`);
        break;
      }
      case "step-done": {
        const row = this.rows.get(p.urn);
        if (!row || row.state !== "running") return;
        row.state = "done";
        row.ended = this.now();
        this.line(`${opVerb(row.op, true)} ${row.name} (${secs(row.ended - row.started)})`);
        break;
      }
      case "step-failed": {
        const row = this.rows.get(p.urn);
        if (row) {
          row.state = "failed";
          row.ended = this.now();
        }
        this.line(`failed ${p.name}`, true);
        break;
      }
      case "log":
        if (p.severity === "error") return; // errors come back with the thrown result
        if (p.severity === "warning") this.line(`warning: ${p.name ? p.name + ": " : ""}${p.message}`, true);
        else for (const l of p.message.split("\n")) this.line(`${p.name ? p.name + " | " : ""}${l}`);
        break;
      case "end":
        break;
      case "summary":
        break;
    }
  }

  /** A free-form phase (e.g. "waiting for sshd"); replaces the previous one. */
  phase(text: string): void {
    if (this.phaseText && this.mode !== "live") this.line(`${this.phaseText.text} (${secs(this.now() - this.phaseText.started)})`);
    this.phaseText = { text, started: this.now() };
    if (this.mode === "plain") this.line(`${text}…`);
    this.redraw();
  }

  /** Ends the display (stops the spinner, leaves the final table); `ok: false` marks the last phase failed. */
  finish(ok = true): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.mode === "live") {
      this.clear();
      for (const row of this.rows.values()) this.out.write(this.rowText(row) + "\n");
      if (this.phaseText) this.out.write(`${ok ? "✓" : "✗"} ${this.phaseText.text} (${secs(this.now() - this.phaseText.started)})\n`);
      this.rows.clear();
      this.phaseText = undefined;
      this.drawn = 0;
    } else if (this.phaseText) {
      this.line(`${this.phaseText.text}: ${ok ? "done" : "failed"} (${secs(this.now() - this.phaseText.started)})`, !ok);
      this.phaseText = undefined;
    }
  }

  private line(text: string, important = false): void {
    if (this.mode === "quiet" && !important) return;
    if (this.mode === "live") {
      // Steps are shown by the table; other lines scroll above it.
      if (/^(creating|updating|deleting|replacing|created|updated|deleted|replaced|reading|read|refresh)/.test(text)) {
        this.redraw();
        return;
      }
      this.clear();
      this.out.write(text + "\n");
      this.redraw();
      return;
    }
    this.out.write(text + "\n");
  }

  private rowText(row: Row): string {
    const end = row.ended ?? this.now();
    const mark = row.state === "done" ? "✓" : row.state === "failed" ? "✗" : SPINNER[this.frame % SPINNER.length];
    return `${mark} ${opVerb(row.op, row.state !== "running").padEnd(20)} ${row.name.padEnd(36)} ${secs(end - row.started)}`;
  }

  private clear(): void {
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }

  private redraw(): void {
    if (this.mode !== "live") return;
    this.clear();
    const lines = [...this.rows.values()].map((r) => this.rowText(r));
    if (this.phaseText) lines.push(`${SPINNER[this.frame % SPINNER.length]} ${this.phaseText.text} ${secs(this.now() - this.phaseText.started)}`);
    if (lines.length) this.out.write(lines.join("\n") + "\n");
    this.drawn = lines.length;
    if (!this.timer && lines.length) {
      this.timer = setInterval(() => {
        this.frame++;
        this.redraw();
      }, 100);
      this.timer.unref();
    }
  }
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
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
    byUrn.set(m.urn, change);
  }
  return [...byUrn.values()];
}

function show(v: unknown): string {
  if (v === undefined) return "∅";
  const s = JSON.stringify(v);
  return s.length > 70 ? s.slice(0, 67) + "…" : s;
}

/** A readable diff: one line per resource, one per changed property (pure). */
export function renderChanges(changes: ResourceChange[]): string {
  if (changes.length === 0) return "No changes.";
  const sign: Record<ChangeOp, string> = { create: "+", update: "~", replace: "+-", delete: "-" };
  const lines: string[] = [];
  for (const c of changes) {
    const why = c.op === "replace" && c.replace_keys.length ? `  (replace because of: ${c.replace_keys.join(", ")})` : "";
    lines.push(`${sign[c.op].padEnd(2)} ${c.op.padEnd(7)} ${c.name}${why}`);
    if (c.op === "create" || c.op === "delete") continue;
    for (const p of c.properties) {
      const mark = p.replace ? " [forces replace]" : "";
      if (p.kind === "add") lines.push(`      + ${p.path}: ${show(p.new)}${mark}`);
      else if (p.kind === "delete") lines.push(`      - ${p.path}: ${show(p.old)}${mark}`);
      else lines.push(`      ~ ${p.path}: ${show(p.old)} → ${show(p.new)}${mark}`);
    }
  }
  const counts = new Map<ChangeOp, number>();
  for (const c of changes) counts.set(c.op, (counts.get(c.op) ?? 0) + 1);
  lines.push("", [...counts].map(([op, n]) => `${n} to ${op}`).join(", "));
  return lines.join("\n");
}
