/**
 * The network the way the Connected Machine agent meets it (issue 9): each host's own genuine CA, the agent's
 * trust store, every address of a name, a DNS server that drops AAAA, DNS filtering and inspection devices that
 * answer themselves. Real servers on loopback; the OS CA bundle and the "public" root are made here.
 */
import { mkdtemp, readFile as readFileText, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG } from '../../lib/catalog';
import { expandTargets } from '../../lib/catalog/expand';
import type { Target } from '../../lib/catalog/types';
import { parseUserConfig } from '../../lib/catalog';
import { parseCheckArgs } from '../../lib/cli/check';
import { parseSettings } from '../../lib/config/settings';
import { prepareCycle, readOsCaBundle } from '../../lib/monitor/setup';
import { createResolver, resolveHost } from '../../lib/probes/dns';
import { hostsOrderOf } from '../../lib/probes/hostsFile';
import type { HostsOrder } from '../../lib/probes/hostsFile';
import { evaluatePrivateLink } from '../../lib/probes/privateLink';
import { probeTarget } from '../../lib/probes/layered';
import { buildTrust } from '../../lib/probes/trust';
import type { ProbeContext, ProbeResult, TrustConfig } from '../../lib/probes/types';
import { startDnsServer } from '../helpers/dnsServer';
import type { DnsTestServer } from '../helpers/dnsServer';
import { createAzureLikePki, createIntermediate, createLeaf, createPublicLikePki, createRoot } from '../helpers/pki';
import type { Issued } from '../helpers/pki';
import { startStalledListener } from '../helpers/stalledListener';
import { createStaticResolver } from '../helpers/staticResolver';
import { startTlsServer } from '../helpers/tlsServer';
import type { TlsServer, TlsServerOptions } from '../helpers/tlsServer';

const HIS = 'gbl.his.arc.azure.com';
const PYPI = 'pypi.org';

type Pki = { root: Issued; intermediate: Issued };
let azure: Pki;
let publicCa: Pki;
let inspection: Pki;
let dir: string;
let osBundlePath: string;
/** The agent's view: an OS bundle holding the public root and the organisation's inspection root. */
let agentTrust: TrustConfig;
let servers: TlsServer[] = [];

