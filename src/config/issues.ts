/** Collects positioned diagnostics while a configuration, profile or flag set is normalized. */
import type { Diagnostic } from "../diagnostics";
import { BoundError, GrammarError } from "./grammar";
import { formatPath, type Path, type YamlSource } from "./source";

export class Issues {
  readonly diagnostics: Diagnostic[] = [];

  /**
   * @param source the file positions come from (none for CLI flags)
   * @param badPaths paths the schema already complained about; nothing more is said about them
   */
  constructor(
    readonly source: YamlSource | undefined,
    readonly badPaths: Set<string> = new Set(),
  ) {}

  isBad(path: Path): boolean {
    if (!this.badPaths.size) return false;
    for (let i = 0; i <= path.length; i++) if (this.badPaths.has(formatPath(path.slice(0, i)))) return true;
    return false;
  }

  error(path: Path, code: string, message: string, hint?: string, opts: { key?: boolean } = {}): void {
    if (this.isBad(path)) return;
    this.push(this.make(path, code, message, hint, opts));
  }

  make(path: Path, code: string, message: string, hint?: string, opts: { key?: boolean } = {}): Diagnostic {
    const d = { code, message, ...(hint ? { hint } : {}) };
    return this.source ? this.source.diagnostic(path, d, opts) : { severity: "error", ...d };
  }

  push(d: Diagnostic): void {
    if (this.diagnostics.some((x) => x.line === d.line && x.col === d.col && x.message === d.message && x.file === d.file)) return;
    this.diagnostics.push(d);
  }

  /**
   * Runs a grammar parser; a `GrammarError` becomes a diagnostic at `path` (with `code`, or
   * E1026 for a value above its bound) and the result `undefined`.
   */
  parse<T>(path: Path, code: string, value: unknown, parser: (v: unknown) => T, prefix = ""): T | undefined {
    if (this.isBad(path)) return undefined;
    try {
      return parser(value);
    } catch (e) {
      if (e instanceof GrammarError) {
        const where = prefix || (path.length ? formatPath(path) : "");
        this.error(path, e instanceof BoundError ? e.code : code, where ? `${where}: ${e.message}` : e.message, e.hint);
        return undefined;
      }
      throw e;
    }
  }
}
