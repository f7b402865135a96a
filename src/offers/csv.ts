/**
 * A small RFC 4180 CSV reader for gpuhunt catalogs: comma-separated, `"`-quoted fields with
 * `""` escapes, LF or CRLF line ends. Lines without a quote take a fast `split` path.
 * Reports the 1-based physical line each record starts on.
 */

export interface CsvRecord {
  line: number;
  fields: string[];
}

export class CsvSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

/** Calls `onRecord` for every non-empty record (the header included). */
export function readCsv(text: string, onRecord: (fields: string[], line: number) => void): void {
  const n = text.length;
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let quote = -1; // the next quote at or after pos (recomputed only once passed)
  const unquoted = new Map<string, string | null>();
  while (pos < n) {
    let end = text.indexOf("\n", pos);
    if (end < 0) end = n;
    const stop = end > pos && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    if (quote !== Infinity && quote < pos) {
      quote = text.indexOf('"', pos);
      if (quote < 0) quote = Infinity;
    }
    if (quote >= stop) {
      if (stop > pos) onRecord(text.slice(pos, stop).split(","), line);
      pos = end + 1;
      line++;
      continue;
    }
    const quick = splitQuotedLine(text, pos, stop, unquoted);
    if (quick) {
      onRecord(quick, line);
      pos = end + 1;
      line++;
      continue;
    }
    // slow path: a quoted record spanning lines, or malformed quoting
    const startLine = line;
    const fields: string[] = [];
    let i = pos;
    let field = "";
    for (;;) {
      if (i < n && text.charCodeAt(i) === 34) {
        i++;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) throw new CsvSyntaxError("unterminated quoted field", startLine);
          const chunk = text.slice(i, q);
          for (let k = 0; k < chunk.length; k++) if (chunk.charCodeAt(k) === 10) line++;
          field += chunk;
          if (text.charCodeAt(q + 1) === 34) {
            field += '"';
            i = q + 2;
            continue;
          }
          i = q + 1;
          break;
        }
        const c = i < n ? text.charCodeAt(i) : 10;
        if (c !== 44 && c !== 10 && !(c === 13 && text.charCodeAt(i + 1) === 10) && i < n) {
          throw new CsvSyntaxError("unexpected text after a closing quote", startLine);
        }
      } else {
        let j = i;
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c === 44 || c === 10 || (c === 13 && text.charCodeAt(j + 1) === 10)) break;
          if (c === 34) throw new CsvSyntaxError("a quote inside an unquoted field", startLine);
          j++;
        }
        field += text.slice(i, j);
        i = j;
      }
      fields.push(field);
      field = "";
      if (i >= n) break;
      const c = text.charCodeAt(i);
      if (c === 44) {
        i++;
        if (i >= n) {
          fields.push("");
          break;
        }
        continue;
      }
      // end of record
      i += c === 13 ? 2 : 1;
      break;
    }
    onRecord(fields, startLine);
    line++;
    pos = i;
  }
}

/**
 * Splits one physical line that holds quotes by splitting on commas and re-joining the pieces
 * of quoted fields. Returns undefined when the line's quoting is not self-contained (a field
 * continues on the next line) or is malformed, leaving it to the careful parser.
 */
function splitQuotedLine(text: string, from: number, to: number, unquoted: Map<string, string | null>): string[] | undefined {
  const pieces = text.slice(from, to).split(",");
  const out: string[] = [];
  for (let k = 0; k < pieces.length; k++) {
    let p = pieces[k];
    if (p.charCodeAt(0) !== 34) {
      if (p.indexOf('"') >= 0) return undefined;
      out.push(p);
      continue;
    }
    // a quoted field: extend until it ends with an unescaped closing quote
    while (!closesQuote(p)) {
      if (++k >= pieces.length) return undefined;
      p += "," + pieces[k];
    }
    let value = unquoted.get(p);
    if (value === undefined) {
      const inner = p.slice(1, -1);
      value = inner.replace(/""/g, "").indexOf('"') >= 0 ? null : inner.replace(/""/g, '"');
      if (unquoted.size < 10000) unquoted.set(p, value);
    }
    if (value === null) return undefined;
    out.push(value);
  }
  return out;
}

/** Whether a piece starting with a quote ends with the field's closing quote. */
function closesQuote(p: string): boolean {
  if (p.length < 2 || p.charCodeAt(p.length - 1) !== 34) return false;
  // count the trailing quotes after the opening one: an odd count closes the field
  let q = 0;
  for (let i = p.length - 1; i >= 1 && p.charCodeAt(i) === 34; i--) q++;
  return q % 2 === 1;
}
