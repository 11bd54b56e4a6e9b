/**
 * A second Vigil process for `npm run bench:realtime -- --processes 2`: the same app the first
 * process runs, on the same database and Redis, started by the benchmark over IPC. It runs the
 * sessions it is given and reports its own counters, latencies, CPU, event-loop delay and memory
 * for each measured window, exactly as the benchmark measures the first process.
 */
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config/index.ts';
import { createLogger } from '../src/logger.ts';
import { loopDelay } from './support/loop-delay.ts';

type Message =
  | { type: 'start'; env: Record<string, string> }
  | { type: 'sessions'; sessions: Array<{ userId: number; deviceId: number; modelId?: number }> }
  | { type: 'measure' }
  | { type: 'report' }
  | { type: 'stop' };

let app: Awaited<ReturnType<typeof createApp>> | undefined;
let window: { readings: number; dropped: number; cpu: NodeJS.CpuUsage; t0: number; loop: ReturnType<typeof loopDelay> } | undefined;

const send = (m: object) => process.send!(m);

process.on('message', (msg: Message) => {
  handle(msg).catch((err: unknown) => {
    console.error('bench server failed:', err);
    process.exit(1);
  });
});

async function handle(msg: Message) {
  if (msg.type === 'start') {
    const config = loadConfig({ dotenv: false, env: msg.env });
    app = await createApp({ config, logger: createLogger(config.log) });
    send({ type: 'started', baseUrl: await app.listen(0, '127.0.0.1') });
  } else if (msg.type === 'sessions') {
    const { detection } = app!.realtime;
    // In waves of 25, as the first process starts its own.
    for (let i = 0; i < msg.sessions.length; i += 25) {
      await Promise.all(msg.sessions.slice(i, i + 25).map((s) => detection.start({ userId: s.userId }, { device_id: s.deviceId, log: true, ...(s.modelId !== undefined && { model_id: s.modelId }) })));
    }
    send({ type: 'sessions' });
  } else if (msg.type === 'measure') {
    const { hub, gateway } = app!.realtime;
    gateway.resetLatency();
    const loop = loopDelay();
    const s = hub.stats();
    window = { readings: s.readings, dropped: s.dropped, cpu: process.cpuUsage(), t0: performance.now(), loop };
    send({ type: 'measure' });
  } else if (msg.type === 'report') {
    const { hub, gateway } = app!.realtime;
    const w = window!;
    const elapsed = (performance.now() - w.t0) / 1000;
    const cpu = process.cpuUsage(w.cpu);
    const loop = w.loop.stop();
    const s = hub.stats();
    const mem = process.memoryUsage();
    send({
      type: 'report',
      elapsed,
      scored: s.readings - w.readings,
      dropped: s.dropped - w.dropped,
      server_p50_ms: gateway.latency().p50,
      server_p99_ms: gateway.latency().p99,
      created_to_emit_p99_ms: gateway.createdLatency().p99,
      cpu_pct: ((cpu.user + cpu.system) / 1e6 / elapsed) * 100,
      loop_p50_ms: loop.p50,
      loop_p99_ms: loop.p99,
      loop_max_ms: loop.max,
      rss_mb: mem.rss / 2 ** 20,
      heap_mb: mem.heapUsed / 2 ** 20,
    });
  } else if (msg.type === 'stop') {
    await app!.realtime.detection.stopAll('stopped');
    await app!.realtime.logWriter.flush();
    await app!.stop();
    send({ type: 'stopped' });
    process.exit(0);
  }
}
