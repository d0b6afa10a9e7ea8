import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Target } from '../../lib/catalog/types';
import { createResolver } from '../../lib/probes/dns';
import { decodeNtpTimestamp, encodeNtpTimestamp, probeNtp } from '../../lib/probes/ntp';
import type { ProbeContext, ProbeResult } from '../../lib/probes/types';
import { startDnsServer, type DnsTestServer } from '../helpers/dnsServer';
import { startNtpServer, type NtpTestServer } from '../helpers/ntpServer';

function ntpTarget(host: string, port: number, mustBePrivate = false): Target {
  return {
    id: `${host}:${port}/udp`,
    host,
    port,
    transport: 'udp',
    protocol: 'ntp',
    entryIds: ['servers.azurecloud.ntp'],
    hostPattern: host,
    requirement: 'optional',
    mustBePrivate,
    privateLink: mustBePrivate ? 'private' : 'public',
    inspection: 'tolerated',
    genuineCa: 'microsoft',
    agents: ['connected-machine'],
    scenarios: ['servers'],
    purpose: 'time synchronisation',
    serviceTags: [],
    httpPath: '/',
  };
}

/** The offset a same-clock exchange may show: half the round trip, plus the millisecond clocks' rounding. */
function offsetError(result: ProbeResult): number {
  return (result.ntp?.roundTripMs ?? 0) / 2 + 2;
}

