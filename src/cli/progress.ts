/**
 * How dstack shows the engine's work on stderr (stdout is never written, so `--json` output
 * stays one document). src/stacks/events.ts turns engine events into typed progress events
 * and a preview's changes; this file renders them:
 * - `live`: a redrawn table of resources with a spinner on a TTY,
 * - `plain`: one line per step and per log line (pipes, files),
 * - `quiet`: nothing but warnings (CI=true);
 * and the readable diff of a preview (`renderChanges`, a pure string).
 */
import type { EngineEvent, OpType } from "@pulumi/pulumi/automation";
import { toProgress, type ChangeOp, type ProgressEvent, type ResourceChange } from "../stacks/events";

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

function show(v: unknown): string {
  if (v === undefined) return "∅";
  const s = JSON.stringify(v);
  return s.length > 70 ? s.slice(0, 67) + "…" : s;
}

export interface RenderChangesOptions {
  /**
   * `preview --diff`: each resource's type too, and the property lines of creates and deletes
   * wherever the change carries them (by default only updates and replacements list them).
   */
  diff?: boolean;
}

/** A readable diff: one line per resource, one per changed property (pure). */
export function renderChanges(changes: ResourceChange[], opts: RenderChangesOptions = {}): string {
  if (changes.length === 0) return "No changes.";
  const sign: Record<ChangeOp, string> = { create: "+", update: "~", replace: "+-", delete: "-" };
  const lines: string[] = [];
  for (const c of changes) {
    const why = c.op === "replace" && c.replace_keys.length ? `  (replace because of: ${c.replace_keys.join(", ")})` : "";
    const type = opts.diff ? `  [${c.type}]` : "";
    lines.push(`${sign[c.op].padEnd(2)} ${c.op.padEnd(7)} ${c.name}${type}${why}`);
    if ((c.op === "create" || c.op === "delete") && !opts.diff) continue;
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
