import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { AppError } from '../../lib/errors.ts';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** Cloud metadata services that sit on otherwise public-looking or special addresses. */
const METADATA = ['169.254.169.254', '169.254.170.2', '100.100.100.200', 'fd00:ec2::254'];

/**
 * Refuses outgoing connections to private, loopback, link-local, unspecified, multicast, shared
 * (CGNAT) and cloud-metadata addresses, unless the operator allow-listed the host name, the address
 * or its network (`NOTIFY_ALLOW_HOSTS`: names, addresses and CIDRs). The check runs inside the
 * socket's own `lookup`, so the address checked is the address connected to (no DNS rebinding).
 */
export function createDestinationGuard(allow: readonly string[]) {
  const names = new Set<string>();
  const nets: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> = [];
  for (const raw of allow.map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    if (raw.includes('/')) nets.push(ipaddr.parseCIDR(raw));
    else if (ipaddr.isValid(raw)) {
      const a = ipaddr.parse(raw);
      nets.push([a, a.kind() === 'ipv4' ? 32 : 128]);
    } else names.add(raw);
  }

  const normal = (ip: string) => {
    const a = ipaddr.parse(ip);
    return a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress() ? (a as ipaddr.IPv6).toIPv4Address() : a;
  };

  /** Whether connecting to this address is allowed. */
  function addressAllowed(ip: string): boolean {
    let a: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      a = normal(ip);
    } catch {
      return false;
    }
    if (nets.some(([net, bits]) => net.kind() === a.kind() && a.match(net, bits))) return true;
    if (METADATA.includes(a.toString())) return false;
    return a.range() === 'unicast';
  }

  const refused = (host: string, ip?: string) =>
    new AppError('destination-not-allowed', `${host}${ip && ip !== host ? ` (${ip})` : ''} is a private, loopback, link-local or metadata address; ask the operator to allow it (NOTIFY_ALLOW_HOSTS).`);

  /** A `dns.lookup` replacement for `http.request({ lookup })` / `net.connect({ lookup })`. */
  function lookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const list = addresses as LookupAddress[];
      if (!names.has(hostname.toLowerCase())) {
        const bad = list.find((x) => !addressAllowed(x.address));
        if (bad) return callback(refused(hostname, bad.address) as unknown as NodeJS.ErrnoException, '');
      }
      if (list.length === 0) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
      if (options.all) return callback(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  }

  /**
   * Checks a URL before use (at creation and before each request): scheme, and the host's
   * addresses now. IP literals are checked here because Node connects to them without a lookup.
   */
  async function checkUrl(url: string, what = 'webhook URL'): Promise<URL> {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new AppError('invalid-channel', `The ${what} is not a valid URL.`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new AppError('invalid-channel', `The ${what} must be http or https.`);
    if (u.username || u.password) throw new AppError('invalid-channel', `The ${what} must not carry credentials.`);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if (names.has(host.toLowerCase())) return u;
    if (isIP(host)) {
      if (!addressAllowed(host)) throw refused(host);
      return u;
    }
    await new Promise<void>((resolve, reject) =>
      lookup(host, { all: true }, (err) => {
        if (err) reject(err instanceof AppError ? err : new AppError('invalid-channel', `The ${what.replace(/ URL$/, '')} host ${host} does not resolve.`));
        else resolve();
      }),
    );
    return u;
  }

  return { addressAllowed, lookup, checkUrl };
}

export type DestinationGuard = ReturnType<typeof createDestinationGuard>;
