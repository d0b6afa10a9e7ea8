import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Target } from '../../lib/catalog/types';
import { probeTarget } from '../../lib/probes/layered';
import { parseProxyUrl } from '../../lib/probes/proxy';
import { buildTrust } from '../../lib/probes/trust';
import type { DnsAnswer, ProbeContext, ProbeResult, Resolver, TrustConfig } from '../../lib/probes/types';
import { startNtpServer } from '../helpers/ntpServer';
import { createAzureLikePki, createIntermediate, createLeaf, createRoot } from '../helpers/pki';
import type { Issued } from '../helpers/pki';
import { startProxyServer } from '../helpers/proxyServer';
import type { ProxyServer } from '../helpers/proxyServer';
import { startStalledListener } from '../helpers/stalledListener';
import { createStaticResolver } from '../helpers/staticResolver';
import { startTlsServer } from '../helpers/tlsServer';
import type { TlsServer, TlsServerOptions } from '../helpers/tlsServer';

const HIS = 'gbl.his.arc.azure.com';
const BRIDGE = 'eastus.dp.prod.appliances.azure.com';
const DAY = 86_400_000;

let azure: { root: Issued; intermediate: Issued };
let inspection: { root: Issued; intermediate: Issued };
let azureLeaf: Issued;
let trust: TrustConfig;
let servers: TlsServer[] = [];

beforeAll(async () => {
  azure = await createAzureLikePki();
  const inspectionRoot = await createRoot('Contoso Inspection CA');
  inspection = { root: inspectionRoot, intermediate: await createIntermediate(inspectionRoot, 'Contoso Issuing CA') };
  azureLeaf = await createLeaf(azure.intermediate, [HIS, BRIDGE]);
  trust = buildTrust({ expectedRootsPem: azure.root.certPem });
});

afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function serve(opts: Partial<TlsServerOptions> & { leaf?: Issued; intermediates?: Issued[] } = {}) {
  const server = await startTlsServer({
    identity: { leaf: opts.leaf ?? azureLeaf, intermediates: opts.intermediates ?? [azure.intermediate] },
    ...opts,
  });
  servers.push(server);
  return server;
}

function target(host: string, port: number, overrides: Partial<Target> = {}): Target {
  return {
    id: `${host}:${port}`,
    host,
    port,
    transport: 'tcp',
    protocol: 'https',
    entryIds: ['servers.azurecloud.his'],
    hostPattern: '*.his.arc.azure.com',
    requirement: 'always',
    mustBePrivate: false,
    privateLink: 'private',
    inspection: 'tolerated',
    genuineCa: 'microsoft',
    agents: ['connected-machine'],
    scenarios: ['servers'],
    purpose: 'metadata and hybrid identity services',
    serviceTags: ['AzureArcInfrastructure'],
    httpPath: '/',
    ...overrides,
  };
}

function context(overrides: Partial<ProbeContext> = {}): ProbeContext {
  return {
    resolver: createStaticResolver({ [HIS]: ['127.0.0.1'], [BRIDGE]: ['127.0.0.1', '::1'] }),
    trust,
    privateLinkMode: false,
    thresholds: { slowMs: 3000, certExpiryWarnDays: 14, clockSkewMs: 1000 },
    maxBodyBytes: 4096,
    now: () => new Date(),
    ...overrides,
  };
}

const probe = (t: Target, ctx: ProbeContext = context(), signal = AbortSignal.timeout(5000)) =>
  probeTarget(t, ctx, signal);
const codes = (r: ProbeResult) => r.findings.map((f) => f.code);

