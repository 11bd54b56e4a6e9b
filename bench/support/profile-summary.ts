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

/** A node of a V8 sampling heap profile (`HeapProfiler.stopSampling`, `.heapprofile`). */
export interface HeapProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapProfileNode[];
}

/**
 * Top allocation sites of a sampling heap profile taken with every object kept (collected ones
 * included), as bytes per reading over `readings` readings, and the total per reading.
 */
export function summariseAllocations(profile: { head: HeapProfileNode }, readings: number, top: number): string {
  const sites = new Map<string, number>();
  let total = 0;
  const short = (url: string) =>
    url
      .replace(/^file:\/\//, '')
      .replace(/^.*node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/, '$1/$2')
      .replace(/^.*\/(src|bench)\//, '$1/');
  const stack: HeapProfileNode[] = [profile.head];
  while (stack.length > 0) {
    const n = stack.pop()!;
    stack.push(...n.children);
    if (n.selfSize === 0) continue;
    total += n.selfSize;
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${short(f.url) || '(native)'}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    sites.set(key, (sites.get(key) ?? 0) + n.selfSize);
  }
  const per = (b: number) => `${Math.round(b / Math.max(1, readings)).toString().padStart(6)} B`;
  const list = [...sites]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, b]) => `    ${per(b)}  ${((b / total) * 100).toFixed(1).padStart(5)} %  ${k}`)
    .join('\n');
  return `  allocated per scored reading: ${per(total).trim()} (sampled), top sites:\n${list}`;
}
