/**
 * The client side of `npm run bench:realtime`, run as a separate process so that its CPU is not
 * counted as the server's: one socket.io-client per session (counting `arduino_data` and its
 * end-to-end latency), and for the MQTT scenario one publisher for every device at its rate.
 */
import mqtt from 'mqtt';
import { io, type Socket } from 'socket.io-client';

interface Setup {
  baseUrl: string;
  tokens: string[];
  /** With two server processes: the URL each token's socket connects to (else `baseUrl`). */
  baseUrls?: string[];
  mqtt?: { url: string; devices: Array<{ topic: string; token: string }>; rateHz: number; qos?: 0 | 1 };
}

const sockets: Socket[] = [];
let received = 0;
let latencies: number[] = [];
let publisher: mqtt.MqttClient | undefined;
let timers: NodeJS.Timeout[] = [];
let published = 0;
let setup: Setup | undefined;
/** With `--alarms`: the first `count` devices add 1 V for one second in every `periodMs` (staggered). */
let anomalies: { count: number; periodMs: number; t0: number } | undefined;

function offset(i: number, now: number): number {
  if (!anomalies || i >= anomalies.count) return 0;
  const phase = (now - anomalies.t0 - (i * anomalies.periodMs) / anomalies.count) % anomalies.periodMs;
  return phase >= 0 && phase < 1000 ? 1 : 0;
}

process.on('message', (msg: Message) => {
  handle(msg).catch((err: unknown) => {
    console.error('bench client failed:', err);
    process.exit(1);
  });
});

type Message = { type: string; setup?: Setup; devices?: number; periodMs?: number };

async function handle(msg: Message) {
  if (msg.type === 'connect') {
    setup = msg.setup!;
    // In waves: a thousand simultaneous handshakes on a busy machine run into the connect timeout.
    const connectOne = (token: string, i: number) =>
      new Promise<void>((resolve, reject) => {
        const s = io(setup!.baseUrls?.[i] ?? setup!.baseUrl, { transports: ['websocket'], auth: { token }, forceNew: true, reconnection: false, timeout: 60_000 });
        s.on('arduino_data', (d: { timestamp: number }) => {
          received++;
          if (latencies.length < 200_000) latencies.push(Date.now() - d.timestamp * 1000);
        });
        s.once('connection_confirmed', () => resolve());
        s.once('connect_error', reject);
        sockets.push(s);
      });
    for (let i = 0; i < setup.tokens.length; i += 50) await Promise.all(setup.tokens.slice(i, i + 50).map((t, k) => connectOne(t, i + k)));
    process.send!({ type: 'connected' });
  } else if (msg.type === 'publish') {
    if (setup?.mqtt) {
      const m = setup.mqtt;
      publisher = await mqtt.connectAsync(m.url, { clientId: `vigil-bench-${process.pid}` });
      // Spread the devices over 10 slots of the period so publishing is smooth, like real devices.
      const slots = 10;
      const period = 1000 / m.rateHz;
      for (let k = 0; k < slots; k++) {
        const group = m.devices.map((d, i) => ({ ...d, i })).filter((d) => d.i % slots === k);
      const qos = m.qos ?? 1;
        const start = setTimeout(() => {
          timers.push(
            setInterval(() => {
              const now = Date.now();
              for (const d of group) {
                publisher!.publish(d.topic, `{"value":${(3.3 + offset(d.i, now) + Math.random() * 0.02).toFixed(4)},"ts":${now},"token":"${d.token}"}`, { qos });
                published++;
              }
            }, period),
          );
        }, (period / slots) * k);
        timers.push(start);
      }
    }
    process.send!({ type: 'publishing' });
  } else if (msg.type === 'anomalies') {
    anomalies = { count: msg.devices!, periodMs: msg.periodMs!, t0: Date.now() };
    process.send!({ type: 'anomalies' });
  } else if (msg.type === 'reset') {
    received = 0;
    published = 0;
    latencies = [];
    process.send!({ type: 'reset' });
  } else if (msg.type === 'report') {
    const sorted = latencies.sort((a, b) => a - b);
    const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : 0);
    process.send!({ type: 'report', received, published, p50: q(0.5), p99: q(0.99), cpu: process.cpuUsage() });
  } else if (msg.type === 'close') {
    for (const t of timers) clearInterval(t);
    timers = [];
    for (const s of sockets) s.disconnect();
    await publisher?.endAsync();
    // Exit once the answer has left: exiting at once could drop it, and the benchmark then failed its run ("exited while waiting for closed").
    process.send!({ type: 'closed' }, () => process.exit(0));
  }
}