describe('probeTarget, direct', () => {
  it.each([400, 401, 404])('is reachable through a genuine chain and records status %d', async (status) => {
    const server = await serve({ httpStatus: status });
    const result = await probe(target(HIS, server.port, { httpPath: '/discovery?location=eastus&api-version=2.1' }));
    expect(result).toMatchObject({
      targetId: `${HIS}:${server.port}`,
      verdict: 'reachable',
      findings: [],
      transport: 'tcp',
      connectedAddress: '127.0.0.1',
      dns: { addresses: [{ address: '127.0.0.1', family: 4, scope: 'loopback' }], server: 'static' },
      http: { status, server: 'arcmon-test' },
      tls: { sni: HIS, root: { fingerprint256: azure.root.fingerprint256, genuine: true } },
    });
    expect(result.failure).toBeUndefined();
    expect(result.proxy).toBeUndefined();
    expect(Object.keys(result.timings).sort()).toEqual(['connect', 'dns', 'firstByte', 'tls', 'total']);
    expect(server.requests[0]?.requestLine).toBe('GET /discovery?location=eastus&api-version=2.1 HTTP/1.1');
  });

  it('connects to the first IPv4 address when the name has both families', async () => {
    const server = await serve();
    const result = await probe(target(BRIDGE, server.port));
    expect(result.connectedAddress).toBe('127.0.0.1');
    expect(result.dns?.addresses.map((a) => a.address)).toEqual(['127.0.0.1', '::1']);
  });

  it('connects over IPv6 when that is all the name has', async () => {
    const server = await serve({ host: '::1' });
    const ctx = context({ resolver: createStaticResolver({ [HIS]: ['::1'] }) });
    const result = await probe(target(HIS, server.port), ctx);
    expect(result).toMatchObject({ verdict: 'reachable', connectedAddress: '::1' });
  });

  it.each([
    [
      'tolerated',
      'degraded',
      'degrading',
      'the agent works if this machine trusts that CA, but some extensions pin certificates',
    ],
    ['not-tolerated', 'blocked', 'blocking', 'the resource bridge does not support TLS inspection'],
  ] as const)('an inspection CA the machine trusts: %s → %s', async (inspectionMode, verdict, severity, why) => {
    const leaf = await createLeaf(inspection.intermediate, [BRIDGE]);
    const server = await serve({ leaf, intermediates: [inspection.intermediate] });
    const ctx = context({
      trust: buildTrust({ expectedRootsPem: azure.root.certPem, extraCaPem: [inspection.root.certPem] }),
    });
    const result = await probe(target(BRIDGE, server.port, { inspection: inspectionMode }), ctx);
    expect(result.verdict).toBe(verdict);
    expect(result.failure).toEqual({
      code: 'TLS_INTERCEPTED',
      phase: 'tls',
      severity,
      message: `the chain for ${BRIDGE} ends at 'Contoso Inspection CA (arcmon tests)' (SHA-256 ${inspection.root.fingerprint256}), not at a Microsoft or DigiCert root: TLS inspection; ${why}`,
    });
    expect(result.tls?.interceptedBy).toBe('Contoso Inspection CA (arcmon tests)');
    expect(result.http?.status).toBe(200);
  });

  it('an inspection CA the machine does not trust blocks: CERT_UNTRUSTED and TLS_INTERCEPTED', async () => {
    const leaf = await createLeaf(inspection.intermediate, [HIS]);
    const server = await serve({ leaf, intermediates: [inspection.intermediate] });
    const result = await probe(target(HIS, server.port));
    expect(result.verdict).toBe('blocked');
    expect(codes(result)).toEqual(['CERT_UNTRUSTED', 'TLS_INTERCEPTED']);
    expect(result.failure?.code).toBe('CERT_UNTRUSTED');
  });

  it.each([
    [
      'expired',
      { notBefore: new Date(Date.now() - 90 * DAY), notAfter: new Date(Date.now() - DAY) },
      [HIS],
      'CERT_EXPIRED',
    ],
    ['for another name', {}, ['other.example'], 'CERT_NAME_MISMATCH'],
  ] as const)('a certificate %s blocks with %s', async (_name, validity, hosts, code) => {
    const leaf = await createLeaf(azure.intermediate, [...hosts], validity);
    const server = await serve({ leaf });
    const result = await probe(target(HIS, server.port));
    expect(result).toMatchObject({ verdict: 'blocked', failure: { code, phase: 'tls' } });
    expect(codes(result)).toEqual([code]);
  });

  it('a certificate near expiry degrades', async () => {
    const leaf = await createLeaf(azure.intermediate, [HIS], { notAfter: new Date(Date.now() + 3 * DAY) });
    const server = await serve({ leaf });
    const result = await probe(target(HIS, server.port));
    expect(result).toMatchObject({ verdict: 'degraded', failure: { code: 'CERT_NEAR_EXPIRY' } });
  });

  it('a TLS 1.0-only server blocks with TLS_VERSION_BELOW_1_2 (the agent refuses it) and the path is still probed', async () => {
    const server = await serve({
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1',
      ciphers: 'DEFAULT@SECLEVEL=0',
      httpStatus: 404,
    });
    const result = await probe(target(HIS, server.port));
    expect(result).toMatchObject({
      verdict: 'blocked',
      failure: { code: 'TLS_VERSION_BELOW_1_2', severity: 'blocking' },
      tls: { protocol: 'TLSv1' },
      http: { status: 404 },
    });
  });

  it('a slow answer degrades with SLOW_RESPONSE', async () => {
    const server = await serve({ responseDelayMs: 250 });
    const result = await probe(
      target(HIS, server.port),
      context({ thresholds: { slowMs: 100, certExpiryWarnDays: 14, clockSkewMs: 1000 } }),
    );
    expect(result).toMatchObject({
      verdict: 'degraded',
      failure: { code: 'SLOW_RESPONSE', phase: 'http' },
      http: { status: 200 },
    });
    expect(result.failure?.message).toMatch(new RegExp(`^${HIS} answered after \\d+ ms \\(threshold 100 ms\\)$`));
  });

  it('an endless body is read only up to maxBodyBytes', async () => {
    const server = await serve({ behaviour: 'endless-body' });
    const result = await probe(target(HIS, server.port), context({ maxBodyBytes: 1000 }));
    expect(result).toMatchObject({ verdict: 'reachable', http: { status: 200, bodyBytes: 1000 } });
  });

  it('a private-link host resolving to a non-private address blocks, and the rest of the path is still reported', async () => {
    const server = await serve();
    const result = await probe(target(HIS, server.port, { mustBePrivate: true }), context({ privateLinkMode: true }));
    expect(result).toMatchObject({
      verdict: 'blocked',
      failure: { code: 'PRIVATE_LINK_BYPASSED', phase: 'dns' },
      tls: { root: { genuine: true } },
      http: { status: 200 },
    });
    expect(codes(result)).toEqual(['PRIVATE_LINK_BYPASSED']);
  });

  it('a name that does not exist stops at DNS', async () => {
    const result = await probe(target('nowhere.his.arc.azure.com', 443));
    expect(result).toMatchObject({ verdict: 'blocked', failure: { code: 'DNS_NXDOMAIN', phase: 'dns' } });
    expect(result.timings.connect).toBeUndefined();
    expect(result.tls).toBeUndefined();
  });

  it('a closed port is TCP_REFUSED', async () => {
    const server = await serve();
    await server.close();
    const result = await probe(target(HIS, server.port));
    expect(result).toMatchObject({
      verdict: 'blocked',
      failure: { code: 'TCP_REFUSED', message: `connection refused by 127.0.0.1:${server.port}` },
    });
  });

  it('protocol tcp stops once connected', async () => {
    const server = await serve();
    const result = await probe(target(HIS, server.port, { protocol: 'tcp' }));
    expect(result).toMatchObject({ verdict: 'reachable', connectedAddress: '127.0.0.1' });
    expect(result.tls).toBeUndefined();
  });

  it.each([
    ['reset-on-hello', 'CONNECTION_RESET'],
    ['garbage-http', 'HTTP_PROTOCOL_ERROR'],
  ] as const)('a server that does %s → %s', async (behaviour, code) => {
    const server = await serve({ behaviour });
    const result = await probe(target(HIS, server.port));
    expect(result).toMatchObject({ verdict: 'blocked', failure: { code } });
  });

  it('a reset right after accept is CONNECTION_RESET, whichever phase saw it', async () => {
    const server = await serve({ behaviour: 'reset-on-accept' });
    const result = await probe(target(HIS, server.port));
    expect(result).toMatchObject({ verdict: 'blocked', failure: { code: 'CONNECTION_RESET' } });
  });
});