describe('probeNtp against a real SNTP server', () => {
  let ntp: NtpTestServer;
  let dns: DnsTestServer;
  let ctx: ProbeContext;
  const probe = (target = ntpTarget('127.0.0.1', ntp.port), signal = AbortSignal.timeout(5000), over = {}) =>
    probeNtp(target, { ...ctx, ...over }, signal);

  beforeAll(async () => {
    ntp = await startNtpServer();
    dns = await startDnsServer({ 'time.windows.com': { A: ['127.0.0.1'] } });
    ctx = {
      resolver: createResolver({ server: dns.address, timeoutMs: 2000 }),
      trust: { ca: [], stores: [], genuineRoots: new Set(), publicRoots: new Set() },
      privateLinkMode: false,
      thresholds: { slowMs: 3000, certExpiryWarnDays: 14, clockSkewMs: 1000 },
      maxBodyBytes: 4096,
      now: () => new Date(),
    };
  });
  afterAll(async () => {
    await Promise.all([ntp.close(), dns.close()]);
  });

  it('reports a clock in step: offset within the measurement error, stratum, reference, round trip', async () => {
    ntp.setMode('ok');
    ntp.setSkew(0);
    const before = ntp.requests;
    const result = await probe(ntpTarget('time.windows.com', ntp.port));
    expect(result).toMatchObject({
      targetId: `time.windows.com:${ntp.port}/udp`,
      transport: 'udp',
      verdict: 'reachable',
      findings: [],
      connectedAddress: '127.0.0.1',
      dns: { server: dns.address, addresses: [{ address: '127.0.0.1', family: 4, scope: 'loopback' }] },
      ntp: { stratum: 2, referenceId: '192.0.2.1' },
    });
    expect(result.failure).toBeUndefined();
    expect(Math.abs(result.ntp?.offsetMs ?? Infinity)).toBeLessThanOrEqual(offsetError(result));
    expect(result.ntp?.roundTripMs).toBeGreaterThanOrEqual(0);
    expect(Object.keys(result.timings).sort()).toEqual(['dns', 'ntp', 'total']);
    expect(ntp.requests - before).toBe(1);
  });

  it.each([
    [5000, 'behind'],
    [-3000, 'ahead of'],
  ])('a server %i ms off is CLOCK_SKEW: degraded, with the offset in the message', async (skew, direction) => {
    ntp.setMode('ok');
    ntp.setSkew(skew);
    const result = await probe();
    expect(result.verdict).toBe('degraded');
    expect(Math.abs((result.ntp?.offsetMs ?? Infinity) - skew)).toBeLessThanOrEqual(offsetError(result));
    expect(result.failure).toMatchObject({ code: 'CLOCK_SKEW', phase: 'ntp', severity: 'degrading' });
    const seconds = (Math.abs(skew) / 1000).toFixed(1).replace('.', '\\.');
    const signed = skew > 0 ? '\\+' : '-';
    expect(result.failure?.message).toMatch(
      new RegExp(
        `^local clock is ${seconds}\\d s ${direction} 127\\.0\\.0\\.1 \\(offset ${signed}\\d+ ms, threshold 1000 ms\\)$`,
      ),
    );
  });

  it('an offset under the threshold is reachable', async () => {
    ntp.setMode('ok');
    ntp.setSkew(400);
    const result = await probe();
    expect(result.verdict).toBe('reachable');
    expect(Math.abs((result.ntp?.offsetMs ?? Infinity) - 400)).toBeLessThanOrEqual(offsetError(result));
  });

  it('silence until the deadline is NTP_TIMEOUT', async () => {
    ntp.setMode('silent');
    const before = ntp.requests;
    const result = await probe(undefined, AbortSignal.timeout(300));
    expect(result.verdict).toBe('blocked');
    expect(result.failure).toEqual({
      code: 'NTP_TIMEOUT',
      phase: 'ntp',
      severity: 'blocking',
      message: `127.0.0.1: no NTP answer from 127.0.0.1:${ntp.port}/udp before the probe deadline`,
    });
    expect(result.ntp).toBeUndefined();
    expect(ntp.requests - before).toBe(1);
  });

  it.each([
    ['malformed', 'unusable NTP answer from 127.0.0.1:PORT/udp: 12 bytes, shorter than the 48-byte header'],
    [
      'kod',
      'unusable NTP answer from 127.0.0.1:PORT/udp: kiss-of-death RATE (the server asks this client to poll less often)',
    ],
    ['wrong-origin', 'unusable NTP answer from 127.0.0.1:PORT/udp: its origin timestamp does not echo our request'],
  ] as const)('a %s answer is NTP_BAD_RESPONSE', async (mode, message) => {
    ntp.setMode(mode);
    ntp.setSkew(0);
    const result = await probe();
    expect(result.verdict).toBe('blocked');
    expect(result.findings).toEqual([
      {
        code: 'NTP_BAD_RESPONSE',
        phase: 'ntp',
        severity: 'blocking',
        message: `127.0.0.1: ${message.replace('PORT', String(ntp.port))}`,
      },
    ]);
    expect(result.ntp).toBeUndefined();
  });

  it('a rejected port (ICMP port unreachable) is NTP_TIMEOUT that says it was rejected', async () => {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const port = socket.address().port;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    const result = await probe(ntpTarget('127.0.0.1', port));
    expect(result.failure).toEqual({
      code: 'NTP_TIMEOUT',
      phase: 'ntp',
      severity: 'blocking',
      message: `127.0.0.1: no NTP answer: 127.0.0.1:${port}/udp port unreachable (rejected by ICMP)`,
    });
  });

  it('a DNS failure stops the probe before any NTP request', async () => {
    ntp.setMode('ok');
    const before = ntp.requests;
    const result = await probe(ntpTarget('time.nowhere.test', ntp.port));
    expect(result.verdict).toBe('blocked');
    expect(result.failure).toEqual({
      code: 'DNS_NXDOMAIN',
      phase: 'dns',
      severity: 'blocking',
      message: `time.nowhere.test: NXDOMAIN from ${dns.address}`,
    });
    expect(Object.keys(result.timings).sort()).toEqual(['dns', 'total']);
    expect(ntp.requests).toBe(before);
  });

  it('under private-link mode, a time server that must be private is checked like any target', async () => {
    ntp.setMode('ok');
    ntp.setSkew(0);
    const target = ntpTarget('time.windows.com', ntp.port, true);
    const bypassed = await probe(target, undefined, { privateLinkMode: true });
    expect(bypassed.failure?.code).toBe('PRIVATE_LINK_BYPASSED');
    expect(bypassed.ntp?.stratum).toBe(2);
    const declared = await probe(target, undefined, { privateLinkMode: true, privateRanges: ['127.0.0.0/8'] });
    expect(declared.verdict).toBe('reachable');
  });

  it('measures time with the context clock', async () => {
    ntp.setMode('ok');
    ntp.setSkew(0);
    const result = await probe(undefined, undefined, { now: () => new Date(Date.now() - 7000) });
    expect(result.failure?.code).toBe('CLOCK_SKEW');
    expect(Math.abs((result.ntp?.offsetMs ?? Infinity) - 7000)).toBeLessThanOrEqual(offsetError(result));
  });
});

describe('NTP timestamps', () => {
  it.each([
    ['1970-01-01T00:00:00.000Z', '83aa7e80', '00000000'],
    ['2026-11-21T22:34:14.500Z', 'eeac9ae6', '80000000'],
    ['2036-02-07T06:28:15.000Z', 'ffffffff', '00000000'],
    ['2036-02-07T06:28:16.000Z', '00000000', '00000000'],
    ['2040-01-01T00:00:00.250Z', '0754fd00', '40000000'],
  ])('%s is %s.%s and back (era 1 after February 2036)', (iso, seconds, fraction) => {
    const ms = Date.parse(iso);
    const encoded = encodeNtpTimestamp(ms);
    expect(encoded.toString('hex')).toBe(seconds + fraction);
    expect(decodeNtpTimestamp(encoded, 0)).toBe(ms);
  });
});
