import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { logRow, quietLogger } from '../../../test/support/log-rows.ts';
import { createLogJournal, readOrphanJournals } from './log-journal.ts';

const row = logRow;
const quiet = quietLogger;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('log journal', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'vigil-journal-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('keeps rows that were written but never synced when the process is killed (kill -9)', async () => {
    const dir = tmp();
    // fsyncMs of a minute: nothing is synced before the kill, the rows are only in the page cache.
    const child = fork(new URL('../../../test/support/journal-child.ts', import.meta.url), [dir, '500', '60000'], { execArgv: ['--import', 'tsx'] });
    const exited = new Promise((r) => child.once('exit', r));
    const msg = await new Promise<{ stats: { written: number; synced: number; syncs: number } }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as never));
      child.once('exit', (code) => reject(new Error(`journal child exited (${code})`)));
    });
    expect(msg.stats).toMatchObject({ written: 500, synced: 0, syncs: 0 });
    child.kill('SIGKILL');
    await exited;
    const [orphan] = readOrphanJournals(dir);
    expect(orphan?.rows.map((r) => r.value)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(orphan?.corrupt).toBe(0);
  }, 30_000);

  it('acknowledges written rows at once and syncs at most every fsyncMs', async () => {
    const dir = tmp();
    const j = createLogJournal({ dir, fsyncMs: 100, logger: quiet });
    const t0 = performance.now();
    let waitedMost = 0;
    // 60 messages over ~300 ms, each awaiting its write like an MQTT PUBACK does.
    for (let i = 0; i < 60; i++) {
      j.append(row(i));
      const t = performance.now();
      await j.written();
      waitedMost = Math.max(waitedMost, performance.now() - t);
      await sleep(5);
    }
    const elapsed = performance.now() - t0;
    const s = j.stats();
    expect(s.written).toBe(60);
    // A write does not wait for the sync: far less than the 100 ms sync interval each.
    expect(waitedMost).toBeLessThan(50);
    expect(s.syncs).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 1);
    // An HTTP batch's durable() syncs at once, and then every row is on disk.
    await j.durable();
    expect(j.stats().synced).toBe(60);
    await j.close(false);
    expect(readOrphanJournals(dir)[0]?.rows.length).toBe(60);
  });

  it('syncs rows nobody awaits within fsyncMs', async () => {
    const dir = tmp();
    const j = createLogJournal({ dir, fsyncMs: 30, logger: quiet });
    j.append(row(0));
    j.append(row(1));
    expect(j.stats()).toMatchObject({ written: 0, synced: 0 });
    await sleep(200);
    expect(j.stats()).toMatchObject({ written: 2, synced: 2, syncs: 1 });
    await j.close(true);
  });

  it('keeps every row in order across segments while writes, syncs and awaits interleave', async () => {
    const dir = tmp();
    const j = createLogJournal({ dir, fsyncMs: 2, segmentBytes: 2_000, logger: quiet });
    const waits: Array<Promise<void>> = [];
    for (let i = 0; i < 300; i++) {
      j.append(row(i));
      if (i % 7 === 0) waits.push(j.written());
      if (i % 50 === 0) waits.push(j.durable());
      if (i % 20 === 0) await sleep(1);
    }
    await Promise.all(waits);
    await j.durable();
    expect(j.stats()).toMatchObject({ appended: 300, written: 300, synced: 300 });
    await j.close(false);
    const [orphan] = readOrphanJournals(dir);
    expect(orphan?.rows.map((r) => r.value)).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });
});