describe('many targets on one server', () => {
  it('serves distinct SNI names from one port, each handshake delayed', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `region${i}-gas.guestconfiguration.azure.com`);
    const leaf = await createLeaf(azure.intermediate, ['*.guestconfiguration.azure.com']);
    const server = await serve({ leaf, handshakeDelayMs: 50 });
    const ctx = context({ resolver: createStaticResolver(Object.fromEntries(names.map((n) => [n, ['127.0.0.1']]))) });
    const results = await Promise.all(names.map((name) => probe(target(name, server.port), ctx)));
    expect(results.map((r) => r.verdict)).toEqual(names.map(() => 'reachable'));
    expect([...server.servernames].sort()).toEqual([...names].sort());
    for (const r of results) expect(r.timings.tls).toBeGreaterThanOrEqual(45);
  });
});

describe('probeTarget, a deadline names the phase that was running', () => {
  it('DNS_TIMEOUT when the resolver does not answer', async () => {
    const silent: Resolver = {
      label: 'silent',
      resolve: (host, _family, signal) =>
        new Promise<DnsAnswer>((resolve) =>
          signal.addEventListener('abort', () =>
            resolve({ ok: false, code: 'DNS_TIMEOUT', message: `${host}: no answer in time` }),
          ),
        ),
    };
    const result = await probe(target(HIS, 443), context({ resolver: silent }), AbortSignal.timeout(200));
    expect(result.failure).toMatchObject({ code: 'DNS_TIMEOUT', phase: 'dns' });
  });

  it('TCP_TIMEOUT when the SYN is dropped', async () => {
    const stalled = await startStalledListener();
    try {
      const result = await probe(target(HIS, stalled.port), context(), AbortSignal.timeout(250));
      expect(result).toMatchObject({ verdict: 'blocked', failure: { code: 'TCP_TIMEOUT', phase: 'connect' } });
    } finally {
      await stalled.close();
    }
  });

  it.each([
    ['hang-after-accept', 'TLS_TIMEOUT', 'tls'],
    ['hang-after-handshake', 'HTTP_TIMEOUT', 'http'],
  ] as const)('%s → %s', async (behaviour, code, phase) => {
    const server = await serve({ behaviour });
    const result = await probe(target(HIS, server.port), context(), AbortSignal.timeout(300));
    expect(result).toMatchObject({ verdict: 'blocked', failure: { code, phase } });
  });
});

