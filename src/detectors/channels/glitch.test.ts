import { describe, expect, it } from 'vitest';
import { Rng } from '../random.ts';
import { GlitchGate } from './glitch.ts';

/** 2.5 V with noise of 0.01 V; `glitches` maps an index to the value read there instead. */
function stream(n: number, glitches: ReadonlyMap<number, number>, seed = 1): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => glitches.get(i) ?? 2.5 + 0.01 * rng.normal());
}

/** What the gate answers for each value, in order. */
const run = (gate: GlitchGate, values: readonly number[]): number[] => values.map((v) => gate.filter(v));

describe('GlitchGate', () => {
  it('passes the first two lone excursions to near 0 V and answers later ones with the last normal value', () => {
    const at = [100, 200, 300, 400];
    const values = stream(500, new Map(at.map((i, k) => [i, 0.05 + 0.02 * k])));
    const gate = new GlitchGate();
    const out = run(gate, values);
    expect(out[100]).toBe(values[100]);
    expect(out[200]).toBe(values[200]);
    expect(gate.known).toBe(true);
    expect(out[300]).toBe(values[299]);
    expect(out[400]).toBe(values[399]);
    // Every other reading passes unchanged.
    expect(out.filter((v, i) => v !== values[i])).toHaveLength(2);
  });

  it('passes the second of two readings in a row out there (a sustained drop is no glitch), and one on the other side', () => {
    const values = stream(600, new Map([[100, 0.05], [200, 0.05], [300, 0.05], [301, 0.05], [302, 0.05], [400, 4.95]]));
    const out = run(new GlitchGate(), values);
    expect(out[300]).toBe(values[299]);
    expect(out[301]).toBe(0.05);
    expect(out[302]).toBe(0.05);
    expect(out[400]).toBe(4.95);
  });

  it('calls only depths that agree with the deepest ones a glitch, and none while the depths disagree', () => {
    // Lone excursions 0.2 V and 2.4 V down: only two of them agree (the deep ones).
    const values = stream(700, new Map([[100, 2.3], [200, 0.1], [300, 2.3], [400, 0.1], [500, 2.3], [600, 0.1]]));
    const gate = new GlitchGate();
    const out = run(gate, values);
    expect(out[300]).toBe(2.3);
    expect(out[500]).toBe(2.3);
    expect(out[600]).toBe(values[599]);
    const one = new GlitchGate();
    run(one, stream(500, new Map([[100, 2.3], [200, 0.1], [300, 1.2], [400, 0.1]])));
    // 0.1 V and 0.1 V agree; 2.3 and 1.2 are shallower than two thirds of the deepest.
    expect(one.known).toBe(true);
    const none = new GlitchGate();
    run(none, stream(400, new Map([[100, 2.2], [200, 0.1], [300, 1.2]])));
    expect(none.known).toBe(false);
  });

  it('with learning off opens no new side, but a known side goes on learning its depths', () => {
    const gate = new GlitchGate();
    run(gate, stream(300, new Map([[100, 0.05], [200, 0.05]])));
    gate.learning = false;
    // Up: three lone excursions, all passed and none learned. Down: one shallower than the band
    // (passed, and learned on the known side), then a glitch in the band.
    const live = stream(600, new Map([[100, 3.5], [200, 3.5], [300, 3.5], [400, 1.5], [500, 0.3]]), 2);
    const out = run(gate, live);
    expect([out[100], out[200], out[300]]).toEqual([3.5, 3.5, 3.5]);
    expect(out[400]).toBe(1.5);
    expect(out[500]).toBe(live[499]);
    expect(gate.toJSON().up).toEqual([]);
    expect(gate.toJSON().down).toHaveLength(3);
  });

  it('forgets no known side for shallow lone excursions after a stuck stretch', () => {
    // A 10-bit ADC over 5 V: 2.5 V is code 512, the noise about two codes.
    const lsb = 5 / 1024;
    const adc = (values: readonly number[]): number[] => values.map((v) => Math.round(v / lsb) * lsb);
    const gate = new GlitchGate();
    run(gate, adc(stream(300, new Map([[100, 0.05], [200, 0.05]]))));
    gate.learning = false;
    // Stuck on one code: the noise scale collapses to the ADC step, so one reading four codes down
    // now and then is a deep lone excursion on the known side. Eight of them used to push the
    // known glitches out of memory.
    run(gate, adc(Array.from({ length: 800 }, (_, i) => (i % 30 === 15 ? 2.5 - 4 * lsb : 2.5))));
    expect(gate.toJSON().down.filter((d) => d > -0.1)).not.toHaveLength(0);
    expect(gate.known).toBe(true);
    const after = adc(stream(400, new Map([[300, 0.05]]), 3));
    const out = run(gate, after);
    expect(out[300]).toBe(after[299]);
  });

  it('learns nothing from a signal that flickers between two ADC codes', () => {
    const rng = new Rng(4);
    const lsb = 5 / 1024;
    const values = Array.from({ length: 3000 }, () => (512 + (rng.next() < 0.1 ? 1 : 0)) * lsb);
    const gate = new GlitchGate();
    expect(run(gate, values)).toEqual(values);
    expect(gate.known).toBe(false);
  });

  it('learns glitches to 0 V on a cycle sampled a few times per period, but not the edges of a duty cycle', () => {
    // 1.8 V ± 0.3 V every 12 readings: the cycle alone strays ~0.2 V from the 9-reading median,
    // so a glitch 1.8 V down is fewer than FAR median scales deep; off the straight line it is far.
    const rng = new Rng(5);
    const cycle = (i: number): number => 1.8 + 0.3 * Math.sin((2 * Math.PI * i) / 12) + 0.005 * rng.normal();
    const glitches = new Set([150, 400, 650, 900]);
    const values = Array.from({ length: 1000 }, (_, i) => (glitches.has(i) ? 0.05 : cycle(i)));
    const gate = new GlitchGate();
    const out = run(gate, values);
    expect(out[150]).toBe(0.05);
    expect(out[400]).toBe(0.05);
    expect(gate.known).toBe(true);
    expect(out[650]).toBe(values[649]);
    expect(out[900]).toBe(values[899]);
    expect(out.filter((v, i) => v !== values[i])).toHaveLength(2);
    // A duty cycle's edges leave the line by as much, but the next reading bends back by only as much (a step).
    const duty = Array.from({ length: 2000 }, (_, i) => (i % 40 < 12 ? 3.3 : 0.4) + 0.005 * rng.normal());
    const square = new GlitchGate();
    expect(run(square, duty)).toEqual(duty);
    expect(square.known).toBe(false);
    // Steps of the level on the same cycle leave the line as far, and the next reading is near the
    // median, but it bends back by only as much as the step: no glitch.
    const stepped = Array.from({ length: 2000 }, (_, i) => cycle(i) + 1.0 * Math.floor(i / 250));
    const steps = new GlitchGate();
    expect(run(steps, stepped)).toEqual(stepped);
    expect(steps.known).toBe(false);
  });

  it('goes on from its JSON exactly as it would have, and refuses malformed state', () => {
    const values = stream(800, new Map([[100, 0.05], [200, 0.05], [300, 0.05], [500, 0.05], [501, 0.05], [700, 0.05]]));
    const a = new GlitchGate();
    run(a, values.slice(0, 400));
    const b = GlitchGate.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
    expect(run(b, values.slice(400))).toEqual(run(a, values.slice(400)));
    // A gate that has seen one reading (no median before it) round-trips too.
    const fresh = new GlitchGate();
    fresh.filter(2.5);
    expect(() => GlitchGate.fromJSON(JSON.parse(JSON.stringify(fresh.toJSON())))).not.toThrow();
    // A state written before the straight-line check (no `bend`) loads; the check starts afresh.
    const { bend: _bend, ...older } = a.toJSON();
    expect(() => GlitchGate.fromJSON(JSON.parse(JSON.stringify(older)))).not.toThrow();
    const good = a.toJSON();
    for (const bad of [null, [], { ...good, local: [Number.NaN] }, { ...good, up: [-1] }, { ...good, down: [0.5] }, { ...good, scale: [1] }, { ...good, quantum: 0 }, { ...good, prev: [1] }, { ...good, learning: 'yes' }, { ...good, bend: [] }, { ...good, bend: { ...good.bend, scale: [-1, 2] } }, { ...good, bend: { ...good.bend, gap: 3 } }, { ...good, bend: { ...good.bend, far: 1 } }]) {
      expect(() => GlitchGate.fromJSON(JSON.parse(JSON.stringify(bad)))).toThrow();
    }
  });

  describe('byValue', () => {
    /** 10 mV noise on a level that steps from 2.5 V to `to` at reading 500, with readings near 0 V at `at`. */
    const moving = (to: number, at: readonly number[]): number[] => {
      const rng = new Rng(7);
      return Array.from({ length: 1000 }, (_, i) => (at.includes(i) ? 0.02 + 0.01 * (i % 3) : (i < 500 ? 2.5 : to) + 0.01 * rng.normal()));
    };

    it('knows a glitch by the value it reads after the level has moved, where depths alone no longer agree', () => {
      // Two glitches learned 2.5 V deep; the level falls to 1.4 V, so the next glitches are 1.4 V deep (beyond CLUSTER).
      const values = moving(1.4, [100, 300, 700, 900]);
      const byDepth = run(new GlitchGate(), values);
      expect(byDepth[700]).toBe(values[700]);
      const gate = new GlitchGate({ byValue: true });
      const out = run(gate, values);
      expect(out[700]).toBe(values[699]);
      expect(out[900]).toBe(values[899]);
      expect(out.filter((v, i) => v !== values[i])).toHaveLength(2);
    });

    it('takes no reading as a glitch that reads elsewhere, or lies too little off the level', () => {
      // Learned near 0 V; a reading at 0.8 V lies outside the values' band (0.02–0.03 V ± a quarter of 2.5 V).
      const values = moving(2.5, [100, 300]);
      values[700] = 0.8;
      // After the level falls to 0.6 V, a reading at 0.03 V is only 0.57 V off: less than half the 2.5 V the learned ones were.
      const low = moving(0.6, [100, 300, 700]);
      expect(run(new GlitchGate({ byValue: true }), values)[700]).toBe(0.8);
      expect(run(new GlitchGate({ byValue: true }), low)[700]).toBe(low[700]);
    });

    it("learns a glitch whose neighbours stray by a cycle's small dips, which depth-only learning calls no lone excursion", () => {
      // 1.77 V with 1 mV noise and, every 13 readings, two readings 50 mV low (50 noise scales); a glitch to 0.1 V follows each of the first dips.
      const rng = new Rng(3);
      const at = [130, 390, 650, 910];
      const values = Array.from({ length: 1000 }, (_, i) => (at.includes(i) ? 0.1 : i % 13 === 11 || i % 13 === 12 ? 1.72 + 0.001 * rng.normal() : 1.77 + 0.001 * rng.normal()));
      const depthOnly = new GlitchGate();
      expect(run(depthOnly, values)).toEqual(values);
      expect(depthOnly.known).toBe(false);
      const gate = new GlitchGate({ byValue: true });
      const out = run(gate, values);
      expect(gate.known).toBe(true);
      expect(out[650]).not.toBe(values[650]);
      expect(out[910]).not.toBe(values[910]);
    });

    it('keeps its values in its JSON, goes on exactly as it would have, and refuses values out of step with the depths', () => {
      const values = moving(1.4, [100, 300, 700, 900]);
      const a = new GlitchGate({ byValue: true });
      run(a, values.slice(0, 500));
      const json = JSON.parse(JSON.stringify(a.toJSON()));
      expect(json.values.down).toHaveLength(2);
      expect(new GlitchGate().toJSON()).not.toHaveProperty('values');
      const b = GlitchGate.fromJSON(json);
      expect(run(b, values.slice(500))).toEqual(run(a, values.slice(500)));
      for (const bad of [{ ...json, values: { up: [], down: [0.1] } }, { ...json, values: { up: [], down: [0.1, Number.NaN] } }, { ...json, values: null }]) {
        expect(() => GlitchGate.fromJSON(JSON.parse(JSON.stringify(bad)))).toThrow(/values/);
      }
    });
  });
});
