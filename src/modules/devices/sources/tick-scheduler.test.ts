import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createSimulatorSource } from './simulator.source.ts';
import { createTickScheduler } from './tick-scheduler.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function busy(ms: number) {
  const t = performance.now();
  while (performance.now() - t < ms);
}

describe('tick scheduler', () => {
  it('runs each task at its due times, earliest first, until removed', async () => {
    const ticks = createTickScheduler();
    const runs: string[] = [];
    const t0 = performance.now();
    const every = (name: string, ms: number) => ticks.add({ run: (now) => (runs.push(name), now + ms) }, t0 + ms);
    const stopA = every('a', 20);
    const stopB = every('b', 50);
    await sleep(120);
    stopA();
    const afterA = runs.filter((r) => r === 'a').length;
    await sleep(60);
    stopB();
    expect(afterA).toBeGreaterThanOrEqual(3);
    expect(runs.filter((r) => r === 'a').length).toBe(afterA);
    expect(runs.filter((r) => r === 'b').length).toBeGreaterThanOrEqual(2);
    expect(runs[0]).toBe('a');
    expect(ticks.size).toBe(0);
  });

  it('drops a task that returns Infinity', async () => {
    const ticks = createTickScheduler();
    let n = 0;
    ticks.add({ run: () => (++n < 3 ? performance.now() + 5 : Infinity) }, performance.now());
    await sleep(60);
    expect(n).toBe(3);
    expect(ticks.size).toBe(0);
  });

  it('gives the event loop back after about 3 ms of due tasks (the event-loop delay it adds)', async () => {
    const ticks = createTickScheduler();
    // A probe that runs once per event-loop turn: the tasks run between two of its runs share a turn.
    let turn = 0;
    let probing = true;
    const probe = () => {
      turn++;
      if (probing) setImmediate(probe);
    };
    setImmediate(probe);
    const perTurn = new Map<number, number>();
    const t0 = performance.now();
    for (let i = 0; i < 60; i++) ticks.add({ run: () => (busy(1), perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1), Infinity) }, t0);
    await sleep(150);
    probing = false;
    expect([...perTurn.values()].reduce((a, b) => a + b, 0)).toBe(60);
    // 1 ms tasks: a turn stops once 3 ms have passed, so at most 4 run in one (10 with the old 10 ms).
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(4);
    expect(perTurn.size).toBeGreaterThanOrEqual(15);
  });

  it('keeps reading sockets while simulated devices need more CPU than there is', async () => {
    // 300 devices at 10 Hz whose readings each take 0.7 ms: about twice what one core can do.
    // With a timer per device the process stopped reading sockets altogether (the echo below got
    // 0-1 replies in 3 s); sharing one scheduler that yields after each turn keeps them flowing.
    const ticks = createTickScheduler();
    const sources = Array.from({ length: 300 }, (_, i) =>
      createSimulatorSource({ reading: () => busy(0.7), status: () => undefined, invalid: () => undefined }, { rateHz: 10, level: 3.3, noise: 0.02, seed: i + 1, ticks }),
    );
    const ac = new AbortController();
    // Both ends ignore ECONNRESET: the client is destroyed while echoes may still be in flight.
    const server = net.createServer((s) => s.on('data', (d) => s.write(d)).on('error', () => undefined));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    client.on('error', () => undefined);
    await new Promise<void>((r) => client.once('connect', r));
    let echoes = 0;
    client.on('data', (d) => void (echoes += d.length));
    for (const s of sources) await s.start(ac.signal);
    let sent = 0;
    const writer = setInterval(() => void (client.write('x'), sent++), 100);
    await sleep(3000);
    clearInterval(writer);
    ac.abort();
    for (const s of sources) await s.stop();
    client.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    expect(sent).toBeGreaterThanOrEqual(10);
    expect(echoes).toBeGreaterThanOrEqual(sent - 3);
    expect(ticks.size).toBe(0);
  });
});
