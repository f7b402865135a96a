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
  const last: LastQuoted = { raw: "", value: "" };
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
    const quick = splitQuotedLine(text, pos, stop, last);
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
 * Splits one physical line that holds quotes: unquoted runs by `split`, quoted fields by
 * scanning to their closing quote. Returns undefined when the line's quoting is not
 * self-contained (a field continues on the next line) or is malformed, leaving it to the
 * careful parser.
 */
function splitQuotedLine(text: string, from: number, to: number, last: LastQuoted): string[] | undefined {
  const out: string[] = [];
  let pos = from;
  for (;;) {
    if (text.charCodeAt(pos) === 34) {
      // catalogs repeat the same quoted value (GCP's provider_data) on every row: reuse it
      const after = pos + last.raw.length;
      if (last.raw && after <= to && text.startsWith(last.raw, pos) && (after === to || text.charCodeAt(after) === 44)) {
        out.push(last.value);
        if (after === to) return out;
        pos = after + 1;
        if (pos === to) {
          out.push("");
          return out;
        }
        continue;
      }
      let end = pos + 1;
      let value = "";
      for (;;) {
        const q = text.indexOf('"', end);
        if (q < 0 || q >= to) return undefined;
        value += text.slice(end, q);
        if (text.charCodeAt(q + 1) === 34 && q + 1 < to) {
          value += '"';
          end = q + 2;
          continue;
        }
        end = q + 1;
        break;
      }
      last.raw = text.slice(pos, end);
      last.value = value;
      out.push(value);
      if (end === to) return out;
      if (text.charCodeAt(end) !== 44) return undefined;
      pos = end + 1;
      if (pos === to) {
        out.push("");
        return out;
      }
    } else {
      const q = text.indexOf('"', pos);
      if (q < 0 || q >= to) {
        for (const f of text.slice(pos, to).split(",")) out.push(f);
        return out;
      }
      if (text.charCodeAt(q - 1) !== 44) return undefined; // a quote inside an unquoted field
      for (const f of text.slice(pos, q - 1).split(",")) out.push(f);
      pos = q;
    }
  }
}

/** The previous quoted field, raw (with its quotes) and unquoted. */
interface LastQuoted {
  raw: string;
  value: string;
}
