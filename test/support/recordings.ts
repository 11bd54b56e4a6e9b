import { generateTrace } from '../../src/bench/synthetic/index.ts';

/** A labelled synthetic Arduino trace as `timestamp,value,label` CSV (small: keeps training fast). */
export function traceCsv(opts: { seed: number; durationS: number; normalS?: number; events?: number }): string {
  const trace = generateTrace({ seed: opts.seed, durationS: opts.durationS, normalS: opts.normalS ?? opts.durationS, events: opts.events ?? 0 });
  const inEvent = (ts: number) => trace.events.some((e) => ts >= e.start && ts <= e.end);
  const lines = trace.readings.map((r) => `${new Date(r.ts).toISOString()},${r.value},${inEvent(r.ts) ? 1 : 0}`);
  return `timestamp,value,label\n${lines.join('\n')}\n`;
}

/** POSTs a CSV to /recordings/upload over real HTTP. */
export async function uploadRecording(baseUrl: string, token: string | undefined, csv: string, fields: Record<string, string> = {}) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([csv], { type: 'text/csv' }), 'trace.csv');
  const res = await fetch(`${baseUrl}/recordings/upload`, { method: 'POST', body: form, headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as any };
}