describe('probeTarget through a proxy', () => {
  let proxy: ProxyServer;
  beforeAll(async () => {
    proxy = await startProxyServer({
      hosts: { [HIS]: '127.0.0.1', [BRIDGE]: '127.0.0.1' },
      credentials: { username: 'arc', password: 's3cret' },
    });
  });
  afterAll(() => proxy.close());
  afterEach(() => proxy.setMode('allow'));

  const withProxy = (url: string, noProxy: string[] = [], overrides: Partial<ProbeContext> = {}) =>
    context({ proxy: parseProxyUrl(url, noProxy), ...overrides });

  it('tunnels with CONNECT, records the redacted proxy and keeps local DNS as information only', async () => {
    proxy.setMode('auth');
    const server = await serve({ httpStatus: 400 });
    const result = await probe(target(HIS, server.port), withProxy(`http://arc:s3cret@127.0.0.1:${proxy.port}`));
    expect(result).toMatchObject({
      verdict: 'reachable',
      proxy: `http://***@127.0.0.1:${proxy.port}`,
      connectedAddress: '127.0.0.1',
      dns: { informational: true, addresses: [{ address: '127.0.0.1' }] },
      http: { status: 400 },
      tls: { root: { genuine: true } },
    });
    expect(JSON.stringify(result)).not.toContain('s3cret');
    expect(proxy.authorities.at(-1)).toBe(`${HIS}:${server.port}`);
    expect(Object.keys(result.timings).sort()).toEqual(['connect', 'dns', 'firstByte', 'proxy', 'tls', 'total']);
  });

  it('a local DNS failure does not matter when the proxy resolves the name', async () => {
    const server = await serve();
    const result = await probe(
      target(HIS, server.port),
      withProxy(proxy.url, [], { resolver: createStaticResolver({}) }),
    );
    expect(result).toMatchObject({ verdict: 'reachable', findings: [] });
    expect(result.dns).toBeUndefined();
  });

  it('learns the TLS version of a legacy server through a second tunnel', async () => {
    const server = await serve({ minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' });
    const before = proxy.authorities.length;
    const result = await probe(target(HIS, server.port), withProxy(proxy.url));
    expect(result).toMatchObject({ verdict: 'blocked', failure: { code: 'TLS_VERSION_BELOW_1_2' } });
    expect(proxy.authorities.length - before).toBe(2);
  });

  it.each([
    ['auth', 'PROXY_AUTH_REQUIRED'],
    ['refuse', 'PROXY_REFUSED'],
    ['garbage', 'PROXY_BAD_RESPONSE'],
  ] as const)('proxy mode %s → %s', async (mode, code) => {
    proxy.setMode(mode);
    const server = await serve();
    const result = await probe(target(HIS, server.port), withProxy(proxy.url));
    expect(result).toMatchObject({ verdict: 'blocked', failure: { code, phase: 'proxy' }, proxy: proxy.url });
    expect(server.connections).toBe(0);
  });

  it('PROXY_TIMEOUT when the proxy never answers CONNECT', async () => {
    proxy.setMode('silent');
    const result = await probe(target(HIS, 443), withProxy(proxy.url), AbortSignal.timeout(300));
    expect(result).toMatchObject({ verdict: 'blocked', failure: { code: 'PROXY_TIMEOUT', phase: 'proxy' } });
  });

  it('PROXY_UNREACHABLE when the proxy is down, not a failure of the endpoint', async () => {
    const gone = await startProxyServer();
    await gone.close();
    const server = await serve();
    const result = await probe(target(HIS, server.port), withProxy(gone.url));
    expect(result).toMatchObject({ verdict: 'blocked', failure: { code: 'PROXY_UNREACHABLE', phase: 'proxy' } });
    expect(codes(result)).toEqual(['PROXY_UNREACHABLE']);
  });

  it('goes direct for a host NO_PROXY exempts', async () => {
    const server = await serve();
    const before = proxy.authorities.length;
    const result = await probe(target(HIS, server.port), withProxy(proxy.url, ['.arc.azure.com']));
    expect(result).toMatchObject({ verdict: 'reachable' });
    expect(result.proxy).toBeUndefined();
    expect(result.dns?.informational).toBeUndefined();
    expect(proxy.authorities.length).toBe(before);
  });
});

describe('probeTarget for NTP', () => {
  it('hands UDP time targets to the NTP probe', async () => {
    const ntp = await startNtpServer();
    try {
      const ctx = context({ resolver: createStaticResolver({ 'time.windows.com': ['127.0.0.1'] }) });
      const result = await probe(
        target('time.windows.com', ntp.port, {
          transport: 'udp',
          protocol: 'ntp',
          id: `time.windows.com:${ntp.port}/udp`,
        }),
        ctx,
      );
      expect(result).toMatchObject({ transport: 'udp', verdict: 'reachable', ntp: { stratum: 2 } });
      expect(ntp.requests).toBeGreaterThan(0);
    } finally {
      await ntp.close();
    }
  });
});

describe('probeTarget leaves nothing open', () => {
  it.each([
    ['a plain TCP check', {}, { protocol: 'tcp' }],
    ['a full HTTPS probe', {}, {}],
    ['an HTTP timeout', { behaviour: 'hang-after-handshake' }, {}],
    ['a TLS timeout', { behaviour: 'hang-after-accept' }, {}],
  ] as const)('closes every socket after %s', async (_name, serverOptions, targetOptions) => {
    const server = await serve(serverOptions);
    await probe(target(HIS, server.port, targetOptions), context(), AbortSignal.timeout(300));
    // The test server closes its side when the probe's side goes away; leaked sockets stay open on both.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const open = process.getActiveResourcesInfo().filter((r) => r === 'TLSWrap' || r === 'TCPSocketWrap');
    expect(open).toEqual([]);
  });
});