beforeAll(async () => {
  azure = await createAzureLikePki();
  publicCa = await createPublicLikePki();
  const inspectionRoot = await createRoot('Contoso Inspection CA');
  inspection = { root: inspectionRoot, intermediate: await createIntermediate(inspectionRoot, 'Contoso Issuing CA') };
  dir = await mkdtemp(join(tmpdir(), 'arcmon-parity-'));
  osBundlePath = join(dir, 'ca-certificates.crt');
  await writeFile(osBundlePath, `${publicCa.root.certPem}\n${inspection.root.certPem}\n${azure.root.certPem}`);
  agentTrust = trustFromOsBundle(await readFile(osBundlePath));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function readFile(path: string): Promise<string> {
  const bundle = await readOsCaBundle({ SSL_CERT_FILE: path });
  if (bundle === undefined) throw new Error(`cannot read ${path}`);
  return bundle.pem;
}

/** Azure's test root counts as Microsoft's (the expected roots), the public test root as publicly trusted. */
function trustFromOsBundle(pem: string, extraCaPem: string[] = []): TrustConfig {
  return buildTrust({
    osCa: { path: osBundlePath, pem },
    extraCaPem,
    publicRootsPem: [publicCa.root.certPem],
    expectedRootsPem: azure.root.certPem,
  });
}

async function serve(pki: Pki, hosts: string[], opts: Partial<TlsServerOptions> = {}): Promise<TlsServer> {
  const leaf = await createLeaf(pki.intermediate, hosts);
  const server = await startTlsServer({ identity: { leaf, intermediates: [pki.intermediate] }, ...opts });
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
    hostPattern: host,
    requirement: 'always',
    mustBePrivate: false,
    privateLink: 'public',
    inspection: 'tolerated',
    genuineCa: 'microsoft',
    agents: ['connected-machine'],
    scenarios: ['servers'],
    purpose: 'test',
    serviceTags: [],
    httpPath: '/',
    ...overrides,
  };
}

/** The resource bridge's pypi.org row: third party, inspection not tolerated. */
const pypi = (port: number) =>
  target(PYPI, port, {
    entryIds: ['bridge.pypi'],
    genuineCa: 'public',
    inspection: 'not-tolerated',
    agents: ['resource-bridge'],
  });

function context(overrides: Partial<ProbeContext> = {}): ProbeContext {
  return {
    resolver: createStaticResolver({ [HIS]: ['127.0.0.1'], [PYPI]: ['127.0.0.1'] }),
    trust: agentTrust,
    privateLinkMode: false,
    thresholds: { slowMs: 3000, certExpiryWarnDays: 14, clockSkewMs: 1000 },
    timeoutMs: 5000,
    maxBodyBytes: 4096,
    now: () => new Date(),
    ...overrides,
  };
}

const probe = (t: Target, ctx: ProbeContext = context(), signal = AbortSignal.timeout(5000)) =>
  probeTarget(t, ctx, signal);
const codes = (r: ProbeResult) => r.findings.map((f) => f.code);

describe('each host is judged against its own genuine CA (case 1)', () => {
  it('the catalog expects a public root for the PyPI rows and a Microsoft root for Microsoft hosts', () => {
    const { targets } = expandTargets(CATALOG, { cloud: 'AzureCloud', region: 'eastus', scenarios: 'all' });
    const expected = Object.fromEntries(targets.map((t) => [t.host, t.genuineCa]));
    expect(expected).toMatchObject({
      'pypi.org': 'public',
      'files.pythonhosted.org': 'public',
      'pythonhosted.org': 'public',
      'gbl.his.arc.azure.com': 'microsoft',
      'mcr.microsoft.com': 'microsoft',
      'login.microsoftonline.com': 'microsoft',
    });
  });

  it('pypi.org on a non-Microsoft public CA is reachable for the resource bridge, anchored by the OS store', async () => {
    const server = await serve(publicCa, [PYPI], { httpStatus: 200 });
    const result = await probe(pypi(server.port));
    expect(result).toMatchObject({
      verdict: 'reachable',
      findings: [],
      tls: {
        expectedCa: 'public',
        root: { fingerprint256: publicCa.root.fingerprint256, genuine: true, anchoredBy: `OS store ${osBundlePath}` },
      },
    });
    expect(result.tls?.interceptedBy).toBeUndefined();
  });

  it('the same public CA on a Microsoft host is inspection, named', async () => {
    const server = await serve(publicCa, [HIS], { httpStatus: 400 });
    const result = await probe(target(HIS, server.port));
    expect(result).toMatchObject({
      verdict: 'degraded',
      failure: {
        code: 'TLS_INTERCEPTED',
        message: expect.stringContaining(
          `ends at 'arcmon Test Public Root R3 (arcmon tests)' (SHA-256 ${publicCa.root.fingerprint256}), not at a Microsoft or DigiCert root`,
        ) as string,
      },
      tls: { expectedCa: 'microsoft', interceptedBy: 'arcmon Test Public Root R3 (arcmon tests)' },
    });
  });

  it('pypi.org re-signed by an inspection CA blocks the resource bridge: not a publicly trusted root', async () => {
    const server = await serve(inspection, [PYPI], { httpStatus: 200 });
    const result = await probe(pypi(server.port));
    expect(result).toMatchObject({
      verdict: 'blocked',
      failure: {
        code: 'TLS_INTERCEPTED',
        severity: 'blocking',
        message: expect.stringContaining('not at a publicly trusted root: TLS inspection') as string,
      },
    });
    expect(codes(result)).toEqual(['TLS_INTERCEPTED']);
  });

  it("by default, publicly trusted means Node's bundled Mozilla store, which Microsoft's roots are part of", () => {
    const trust = buildTrust();
    for (const fingerprint of trust.genuineRoots) expect(trust.publicRoots.has(fingerprint)).toBe(true);
    expect(trust.publicRoots.size).toBeGreaterThan(100);
    expect(trust.publicRoots.has(inspection.root.fingerprint256)).toBe(false);
  });
});

describe("the agent's trust store (case 2)", () => {
  it('an inspection CA pushed into the OS store is trusted: TLS_INTERCEPTED only, anchored by that store', async () => {
    const server = await serve(inspection, [HIS], { httpStatus: 400 });
    const result = await probe(target(HIS, server.port));
    expect(result).toMatchObject({
      verdict: 'degraded',
      tls: { root: { fingerprint256: inspection.root.fingerprint256, anchoredBy: `OS store ${osBundlePath}` } },
    });
    expect(codes(result)).toEqual(['TLS_INTERCEPTED']);
  });

  it('without it in the OS store the same chain is CERT_UNTRUSTED, and NODE_EXTRA_CA_CERTS anchors it when set', async () => {
    const server = await serve(inspection, [HIS], { httpStatus: 400 });
    const bare = trustFromOsBundle(publicCa.root.certPem);
    const untrusted = await probe(target(HIS, server.port), context({ trust: bare }));
    expect(codes(untrusted)).toEqual(['CERT_UNTRUSTED', 'TLS_INTERCEPTED']);
    expect(untrusted.tls?.root.anchoredBy).toBeUndefined();

    const extra = trustFromOsBundle(publicCa.root.certPem, [inspection.root.certPem]);
    const anchored = await probe(target(HIS, server.port), context({ trust: extra }));
    expect(codes(anchored)).toEqual(['TLS_INTERCEPTED']);
    expect(anchored.tls?.root.anchoredBy).toBe('NODE_EXTRA_CA_CERTS');
  });

  it("reads SSL_CERT_FILE first, else the first of Go's bundle paths that exists, else nothing", async () => {
    const missing = join(dir, 'missing.pem');
    expect(await readOsCaBundle({ SSL_CERT_FILE: osBundlePath })).toMatchObject({ path: osBundlePath });
    expect(await readOsCaBundle({}, [missing, osBundlePath])).toMatchObject({ path: osBundlePath });
    expect(await readOsCaBundle({}, [missing])).toBeUndefined();
    expect(buildTrust().stores[0]?.label).toBe("Node's bundled roots (no OS CA bundle found)");
  });
});

describe('every address of a name (case 4)', () => {
  it('a dual-stack host whose IPv4 path drops SYNs is reachable over IPv6, degraded, naming the IPv4 address', async () => {
    const stalled = await startStalledListener();
    try {
      await serve(azure, [HIS], { host: '::1', port: stalled.port, httpStatus: 400 });
      const ctx = context({ resolver: createStaticResolver({ [HIS]: ['127.0.0.1', '::1'] }) });
      const result = await probe(target(HIS, stalled.port), ctx);
      expect(result).toMatchObject({
        verdict: 'degraded',
        connectedAddress: '::1',
        http: { status: 400 },
        failure: {
          code: 'SOME_ADDRESSES_FAILED',
          phase: 'connect',
          message: `${HIS}: 1 of 2 addresses fail (127.0.0.1:${stalled.port} TCP_TIMEOUT); the agent falls back to ::1`,
        },
      });
      expect(result.addressAttempts?.map((a) => [a.address, a.ok, a.code])).toEqual([
        ['::1', true, undefined],
        ['127.0.0.1', false, 'TCP_TIMEOUT'],
      ]);
    } finally {
      await stalled.close();
    }
  });

  it.each([[['127.0.0.1', '127.0.0.2']], [['127.0.0.2', '127.0.0.1']]])(
    'a firewall that lets only some addresses through gives the same verdict whatever the DNS order (%j)',
    async (order) => {
      const server = await serve(azure, [HIS], { httpStatus: 400 });
      const ctx = context({ resolver: createStaticResolver({ [HIS]: order }) });
      const result = await probe(target(HIS, server.port), ctx);
      expect(result).toMatchObject({
        verdict: 'degraded',
        connectedAddress: '127.0.0.1',
        failure: { code: 'SOME_ADDRESSES_FAILED', message: expect.stringContaining('127.0.0.2') as string },
      });
      expect(result.addressAttempts).toHaveLength(2);
    },
  );

  it('blocks only when no address works, naming each', async () => {
    const server = await serve(azure, [HIS]);
    const port = server.port;
    await server.close();
    const ctx = context({ resolver: createStaticResolver({ [HIS]: ['127.0.0.1', '::1'] }) });
    const result = await probe(target(HIS, port), ctx);
    expect(result).toMatchObject({
      verdict: 'blocked',
      failure: {
        code: 'TCP_REFUSED',
        message: `connection refused by 127.0.0.1:${port}; all 2 addresses failed: 127.0.0.1:${port} TCP_REFUSED, [::1]:${port} TCP_REFUSED`,
      },
    });
  });
});

describe('DNS the agent would get through (cases 5 and 6)', () => {
  let dns: DnsTestServer | undefined;
  afterEach(async () => {
    await dns?.close();
    dns = undefined;
  });

  it('a DNS server that drops AAAA queries: the A answer is used, the silent family is a finding, not a block', async () => {
    dns = await startDnsServer({ [HIS]: { A: ['127.0.0.1'], AAAA: ['::1'] } }, { drop: ['AAAA'] });
    const server = await serve(azure, [HIS], { httpStatus: 400 });
    const resolver = createResolver({ server: dns.address, timeoutMs: 3000 });
    const result = await probe(target(HIS, server.port), context({ resolver }));
    expect(result).toMatchObject({
      verdict: 'degraded',
      connectedAddress: '127.0.0.1',
      http: { status: 400 },
      failure: { code: 'DNS_FAMILY_TIMEOUT', phase: 'dns', severity: 'degrading' },
    });
    expect(result.failure?.message).toMatch(
      /^gbl\.his\.arc\.azure\.com: AAAA query unanswered .*going on with the A answer/,
    );
    expect(dns.queries.some((q) => q.type === 'AAAA')).toBe(true);
    // It did not wait for the whole DNS budget (3000 ms) before connecting.
    expect(result.timings.dns).toBeLessThan(2000);
  });

  it.each([
    [{ A: ['0.0.0.0'] }, '0.0.0.0'],
    [{ A: ['0.0.0.0'], AAAA: ['::'] }, '0.0.0.0, ::'],
  ])('a DNS filter answering %j is DNS_FILTERED naming the sinkhole, not a firewall', async (record, listed) => {
    dns = await startDnsServer({ [HIS]: record });
    const resolver = createResolver({ server: dns.address, timeoutMs: 2000 });
    const result = await probe(target(HIS, 443), context({ resolver }));
    expect(result).toMatchObject({
      verdict: 'blocked',
      failure: {
        code: 'DNS_FILTERED',
        phase: 'dns',
        message: `${HIS} resolved to ${listed} via ${dns.address}: a DNS filter answers with a sinkhole address, so nothing can connect (no firewall involved)`,
      },
    });
    expect(result.timings.connect).toBeUndefined();
  });
});

describe('inspection devices that answer themselves (case 7)', () => {
  it.each([403, 451, 502])('an inspecting chain plus the device’s own %d blocks, naming the device', async (status) => {
    const server = await serve(inspection, [HIS], { httpStatus: status });
    const result = await probe(target(HIS, server.port));
    expect(result).toMatchObject({
      verdict: 'blocked',
      failure: {
        code: 'INSPECTION_DEVICE_ANSWERED',
        phase: 'http',
        message: `the inspecting device behind 'Contoso Inspection CA (arcmon tests)' (Server: arcmon-test) answered ${status} itself; the request never reached ${HIS}`,
      },
    });
  });

  it('the service’s own answer relayed through inspection is not the device’s: degraded only', async () => {
    const server = await serve(inspection, [HIS], { httpStatus: 404 });
    const result = await probe(target(HIS, server.port));
    expect(result).toMatchObject({ verdict: 'degraded', failure: { code: 'TLS_INTERCEPTED' } });
    expect(codes(result)).toEqual(['TLS_INTERCEPTED']);
  });

  it('a genuine Microsoft chain answering 403 is the service’s answer', async () => {
    const server = await serve(azure, [HIS], { httpStatus: 403 });
    const result = await probe(target(HIS, server.port));
    expect(result).toMatchObject({ verdict: 'reachable', http: { status: 403 } });
  });
});

describe('private-link truth (case 9)', () => {
  let dns: DnsTestServer;
  beforeAll(async () => {
    dns = await startDnsServer({
      // A VNet on carrier-grade NAT space: the private endpoint answers from 100.64.0.0/10.
      [HIS]: { CNAME: 'gbl.privatelink.his.arc.azure.com' },
      'gbl.privatelink.his.arc.azure.com': { A: ['100.64.1.4'] },
      'agentserviceapi.guestconfiguration.azure.com': { A: ['20.50.1.2'] },
      'guestnotificationservice.azure.com': { A: ['20.50.1.3'] },
    });
  });
  afterAll(async () => {
    await dns.close();
  });

  const mustBePrivate = (host: string) => ({ host, mustBePrivate: true });
  const resolveVia = async (host: string) => {
    const resolution = await resolveHost(
      host,
      createResolver({ server: dns.address, timeoutMs: 2000 }),
      AbortSignal.timeout(3000),
    );
    if (!resolution.facts) throw new Error(`${host} did not resolve`);
    return resolution.facts;
  };

  it('a VNet on 100.64.0.0/10 is a bypass until that range is declared private', async () => {
    const facts = await resolveVia(HIS);
    expect(evaluatePrivateLink(mustBePrivate(HIS), facts, true)?.code).toBe('PRIVATE_LINK_BYPASSED');
    expect(evaluatePrivateLink(mustBePrivate(HIS), facts, true, { privateRanges: ['100.64.0.0/10'] })).toBeUndefined();
  });

  it('the range can be set by flag, app setting and endpoints file, each validated', async () => {
    const settings = parseSettings({
      ARCMON_REGION: 'eastus',
      ARCMON_SITE: 'hub',
      ARCMON_TABLE_ENDPOINT: 'https://account.table.core.windows.net/',
      ARCMON_PRIVATE_RANGES: '100.64.0.0/10, 198.18.0.0/15',
    });
    expect(settings.ARCMON_PRIVATE_RANGES).toEqual(['100.64.0.0/10', '198.18.0.0/15']);
    expect(() =>
      parseSettings({
        ARCMON_REGION: 'eastus',
        ARCMON_SITE: 'hub',
        ARCMON_TABLE_ENDPOINT: 'https://account.table.core.windows.net/',
        ARCMON_PRIVATE_RANGES: '100.64.0.0/33',
      }),
    ).toThrow(
      'ARCMON_PRIVATE_RANGES: Invalid address range "100.64.0.0/33": expected a CIDR such as 10.0.0.0/8 or fd00::/8',
    );

    const args = await parseCheckArgs(['--private-range', '100.64.0.0/10', '--private-range', 'fd12::/16'], {});
    expect(args.inputs.privateRanges).toEqual(['100.64.0.0/10', 'fd12::/16']);
    await expect(parseCheckArgs(['--private-range', 'vnet'], {})).rejects.toThrow(
      '--private-range: Invalid address range "vnet": expected a CIDR such as 10.0.0.0/8 or fd00::/8',
    );

    const file = parseUserConfig(JSON.stringify({ version: 1, privateRanges: ['100.64.0.0/10'] }), 'endpoints.json');
    expect(file.privateRanges).toEqual(['100.64.0.0/10']);
    const prepared = await prepareCycle({
      cloud: 'AzureCloud',
      region: 'eastus',
      scenarios: ['servers'],
      userConfig: file,
      privateLink: true,
      privateRanges: ['198.18.0.0/15'],
      extraCaPem: [],
      timeoutMs: 1000,
      thresholds: { slowMs: 3000, certExpiryWarnDays: 14, clockSkewMs: 1000 },
      fetchAllowlist: false,
    });
    expect(prepared.ctx.privateRanges).toEqual(['198.18.0.0/15', '100.64.0.0/10']);
  });

  it.each([
    [
      'agentserviceapi.guestconfiguration.azure.com',
      'check that this DNS server answers from the privatelink.guestconfiguration.azure.com zone',
    ],
    [
      'guestnotificationservice.azure.com',
      "none of Arc's private DNS zones covers this name: check its record in the private endpoint's DNS configuration",
    ],
  ])('names the right private DNS zone for %s', async (host, hint) => {
    const facts = await resolveVia(host);
    expect(evaluatePrivateLink(mustBePrivate(host), facts, true)?.message).toMatch(
      new RegExp(`; ${hint.replace(/[.*?()]/g, '\\$&')}$`),
    );
  });
});

describe("the agent's resolver: hosts file, nsswitch, then DNS (case 3)", () => {
  let dns: DnsTestServer;
  let hostsPath: string;
  const PE = '127.77.0.1';
  beforeAll(async () => {
    // The public answer the on-premises DNS gives; the hosts file carries the private endpoint, as Microsoft's
    // single-server private-link set-up does. 127.77.0.0/16 stands for the private endpoint subnet.
    dns = await startDnsServer({ [HIS]: { A: ['20.50.1.2'] }, 'eus.his.arc.azure.com': { A: ['127.0.0.1'] } });
    hostsPath = join(dir, 'hosts');
    await writeFile(
      hostsPath,
      `127.0.0.1 localhost\n${PE}   ${HIS.toUpperCase()}.  # Arc private endpoint\n::1 ip6-only.test\n`,
    );
  });
  afterAll(async () => {
    await dns.close();
  });

  const systemResolver = async (order: HostsOrder = 'files-dns') =>
    createResolver({
      timeoutMs: 2000,
      systemServers: [dns.address],
      hosts: { path: hostsPath, text: await readFileText(hostsPath, 'utf8') },
      hostsOrder: order,
    });

  it('private link through a hosts file: reachable on the private endpoint, no bypass, and the answer names the file', async () => {
    const server = await serve(azure, [HIS], { host: PE, httpStatus: 400 });
    const before = dns.queries.length;
    const result = await probe(
      target(HIS, server.port, { mustBePrivate: true, privateLink: 'private' }),
      context({ resolver: await systemResolver(), privateLinkMode: true, privateRanges: ['127.77.0.0/16'] }),
    );
    expect(result).toMatchObject({
      verdict: 'reachable',
      connectedAddress: PE,
      dns: { server: `hosts file ${hostsPath}`, addresses: [{ address: PE }] },
    });
    // Go's resolver does not ask DNS for a name the hosts file has.
    expect(dns.queries.slice(before).filter((q) => q.name === HIS)).toEqual([]);

    // Asking the DNS server directly (--dns-server) sees the public path: that is what the flag is for.
    const direct = await resolveHost(
      HIS,
      createResolver({ server: dns.address, timeoutMs: 2000 }),
      AbortSignal.timeout(3000),
    );
    expect(direct.facts?.addresses.map((a) => a.address)).toEqual(['20.50.1.2']);
    expect(
      evaluatePrivateLink({ host: HIS, mustBePrivate: true }, direct.facts ?? { addresses: [], server: '' }, true)
        ?.code,
    ).toBe('PRIVATE_LINK_BYPASSED');
  });

  it('names the hosts file has in one family only get DNS_NO_ADDRESS for the other, without asking DNS', async () => {
    const resolver = await systemResolver();
    const before = dns.queries.length;
    const answer = await resolver.resolve('ip6-only.test', 4, AbortSignal.timeout(2000));
    expect(answer).toEqual({
      ok: false,
      code: 'DNS_NO_ADDRESS',
      message: `ip6-only.test: no A entry in hosts file ${hostsPath}`,
    });
    expect(dns.queries.length).toBe(before);
  });

  it('names not in the hosts file go to DNS; with "dns files" DNS answers first', async () => {
    const filesFirst = await resolveHost('eus.his.arc.azure.com', await systemResolver(), AbortSignal.timeout(3000));
    expect(filesFirst.facts).toMatchObject({
      addresses: [{ address: '127.0.0.1' }],
      server: `system (hosts file ${hostsPath}, then system)`,
    });
    const dnsFirst = await resolveHost(HIS, await systemResolver('dns-files'), AbortSignal.timeout(3000));
    expect(dnsFirst.facts?.addresses.map((a) => a.address)).toEqual(['20.50.1.2']);
  });

  it.each([
    ['hosts:          files dns', 'files-dns'],
    ['hosts: files mdns4_minimal [NOTFOUND=return] dns myhostname', 'files-dns'],
    ['hosts: dns files', 'dns-files'],
    ['hosts: resolve [!UNAVAIL=return] dns', 'dns'],
    ['passwd: files', 'files-dns'],
  ] as const)('reads nsswitch "%s" as %s', (line, order) => {
    expect(hostsOrderOf(`# comment\n${line}\n`)).toBe(order);
  });

  it('prepareCycle builds the system resolver from the files it is given', async () => {
    const nsswitch = join(dir, 'nsswitch.conf');
    await writeFile(nsswitch, 'hosts: files dns\n');
    const prepared = await prepareCycle({
      cloud: 'AzureCloud',
      region: 'eastus',
      scenarios: ['servers'],
      privateLink: false,
      extraCaPem: [],
      systemResolverFiles: { hosts: hostsPath, nsswitch },
      timeoutMs: 1000,
      thresholds: { slowMs: 3000, certExpiryWarnDays: 14, clockSkewMs: 1000 },
      fetchAllowlist: false,
    });
    expect(prepared.ctx.resolver.label).toBe(`system (hosts file ${hostsPath}, then system)`);
    const answer = await prepared.ctx.resolver.resolve(HIS, 4, AbortSignal.timeout(1000));
    expect(answer).toEqual({ ok: true, addresses: [PE], source: `hosts file ${hostsPath}` });
  });
});

describe('the CNAME chain on the direct DNS path (case 9)', () => {
  it('shows which zone answered when private link is bypassed', async () => {
    const dns = await startDnsServer({
      [HIS]: { CNAME: 'gbl.privatelink.his.arc.azure.com' },
      // The privatelink zone is not forwarded here, so the public zone's own record answers.
      'gbl.privatelink.his.arc.azure.com': { A: ['127.0.0.1'] },
    });
    try {
      const server = await serve(azure, [HIS], { httpStatus: 400 });
      const resolver = createResolver({ server: dns.address, timeoutMs: 2000 });
      const result = await probe(
        target(HIS, server.port, { mustBePrivate: true, privateLink: 'private' }),
        context({ resolver, privateLinkMode: true }),
      );
      expect(result.dns?.cnames).toEqual(['gbl.privatelink.his.arc.azure.com']);
      expect(result).toMatchObject({
        verdict: 'blocked',
        failure: {
          code: 'PRIVATE_LINK_BYPASSED',
          message: `${HIS} resolved to 127.0.0.1 (loopback) (CNAME ${HIS} → gbl.privatelink.his.arc.azure.com) via ${dns.address}, not to a private endpoint address; check that this DNS server answers from the privatelink.his.arc.azure.com zone`,
        },
      });
    } finally {
      await dns.close();
    }
  });
});
