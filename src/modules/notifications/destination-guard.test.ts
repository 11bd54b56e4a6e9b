import { describe, expect, it } from 'vitest';
import { createDestinationGuard } from './destination-guard.ts';

describe('destination guard', () => {
  const guard = createDestinationGuard([]);

  it('allows public unicast addresses and refuses private, loopback, link-local, metadata and special ones', () => {
    for (const ip of ['93.184.216.34', '8.8.8.8', '2606:4700::1111']) expect(guard.addressAllowed(ip), ip).toBe(true);
    for (const ip of ['127.0.0.1', '10.0.0.5', '172.16.3.4', '192.168.1.1', '169.254.169.254', '100.100.100.200', '100.64.0.1', '0.0.0.0', '::1', '::', 'fe80::1', 'fd00:ec2::254', 'fc00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '224.0.0.1', 'not-an-ip']) {
      expect(guard.addressAllowed(ip), ip).toBe(false);
    }
  });

  it('lets the operator allow-list names, addresses and networks', async () => {
    const g = createDestinationGuard(['127.0.0.1', '10.20.0.0/16', 'hooks.internal']);
    expect(g.addressAllowed('127.0.0.1')).toBe(true);
    expect(g.addressAllowed('127.0.0.2')).toBe(false);
    expect(g.addressAllowed('10.20.3.4')).toBe(true);
    expect(g.addressAllowed('10.21.3.4')).toBe(false);
    await expect(g.checkUrl('http://hooks.internal/x')).resolves.toBeInstanceOf(URL);
  });

  it('checks the resolved addresses of a host name inside the socket lookup', async () => {
    const err = await new Promise<unknown>((resolve) => guard.lookup('localhost', { all: true }, (e) => resolve(e)));
    expect(err).toMatchObject({ code: 'destination-not-allowed' });
    await expect(guard.checkUrl('http://localhost:8000/')).rejects.toMatchObject({ code: 'destination-not-allowed' });
    await expect(guard.checkUrl('http://[::ffff:a9fe:a9fe]/')).rejects.toMatchObject({ code: 'destination-not-allowed' });
    await expect(guard.checkUrl('gopher://example.com/')).rejects.toMatchObject({ code: 'invalid-channel' });
  });
});
