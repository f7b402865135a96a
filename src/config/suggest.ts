/** "Did you mean" suggestions: Levenshtein distance over a list of candidates. */

/** The edit distance (insertions, deletions, substitutions) between two strings. */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  if (!a.length) return b.length;
  if (!b.length) return a.length;
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const cost = ca === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/**
 * The candidate closest to `word` (case-insensitive, `-` and `_` alike), if it is close
 * enough to be a plausible typo: at most a third of the word's length, and at least 1.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/-/g, "_");
  const w = norm(word);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const cn = norm(c);
    const d = cn === w ? 0 : levenshtein(w, cn);
    const prefix = cn.startsWith(w) || w.startsWith(cn);
    const contains = cn.includes(w) || w.includes(cn);
    const short = Math.min(w.length, cn.length);
    const score = (prefix && short >= 3) || (contains && short >= 4) ? Math.min(d, 1) : d;
    if (score < bestDistance) {
      bestDistance = score;
      best = c;
    }
  }
  const limit = Math.max(1, Math.floor(w.length / 3));
  return best !== undefined && bestDistance <= limit ? best : undefined;
}
