/**
 * A YAML file kept with its source positions, so every diagnostic can point at
 * `FILE:LINE:COL` with the length of the offending text.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from "yaml";
import type { Diagnostic } from "../diagnostics";

export type PathSegment = string | number;
export type Path = readonly PathSegment[];

export interface Position {
  line: number;
  col: number;
  length: number;
}

/** Renders a property path the way users write it: `resources.gpu`, `env[2]`. */
export function formatPath(path: Path): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out || "(top level)";
}

export class YamlSource {
  readonly lineCounter = new LineCounter();
  readonly doc: Document.Parsed;
  /** Plain JS value of the document (`undefined` when empty or unparsable). */
  readonly value: unknown;
  /** YAML syntax errors, as diagnostics. */
  readonly syntaxErrors: Diagnostic[] = [];

  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lineCounter, prettyErrors: false, uniqueKeys: true, strict: true, merge: true });
    for (const e of this.doc.errors) {
      const [start, end] = e.pos;
      let { line, col } = this.lineCounter.linePos(start);
      // errors found at the end of the text (an unclosed bracket or quote): show the last line that has text
      const lines = text.split("\n");
      if (!(lines[line - 1] ?? "").trim()) {
        let l = Math.min(line, lines.length);
        while (l > 1 && !(lines[l - 1] ?? "").trim()) l--;
        line = l;
        col = Math.max(1, (lines[l - 1] ?? "").length);
      }
      let length = Math.max(1, Math.min(end - start, this.lineLength(line) - col + 1));
      if (e.code === "DUPLICATE_KEY") {
        const colon = (lines[line - 1] ?? "").indexOf(":", col - 1);
        if (colon >= col - 1) length = Math.max(1, colon - col + 1);
      }
      this.syntaxErrors.push({
        code: "E1001",
        severity: "error",
        message: `invalid YAML: ${firstLine(e.message)}`,
        hint: yamlHint(e.code),
        file,
        line,
        col,
        length,
      });
    }
    let value: unknown;
    if (!this.syntaxErrors.length) {
      try {
        value = this.doc.toJS({ maxAliasCount: 100 }) as unknown;
      } catch (e) {
        // unresolved aliases, alias bombs: the parser accepts them, building the value does not
        let at: Position = { line: 1, col: 1, length: 1 };
        visit(this.doc, {
          Alias: (_key, node) => {
            if (node.resolve(this.doc) === undefined && node.range) {
              at = this.posOf(node.range) ?? at;
              return visit.BREAK;
            }
            return undefined;
          },
        });
        this.syntaxErrors.push({ code: "E1001", severity: "error", message: `invalid YAML: ${firstLine(e instanceof Error ? e.message : String(e))}`, hint: "define the anchor (&name) before using the alias (*name), or quote a value that starts with *", file, ...at });
      }
    }
    this.value = value;
  }

  private lineLength(line: number): number {
    const starts = this.lineCounter.lineStarts;
    const start = starts[line - 1] ?? 0;
    const next = starts[line] ?? this.text.length + 1;
    return Math.max(1, next - start - 1);
  }

  private posOf(range: readonly number[] | null | undefined): Position | undefined {
    if (!range) return undefined;
    const start = range[0]!;
    const end = range[1] ?? start + 1;
    const { line, col } = this.lineCounter.linePos(start);
    const firstLineEnd = this.text.indexOf("\n", start);
    const stop = firstLineEnd === -1 ? end : Math.min(end, firstLineEnd);
    return { line, col, length: Math.max(1, stop - start) };
  }

  /**
   * The position of the value at `path` (or of its key, with `key: true`). When the path does
   * not exist in full, the deepest existing node is used.
   */
  locate(path: Path, opts: { key?: boolean } = {}): Position | undefined {
    let node: unknown = this.doc.contents;
    let best: Position | undefined = this.posOf((node as Node | null)?.range);
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) return best;
        const keyPos = this.posOf((pair.key as Node | null)?.range);
        if (last && opts.key) return keyPos ?? best;
        const valuePos = this.posOf((pair.value as Node | null)?.range);
        best = valuePos ?? keyPos ?? best;
        if (!pair.value) return best;
        node = pair.value;
      } else if (isSeq(node)) {
        const idx = typeof seg === "number" ? seg : Number(seg);
        const item = node.items[idx];
        if (item === undefined) return best;
        best = this.posOf((item as Node | null)?.range) ?? best;
        node = item;
      } else {
        return best;
      }
    }
    return best;
  }

  /** The source text of the plain scalar at `path` (`3.10` for a value that reads as the number 3.1), if it is one. */
  scalarSource(path: Path): string | undefined {
    let node: unknown = this.doc.contents;
    for (const seg of path) {
      if (isMap(node)) node = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg))?.value;
      else if (isSeq(node)) node = node.items[typeof seg === "number" ? seg : Number(seg)];
      else return undefined;
    }
    return isScalar(node) && typeof node.source === "string" ? node.source : undefined;
  }

  /** A diagnostic positioned at `path` in this file. */
  diagnostic(path: Path, d: Omit<Diagnostic, "file" | "line" | "col" | "length" | "severity"> & { severity?: Diagnostic["severity"] }, opts: { key?: boolean } = {}): Diagnostic {
    const pos = this.locate(path, opts);
    return { severity: "error", ...d, file: this.file, ...(pos ? { line: pos.line, col: pos.col, length: pos.length } : {}) };
  }
}

function firstLine(s: string): string {
  return s.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
}

function yamlHint(code: string): string | undefined {
  switch (code) {
    case "DUPLICATE_KEY":
      return "each key may appear once in a mapping; remove or merge the duplicate";
    case "TAB_AS_INDENT":
      return "indent with spaces, not tabs";
    case "BAD_INDENT":
    case "MISSING_CHAR":
      return "check the indentation and the `key: value` syntax of this line";
    case "MULTILINE_IMPLICIT_KEY":
      return "a key is missing its colon, or a value spans lines without quotes";
    case "BLOCK_AS_IMPLICIT_KEY":
      return "the next line is indented more than this one: align the keys of one mapping at the same column";
    case "BAD_SCALAR_START":
      return "quote values that start with a special character (*, &, !, %, @, `)";
    default:
      return undefined;
  }
}
