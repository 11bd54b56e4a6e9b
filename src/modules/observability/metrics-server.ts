import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * `METRICS_PORT`: a listener of its own that serves only `GET /metrics` (for a scraper on a private
 * network, away from the public API). With `METRICS_TOKEN` set it asks for the bearer token too.
 */
export function createMetricsServer(deps: {
  metrics: { text(): Promise<string>; contentType: string };
  token: string | undefined;
  logger: { error(obj: object, msg: string): void };
}) {
  const expected = deps.token !== undefined ? Buffer.from(`Bearer ${deps.token}`) : undefined;
  const json = (res: ServerResponse, status: number, code: string, message: string) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ code, message, error: message }));
  };
  const server: Server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (url !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      json(res, 404, 'route-not-found', `No route ${req.method} ${url}.`);
      return;
    }
    if (expected) {
      const given = Buffer.from(req.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        json(res, 401, 'unauthorized', 'GET /metrics needs "Authorization: Bearer <METRICS_TOKEN>".');
        return;
      }
    }
    deps.metrics.text().then(
      (text) => {
        res.writeHead(200, { 'content-type': deps.metrics.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        deps.logger.error({ err }, 'metrics collection failed');
        json(res, 500, 'internal', 'Metrics collection failed.');
      },
    );
  });
  return {
    /** Resolves to `http://host:port`. */
    listen(port: number, host: string): Promise<string> {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const a = server.address() as AddressInfo;
          resolve(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
        });
      });
    },
    close(): Promise<void> {
      return new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
