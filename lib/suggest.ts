/** Levenshtein distance, small and allocation-light: the inputs are option and key names. */
export function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0]!;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      previous[j] = Math.min(above + 1, previous[j - 1]! + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return previous[b.length]!;
}

/**
 * The candidate closest to `word` (case-insensitive), or undefined when none is
 * close enough to be a plausible typo.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  const list = [...candidates];
  // A typed prefix ("pipe" for "pipeline") is the strongest hint there is.
  const prefixed = list.filter((c) => lower.length >= 3 && c.toLowerCase().startsWith(lower));
  if (prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestDistance = Infinity;
  const limit = Math.max(2, Math.floor(word.length / 3));
  for (const candidate of list) {
    // The distance is at least the difference in length: skip what cannot be close (a long key would cost its length squared).
    if (Math.abs(candidate.length - word.length) > limit) continue;
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** "; did you mean X?" or "" — for appending to error messages. */
export function didYouMean(word: string, candidates: Iterable<string>, format = (s: string) => s): string {
  const match = closest(word, candidates);
  return match === undefined ? '' : `; did you mean ${format(match)}?`;
}
