import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * Docker is not available where the suite runs (no daemon, no registry), so the deployment files
 * are checked as files: what the README promises about them must hold.
 */
const root = new URL('../../', import.meta.url);
const read = (f: string) => readFileSync(new URL(f, root), 'utf8');
const dockerDaemon = (() => {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
})();

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const stages = text.split(/^FROM /m).slice(1);

  it('installs with npm ci from the lockfile and copies no local node_modules', () => {
    expect(text).toMatch(/^COPY package\.json package-lock\.json/m);
    expect(text).toMatch(/^RUN npm ci --omit=dev$/m);
    expect(read('.dockerignore').split('\n')).toContain('node_modules');
    expect(text).not.toMatch(/npm install/);
  });

  it('runs the final stage as a non-root user with a health check on /health/ready', () => {
    const final = stages.at(-1)!;
    const users = [...final.matchAll(/^USER (\S+)/gm)].map((m) => m[1]);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    expect(final).toMatch(/^HEALTHCHECK .*\n?.*\/health\/ready/m);
    expect(final).toMatch(/^CMD \["node", "--max-semi-space-size=64", "bin\/vigil\.js", "serve"\]$/m);
  });

  it('uses only instructions Docker knows, with continuation lines closed', () => {
    const known = new Set(['FROM', 'RUN', 'COPY', 'ADD', 'ENV', 'WORKDIR', 'USER', 'VOLUME', 'EXPOSE', 'HEALTHCHECK', 'CMD', 'ENTRYPOINT', 'STOPSIGNAL', 'ARG', 'LABEL', 'SHELL']);
    let continued = false;
    for (const line of text.split('\n')) {
      if (!continued && line.trim() !== '' && !line.startsWith('#')) expect(known, line).toContain(line.split(/\s/)[0]);
      continued = line.trimEnd().endsWith('\\');
    }
    expect(continued).toBe(false);
  });

  // Skipped (and reported as skipped) where no Docker daemon runs, as on the project machine.
  it.runIf(dockerDaemon)('builds the image (needs a Docker daemon)', () => {
    execFileSync('docker', ['build', '-q', '-t', 'vigil:test', '.'], { cwd: root, stdio: 'inherit', timeout: 900_000 });
  }, 900_000);
});

describe('the server\'s Node flags', () => {
  // A 64 MB young generation (README, *Real-time benchmark*): every documented way of starting the
  // server passes it, and `bench:realtime` measures its server with the same flag.
  const FLAG = '--max-semi-space-size=64';
  it('npm start, the Docker image, the systemd unit and bench:realtime all pass --max-semi-space-size=64', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.start).toBe(`node ${FLAG} bin/vigil.js serve`);
    expect(scripts['bench:realtime']).toContain(`node ${FLAG} `);
    expect(read('Dockerfile')).toContain(`CMD ["node", "${FLAG}", "bin/vigil.js", "serve"]`);
    expect(read('README.md')).toContain(`ExecStart=/usr/bin/node ${FLAG} bin/vigil.js serve`);
    // The second server process of `bench:realtime --processes 2` runs with it too.
    expect(read('bench/realtime.bench.ts')).toMatch(/fork\(new URL\('\.\/realtime-server\.ts', import\.meta\.url\), \{ execArgv: \[SERVER_NODE_FLAG, '--import', 'tsx'\] \}\)/);
  });
});

describe('compose.yaml', () => {
  const compose = parse(read('compose.yaml')) as { services: Record<string, any>; volumes?: Record<string, unknown> };

  it('runs Vigil with MariaDB, Redis and Mosquitto, wired through the documented keys', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['mariadb', 'mosquitto', 'redis', 'vigil']);
    const v = compose.services.vigil;
    expect(v.build).toBe('.');
    expect(v.environment.DATABASE_URL).toMatch(/^mysql:\/\/[^@]+@mariadb:3306\//);
    expect(v.environment.REDIS_URL).toBe('redis://redis:6379');
    expect(v.environment.MQTT_URL).toBe('mqtt://mosquitto:1883');
    expect(v.depends_on.mariadb.condition).toBe('service_healthy');
    expect(v.depends_on.redis.condition).toBe('service_healthy');
    // Every volume a service mounts is declared.
    for (const s of Object.values(compose.services)) {
      for (const m of (s.volumes ?? []) as string[]) {
        const name = m.split(':')[0]!;
        if (!name.startsWith('.') && !name.startsWith('/')) expect(Object.keys(compose.volumes ?? {})).toContain(name);
      }
    }
  });

  it('runs Vigil as the non-root user, with health checks on Vigil, MariaDB and Redis', () => {
    expect(compose.services.vigil.user).toBe('vigil');
    expect(compose.services.vigil.healthcheck.test.join(' ')).toContain('/health/ready');
    expect(compose.services.mariadb.healthcheck.test.length).toBeGreaterThan(1);
    expect(compose.services.redis.healthcheck.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('passes only configuration keys Vigil knows', async () => {
    const { CONFIG_KEYS } = await import('../../src/config/config.ts');
    for (const key of Object.keys(compose.services.vigil.environment)) expect(CONFIG_KEYS).toContain(key);
  });
});

describe('docs/grafana-dashboard.json', () => {
  it('queries only metrics Vigil exports (or Node defaults)', async () => {
    const dash = JSON.parse(read('docs/grafana-dashboard.json')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    const { createMetrics } = await import('../../src/modules/observability/metrics.ts');
    const metrics = createMetrics();
    const known = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    const used = dash.panels.flatMap((p) => p.targets.flatMap((t) => [...t.expr.matchAll(/\b((?:vigil|nodejs|process)_[a-z0-9_]+)\b/g)].map((m) => m[1]!)));
    expect(used.length).toBeGreaterThan(10);
    for (const name of used) expect(known, name).toContain(name.replace(/_(bucket|count|sum)$/, ''));
  });
});
