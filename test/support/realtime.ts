import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { io, type Socket } from 'socket.io-client';

/** A socket.io-client socket connected the way the mobile app connects (polling, then websocket). */
export async function connectSocket(baseUrl: string, opts: { token?: string; header?: string } = {}): Promise<Socket> {
  const socket = io(baseUrl, {
    transports: ['polling', 'websocket'],
    forceNew: true,
    reconnection: false,
    ...(opts.token && { auth: { token: opts.token } }),
    ...(opts.header && { extraHeaders: { authorization: opts.header } }),
  });
  return socket;
}

/** Resolves with the next `event` payload (optionally the next one matching `where`). */
export function nextEvent<T = any>(socket: Socket, event: string, where: (p: T) => boolean = () => true, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`timed out waiting for ${event}`));
    }, timeoutMs);
    const listener = (p: T) => {
      if (!where(p)) return;
      clearTimeout(timer);
      socket.off(event, listener);
      resolve(p);
    };
    socket.on(event, listener);
  });
}

/** Records every payload of the given events. */
export function record(socket: Socket, ...events: string[]): Record<string, any[]> {
  const seen: Record<string, any[]> = Object.fromEntries(events.map((e) => [e, []]));
  for (const e of events) socket.on(e, (p: unknown) => seen[e]!.push(p));
  return seen;
}

/** Emits and waits for the answer event. */
export async function request<T = any>(socket: Socket, event: string, payload: unknown, answer: string, where?: (p: T) => boolean): Promise<T> {
  const p = nextEvent<T>(socket, answer, where);
  socket.emit(event, payload);
  return p;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns a truthy value. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(everyMs);
  }
}

/**
 * Starts `vigil serve` as a real process and resolves with its address once it listens. `logs`
 * collects its JSON log lines (parsed) that carry a `msg`, for tests that read server-side timings.
 */
export async function serve(env: Record<string, string>): Promise<{ child: ChildProcess; baseUrl: string; exited: Promise<number | null>; logs: Array<Record<string, any>> }> {
  const child = spawn(process.execPath, ['bin/vigil.js', 'serve'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let stderr = '';
  const logs: Array<Record<string, any>> = [];
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const baseUrl = await new Promise<string>((resolve, reject) => {
    // A server that never reported listening is killed, so a timed-out test leaves no process behind.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start: ${stderr}`));
    }, 180_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (process.env.VIGIL_TEST_SERVER_LOGS) console.log(`[${child.pid}] ${line.slice(0, 400)}`);
      if (line.startsWith('{') && !line.includes('"request completed"') && !line.includes('"incoming request"')) {
        try {
          logs.push(JSON.parse(line) as Record<string, any>);
        } catch {
          /* not a JSON log line */
        }
      }
      const m = /Vigil listening on (http:\/\/[^"\s]+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('exit', () => reject(new Error(`server exited: ${stderr}`)));
  });
  return { child, baseUrl, exited, logs };
}

