/**
 * The seq ranges inside [lo, hi] that may be pruned: everything except the anomalous rows and the
 * `context` rows on each side of each (`anomalies` sorted, and covering [lo - context, hi + context]).
 */
export function prunableRanges(lo: number, hi: number, anomalies: readonly number[], context: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let next = lo;
  for (const a of anomalies) {
    const keepFrom = a - context;
    const keepTo = a + context;
    if (keepTo < next) continue;
    if (keepFrom > hi) break;
    if (keepFrom > next) out.push([next, keepFrom - 1]);
    next = Math.max(next, keepTo + 1);
    if (next > hi) return out;
  }
  if (next <= hi) out.push([next, hi]);
  return out;
}
