/** A V8 CPU profile node (the `.cpuprofile` format of `node --cpu-prof` and the inspector). */
export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

/**
 * Top functions by self time (share of the samples), plus the share per file (per package for
 * node_modules). `(idle)` is the event loop waiting: the busy share is everything else.
 */
export function summariseProfile(profile: CpuProfile, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map<number, number>();
  for (const id of profile.samples ?? []) counts.set(id, (counts.get(id) ?? 0) + 1);
  const total = profile.samples?.length ?? 0;
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  const short = (url: string) =>
    url
      .replace(/^file:\/\//, '')
      .replace(/^.*node_modules\/((?:@[^/]+\/)?[^/]+).*$/, '$1')
      .replace(/^.*\/(src|bench)\//, '$1/');
  let idle = 0;
  for (const [id, n] of counts) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') idle += n;
    const key = `${f.functionName || '(anonymous)'} ${short(f.url) || '(native)'}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + n);
    const file = short(f.url) || f.functionName;
    files.set(file, (files.get(file) ?? 0) + n);
  }
  const pct = (n: number) => `${((n / total) * 100).toFixed(1).padStart(5)} %`;
  const list = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, n]) => `    ${pct(n)}  ${k}`)
      .join('\n');
  return `  top functions by self time (${total} samples, ${pct(total - idle).trim()} busy):\n${list(fns)}\n  by file or package:\n${list(files)}`;
}
