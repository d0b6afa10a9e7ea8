import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResolver, parseDnsServer, resolveHost } from '../../lib/probes/dns';
import type { DnsAnswer } from '../../lib/probes/types';
import { startDnsServer, type DnsTestServer } from '../helpers/dnsServer';

const never = () => new AbortController().signal;

describe('parseDnsServer', () => {
  it.each([
    ['10.0.0.4', '10.0.0.4', 53, '10.0.0.4:53'],
    ['10.0.0.4:5353', '10.0.0.4', 5353, '10.0.0.4:5353'],
    [' 127.0.0.1:53 ', '127.0.0.1', 53, '127.0.0.1:53'],
    ['fd00::4', 'fd00::4', 53, '[fd00::4]:53'],
    ['[fd00::4]', 'fd00::4', 53, '[fd00::4]:53'],
    ['[::1]:5353', '::1', 5353, '[::1]:5353'],
  ])('%s', (text, ip, port, setting) => {
    expect(parseDnsServer(text)).toEqual({ ip, port, setting });
  });

  it.each([
    'dns.contoso.com',
    '10.0.0.4:0',
    '10.0.0.4:65536',
    '10.0.0.256',
    '[10.0.0.4]:53',
    'fd00::4:53:x',
    '',
    '[::1]:',
  ])('rejects "%s"', (text) => {
    expect(() => parseDnsServer(text)).toThrow(
      `--dns-server "${text}" is not an IP address with an optional port; use e.g. 10.0.0.4, 10.0.0.4:53 or [fd00::4]:53`,
    );
  });

  it('is checked when the resolver is created, before any query', () => {
    expect(() => createResolver({ server: 'corp-dns:53', timeoutMs: 1000 })).toThrow(
      '--dns-server "corp-dns:53" is not an IP address with an optional port; use e.g. 10.0.0.4, 10.0.0.4:53 or [fd00::4]:53',
    );
  });

  it('labels the system resolver "system"', () => {
    expect(createResolver({ timeoutMs: 1000 }).label).toBe('system');
  });
});

