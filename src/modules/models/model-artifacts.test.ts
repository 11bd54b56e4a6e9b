import { describe, expect, it } from 'vitest';
import { createDetector } from '../../detectors/index.ts';
import { parseUntrustedArtifact } from './model-artifacts.ts';

const artifact = () => {
  const d = createDetector('robust', { seed: 1 });
  for (let i = 0; i < 300; i++) d.score({ ts: i * 100, value: 2 + Math.sin(i) * 0.01 });
  return JSON.stringify(d.serialize());
};

describe('parseUntrustedArtifact', () => {
  it('accepts a real artifact and restores a detector', () => {
    const { artifact: a, detector } = parseUntrustedArtifact(artifact());
    expect(a.kind).toBe('robust');
    expect(detector.kind).toBe('robust');
  });

  it.each([
    ['__proto__ at the top', (t: string) => t.replace('{', '{"__proto__":{"x":1},')],
    ['constructor deep inside', (t: string) => t.replace('"params":{', '"params":{"a":{"b":{"constructor":1}},')],
    ['prototype key', (t: string) => t.replace('{', '{"prototype":1,')],
  ])('refuses %s without polluting Object.prototype', (_label, mutate) => {
    expect(() => parseUntrustedArtifact(mutate(artifact()))).toThrow(expect.objectContaining({ code: 'invalid-model-file' }));
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it.each([
    ['not JSON', '{'],
    ['a string', '"x"'],
    ['deep nesting', JSON.stringify({ format: 'vigil-detector', deep: JSON.parse('['.repeat(40) + ']'.repeat(40)) })],
    ['a bad threshold', JSON.stringify({ ...JSON.parse(artifact()), threshold: 7 })],
    ['non-numeric metrics', JSON.stringify({ ...JSON.parse(artifact()), metrics: { f1: 'high' } })],
  ])('refuses %s', (_label, text) => {
    expect(() => parseUntrustedArtifact(text)).toThrow(expect.objectContaining({ code: 'invalid-model-file' }));
  });
});
