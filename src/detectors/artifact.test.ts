import { describe, expect, it } from 'vitest';
import { ARTIFACT_LIMITS, parseArtifact, validateArtifact } from './artifact.ts';
import { createDetector } from './registry.ts';
import { DetectorError } from './types.ts';

function goodArtifact(): Record<string, any> {
  const d = createDetector('robust');
  for (let i = 0; i < 300; i++) d.score({ ts: i * 100, value: 2.5 + (i % 7) * 0.01 });
  return JSON.parse(JSON.stringify(d.serialize())) as Record<string, any>;
}

function rejects(x: unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    validateArtifact(x);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(DetectorError);
  expect((caught as DetectorError).code).toBe('invalid-artifact');
  expect((caught as DetectorError).message).toMatch(pattern);
}

describe('validateArtifact', () => {
  it('accepts a serialized detector', () => {
    const a = goodArtifact();
    expect(validateArtifact(a)).toBe(a);
  });

  it('rejects a wrong format, version or kind', () => {
    rejects(null, /JSON object/);
    rejects([], /JSON object/);
    rejects({ ...goodArtifact(), format: 'pickle' }, /format/);
    rejects({ ...goodArtifact(), version: 99 }, /version.*not supported/);
    rejects({ ...goodArtifact(), kind: 'magic' }, /kind/);
    rejects({ ...goodArtifact(), threshold: 2 }, /threshold/);
    rejects({ ...goodArtifact(), seed: 1.5 }, /seed/);
  });

  it('rejects prototype-polluting keys anywhere', () => {
    rejects(JSON.parse(`{"format":"vigil-detector","__proto__":{"polluted":1}}`), /__proto__/);
    const a = goodArtifact();
    a.state.channels = JSON.parse('{"constructor":{"prototype":{"x":1}}}');
    rejects(a, /constructor/);
    const b = goodArtifact();
    b.params = { prototype: 1 };
    rejects(b, /prototype/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects non-finite numbers, non-JSON values and accessors', () => {
    const a = goodArtifact();
    a.state.peak = Number.NaN;
    rejects(a, /\$\.state\.peak is not a finite number/);
    const b = goodArtifact();
    b.state.fn = () => 1;
    rejects(b, /unsupported type function/);
    const c = goodArtifact();
    Object.defineProperty(c.state, 'evil', { get: () => 1, enumerable: true });
    rejects(c, /accessor/);
    const d = goodArtifact();
    d.state.when = new Date();
    rejects(d, /not plain JSON/);
  });

  it('bounds nesting depth without overflowing the stack', () => {
    const a = goodArtifact();
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    a.state.deep = deep;
    rejects(a, /nested deeper than 32/);
  });

  it('bounds array length and total numbers', () => {
    const a = goodArtifact();
    a.state.big = new Array(ARTIFACT_LIMITS.maxArrayLength + 1).fill(0);
    rejects(a, /more than/);
  });

  it('delegates kind-specific checks to the factory', () => {
    const a = goodArtifact();
    delete a.state.calibration;
    rejects(a, /calibration/);
    const b = goodArtifact();
    b.state.window = 'lots';
    rejects(b, /window/);
    const c = goodArtifact();
    c.params.window = 1;
    rejects(c, /window/);
  });
});

describe('parseArtifact', () => {
  it('parses valid text', () => {
    expect(parseArtifact(JSON.stringify(goodArtifact())).kind).toBe('robust');
  });

  it('rejects oversized text, bad JSON and multi-byte text over the byte limit', () => {
    const text = JSON.stringify(goodArtifact());
    expect(() => parseArtifact(text, 100)).toThrow(/larger than 100 bytes/);
    expect(() => parseArtifact('{"format":')).toThrow(/not valid JSON/);
    expect(() => parseArtifact(`"${'é'.repeat(6)}"`, 10)).toThrow(/larger than 10 bytes/);
  });
});