describe('resolving against a real DNS server', () => {
  let dns: DnsTestServer;
  beforeAll(async () => {
    dns = await startDnsServer({
      'gbl.his.arc.azure.com': { A: ['10.20.0.4', '20.50.1.2'], AAAA: ['fd00::4', '2603:1030::7'] },
      'v6only.test': { AAAA: ['2603:1030::9'] },
      'empty.test': {},
      'servfail.test': 'servfail',
      'refused.test': 'refused',
      'silent.test': 'silent',
      'silent-too.test': 'silent',
      'malformed.test': 'malformed',
      'many.test': { many: 300 },
      'agentserviceapi.guestconfiguration.azure.com': {
        CNAME: 'agentserviceapi.privatelink.guestconfiguration.azure.com',
      },
      'agentserviceapi.privatelink.guestconfiguration.azure.com': { A: ['10.30.0.9'] },
    });
  });
  afterAll(async () => {
    await dns.close();
  });

  it('returns A then AAAA addresses, each with its scope', async () => {
    const resolver = createResolver({ server: dns.address, timeoutMs: 2000 });
    const { facts, finding } = await resolveHost('gbl.his.arc.azure.com', resolver, never());
    expect(finding).toBeUndefined();
    expect(facts).toEqual({
      server: dns.address,
      addresses: [
        { address: '10.20.0.4', family: 4, scope: 'private' },
        { address: '20.50.1.2', family: 4, scope: 'public' },
        { address: 'fd00::4', family: 6, scope: 'private' },
        { address: '2603:1030::7', family: 6, scope: 'public' },
      ],
    });
    expect(
      dns.queries
        .filter((q) => q.name === 'gbl.his.arc.azure.com')
        .map((q) => q.type)
        .sort(),
    ).toEqual(['A', 'AAAA']);
  });

  it('matches names case-insensitively', async () => {
    const resolver = createResolver({ server: dns.address, timeoutMs: 2000 });
    expect(await resolver.resolve('GBL.His.Arc.Azure.COM', 4, never())).toEqual({
      ok: true,
      addresses: ['10.20.0.4', '20.50.1.2'],
    });
  });

  it('follows a CNAME into the privatelink zone', async () => {
    const resolver = createResolver({ server: dns.address, timeoutMs: 2000 });
    const { facts } = await resolveHost('agentserviceapi.guestconfiguration.azure.com', resolver, never());
    expect(facts?.addresses).toEqual([{ address: '10.30.0.9', family: 4, scope: 'private' }]);
  });

  it('an address of one family is enough: the empty A answer is not reported', async () => {
    const resolver = createResolver({ server: dns.address, timeoutMs: 2000 });
    expect(await resolveHost('v6only.test', resolver, never())).toMatchObject({
      facts: { addresses: [{ address: '2603:1030::9', family: 6, scope: 'public' }] },
    });
    expect(await resolver.resolve('v6only.test', 4, never())).toEqual({
      ok: false,
      code: 'DNS_NO_ADDRESS',
      message: `v6only.test: no A record from ${dns.address}`,
    });
  });

  it('does not query for an IP literal', async () => {
    const resolver = createResolver({ server: dns.address, timeoutMs: 2000 });
    const before = dns.queries.length;
    const v4 = await resolveHost('100.64.3.4', resolver, never());
    const v6 = await resolveHost('[fe80::1]', resolver, never());
    expect(v4.facts).toEqual({
      server: dns.address,
      addresses: [{ address: '100.64.3.4', family: 4, scope: 'cgnat' }],
    });
    expect(v6.facts?.addresses).toEqual([{ address: 'fe80::1', family: 6, scope: 'link-local' }]);
    expect(dns.queries.length).toBe(before);
  });

  it.each([
    ['nowhere.his.arc.azure.com', 'DNS_NXDOMAIN', (s: string) => `nowhere.his.arc.azure.com: NXDOMAIN from ${s}`],
    ['empty.test', 'DNS_NO_ADDRESS', (s: string) => `empty.test: no A or AAAA record from ${s}`],
    ['servfail.test', 'DNS_SERVFAIL', (s: string) => `servfail.test: SERVFAIL from ${s}`],
    ['refused.test', 'DNS_SERVFAIL', (s: string) => `refused.test: REFUSED by ${s}`],
    ['silent.test', 'DNS_TIMEOUT', (s: string) => `silent.test: no A answer from ${s} within 300 ms`],
    ['malformed.test', 'DNS_BAD_RESPONSE', (s: string) => `malformed.test: malformed A answer from ${s} (EBADRESP)`],
  ])('%s → %s', async (host, code, message) => {
    const resolver = createResolver({ server: dns.address, timeoutMs: 300 });
    const { facts, finding } = await resolveHost(host, resolver, never());
    expect(facts).toBeUndefined();
    expect(finding).toEqual({ code, phase: 'dns', severity: 'blocking', message: message(dns.address) });
  });

  it('reports a closed DNS port as rejected, not as silence', async () => {
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
    const closed = `127.0.0.1:${probe.address().port}`;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const resolver = createResolver({ server: closed, timeoutMs: 2000 });
    expect(await resolver.resolve('gbl.his.arc.azure.com', 4, never())).toEqual({
      ok: false,
      code: 'DNS_SERVFAIL',
      message: `gbl.his.arc.azure.com: ${closed} rejected the query (port unreachable: no DNS server listens)`,
    });
  });

  it('gets 300 addresses: the UDP answer is truncated and the resolver retries over TCP', async () => {
    const resolver = createResolver({ server: dns.address, timeoutMs: 2000 });
    const answer = await resolver.resolve('many.test', 4, never());
    expect(answer.ok && answer.addresses.length).toBe(300);
    expect(answer.ok && answer.addresses[299]).toBe('10.0.1.43');
    expect(dns.queries.filter((q) => q.name === 'many.test').map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });

  it('abandons a query when the probe signal aborts, without waiting for the DNS timeout', async () => {
    const resolver = createResolver({ server: dns.address, timeoutMs: 20_000 });
    const controller = new AbortController();
    const pending = resolveHost('silent.test', resolver, controller.signal);
    setTimeout(() => controller.abort(), 50);
    const { finding } = await pending;
    expect(finding).toEqual({
      code: 'DNS_TIMEOUT',
      phase: 'dns',
      severity: 'blocking',
      message: `silent.test: A query to ${dns.address} abandoned: the probe deadline passed`,
    });
  }, 5000);

  it('sends nothing when the signal has already aborted', async () => {
    const resolver = createResolver({ server: dns.address, timeoutMs: 2000 });
    const before = dns.queries.length;
    const answer = await resolver.resolve('gbl.his.arc.azure.com', 4, AbortSignal.abort());
    expect(answer).toEqual<DnsAnswer>({
      ok: false,
      code: 'DNS_TIMEOUT',
      message: `gbl.his.arc.azure.com: A query to ${dns.address} abandoned: the probe deadline passed`,
    });
    expect(dns.queries.length).toBe(before);
  });

  it('aborting one target does not cancel another target’s query on the same resolver', async () => {
    const resolver = createResolver({ server: dns.address, timeoutMs: 400 });
    const controller = new AbortController();
    const first = resolver.resolve('silent.test', 4, controller.signal);
    const second = resolver.resolve('silent-too.test', 4, never());
    controller.abort();
    expect(await first).toMatchObject({
      message: `silent.test: A query to ${dns.address} abandoned: the probe deadline passed`,
    });
    expect(await second).toEqual({
      ok: false,
      code: 'DNS_TIMEOUT',
      message: `silent-too.test: no A answer from ${dns.address} within 400 ms`,
    });
  });

  it('follows changes to the zone', async () => {
    const resolver = createResolver({ server: dns.address, timeoutMs: 2000 });
    dns.set('changing.test', { A: ['192.168.5.5'] });
    expect(await resolver.resolve('changing.test', 4, never())).toEqual({ ok: true, addresses: ['192.168.5.5'] });
    dns.set('changing.test', 'servfail');
    expect(await resolver.resolve('changing.test', 4, never())).toMatchObject({ code: 'DNS_SERVFAIL' });
    dns.delete('changing.test');
    expect(await resolver.resolve('changing.test', 4, never())).toMatchObject({ code: 'DNS_NXDOMAIN' });
  });
});

describe('a DNS server on IPv6 loopback', () => {
  it('is reached through a bracketed --dns-server', async () => {
    const dns = await startDnsServer({ 'gbl.his.arc.azure.com': { A: ['10.20.0.4'] } }, { host: '::1' });
    try {
      const resolver = createResolver({ server: dns.address, timeoutMs: 2000 });
      expect(dns.address).toMatch(/^\[::1\]:\d+$/);
      expect(await resolver.resolve('gbl.his.arc.azure.com', 4, never())).toEqual({
        ok: true,
        addresses: ['10.20.0.4'],
      });
    } finally {
      await dns.close();
    }
  });

  it('answers unknown names as configured', async () => {
    const dns = await startDnsServer({}, { unknown: 'refused' });
    try {
      const resolver = createResolver({ server: dns.address, timeoutMs: 2000 });
      expect(await resolver.resolve('anything.test', 6, never())).toEqual({
        ok: false,
        code: 'DNS_SERVFAIL',
        message: `anything.test: REFUSED by ${dns.address}`,
      });
    } finally {
      await dns.close();
    }
  });
});
