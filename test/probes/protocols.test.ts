/**
 * The protocols the rows beyond the seeds need, each against a real server on loopback: plain HTTP on TCP 80,
 * a WebSocket upgrade through a CONNECT proxy (allowed) and through an inspecting proxy (refused), ALPN h2 granted
 * through a tunnelling proxy and refused by an inspecting one, and a DNS server's port answering or silent.
 */
import { createHash } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Target } from '../../lib/catalog/types';
import { probeTarget } from '../../lib/probes/layered';
import { parseProxyUrl } from '../../lib/probes/proxy';
import { buildTrust } from '../../lib/probes/trust';
import type { ProbeContext, ProbeResult, TrustConfig } from '../../lib/probes/types';
import { startDnsServer, type DnsTestServer } from '../helpers/dnsServer';
import { startInspectingProxy, type InspectingProxy } from '../helpers/inspectingProxy';
import { createAzureLikePki, createIntermediate, createLeaf, createRoot, type Issued } from '../helpers/pki';
import { startProxyServer, type ProxyServer } from '../helpers/proxyServer';
import { createStaticResolver } from '../helpers/staticResolver';

const PKIOPS = 'www.microsoft.com';
const PKIOPS_ADDRESS = '127.0.80.80';
const RELAY = 'azgn-eastus-1.servicebus.windows.net';
const DATA_PLANE = 'eastus.dp.kubernetesconfiguration.azure.com';

let azure: { root: Issued; intermediate: Issued };
let inspection: { root: Issued; intermediate: Issued };
let trust: TrustConfig;
let inspectionLeaf: Issued;
const closers: Array<() => Promise<void>> = [];

function target(host: string, port: number, overrides: Partial<Target>): Target {
  return {
    id: `${host}:${port}`,
    host,
    port,
    transport: 'tcp',
    protocol: 'https',
    entryIds: ['test'],
    hostPattern: host,
    requirement: 'always',
    mustBePrivate: false,
    privateLink: 'public',
    inspection: 'tolerated',
    agents: ['connected-machine'],
    scenarios: ['servers'],
    purpose: 'test',
    serviceTags: [],
    genuineCa: 'microsoft',
    httpPath: '/',
    ...overrides,
  };
}

function context(overrides: Partial<ProbeContext> = {}): ProbeContext {
  return {
    resolver: createStaticResolver({ [PKIOPS]: [PKIOPS_ADDRESS], [RELAY]: ['127.0.0.1'], [DATA_PLANE]: ['127.0.0.1'] }),
    trust,
    privateLinkMode: false,
    thresholds: { slowMs: 3000, certExpiryWarnDays: 14, clockSkewMs: 1000 },
    maxBodyBytes: 4096,
    now: () => new Date(),
    ...overrides,
  };
}

const probe = (t: Target, ctx: ProbeContext): Promise<ProbeResult> => probeTarget(t, ctx, AbortSignal.timeout(5000));
const codes = (r: ProbeResult) => r.findings.map((f) => f.code);

async function listen(server: net.Server, host = '127.0.0.1', port = 0): Promise<number> {
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  azure = await createAzureLikePki();
  const inspectionRoot = await createRoot('Contoso Inspection CA');
  inspection = { root: inspectionRoot, intermediate: await createIntermediate(inspectionRoot, 'Contoso Issuing CA') };
  inspectionLeaf = await createLeaf(inspection.intermediate, [RELAY, DATA_PLANE]);
  // The machine trusts the inspection CA (as a managed enterprise machine does): TLS passes, degraded.
  trust = buildTrust({ expectedRootsPem: azure.root.certPem, extraCaPem: [inspection.root.certPem] });
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

describe('plain HTTP on TCP 80 (certificate downloads for ESU)', () => {
  const seen: string[] = [];
  beforeAll(async () => {
    const server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url} host=${req.headers.host}`);
      res.writeHead(200, { server: 'loopback-pkiops' }).end('certs');
    });
    await listen(server, PKIOPS_ADDRESS, 80);
  });

  it('requests the path over plain HTTP on port 80, with no TLS layer', async () => {
    const result = await probe(target(PKIOPS, 80, { protocol: 'http', httpPath: '/pkiops/certs' }), context());
    expect(result.verdict).toBe('reachable');
    expect(result.http).toMatchObject({ status: 200, server: 'loopback-pkiops' });
    expect(result.tls).toBeUndefined();
    expect(result.connectedAddress).toBe(PKIOPS_ADDRESS);
    expect(seen.at(-1)).toMatch(/^GET \/pkiops\/certs host=www\.microsoft\.com/);
  });

  it('is blocked when nothing answers on port 80 at that address', async () => {
    const resolver = createStaticResolver({ [PKIOPS]: ['127.0.80.81'] });
    const result = await probe(
      target(PKIOPS, 80, { protocol: 'http', httpPath: '/pkiops/certs' }),
      context({ resolver }),
    );
    expect(result.failure?.code).toBe('TCP_REFUSED');
  });
});

describe('WebSocket upgrade through the path (wss:// to the notification relay)', () => {
  let originPort: number;
  let tunnel: ProxyServer;
  let inspecting: InspectingProxy;
  const upgrades: string[] = [];

  beforeAll(async () => {
    const leaf = await createLeaf(azure.intermediate, [RELAY]);
    const origin = https.createServer(
      { key: leaf.keyPem, cert: [leaf.certPem, azure.intermediate.certPem].join('\n') },
      (_req, res) => res.writeHead(404).end(),
    );
    origin.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
      upgrades.push(String(req.url));
      const accept = createHash('sha1')
        .update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      socket.end(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
    });
    originPort = await listen(origin);
    tunnel = await startProxyServer({ mode: 'allow', hosts: { [RELAY]: '127.0.0.1' } });
    inspecting = await startInspectingProxy({
      hosts: { [RELAY]: '127.0.0.1' },
      leaf: inspectionLeaf,
      intermediates: [inspection.intermediate],
      refuseUpgrade: true,
    });
    closers.push(
      () => tunnel.close(),
      () => inspecting.close(),
    );
  });

  const relay = () => target(RELAY, originPort, { checks: ['websocket'], httpPath: '/$hc/arc' });

  it('allowed: the upgrade reaches the relay through a tunnelling proxy and switches protocols', async () => {
    const before = upgrades.length;
    const result = await probe(relay(), context({ proxy: parseProxyUrl(tunnel.url) }));
    expect(codes(result)).toEqual([]);
    expect(result.verdict).toBe('reachable');
    expect(result.http?.status).toBe(404);
    expect(upgrades.slice(before)).toEqual(['/$hc/arc']);
  });

  it('refused: an inspecting proxy that refuses Upgrade breaks it while plain HTTPS works — WEBSOCKET_REFUSED', async () => {
    const result = await probe(relay(), context({ proxy: parseProxyUrl(inspecting.url) }));
    expect(result.http?.status).toBe(404);
    expect(codes(result)).toEqual(['TLS_INTERCEPTED', 'WEBSOCKET_REFUSED']);
    expect(result.verdict).toBe('blocked');
    expect(result.failure?.message).toBe(
      `WebSocket upgrade to wss://${RELAY}/$hc/arc failed: the path answered HTTP 403 instead of 101 Switching Protocols; plain HTTPS works on this path`,
    );
    expect(inspecting.requests).toEqual(['GET /$hc/arc HTTP/1.1', 'GET /$hc/arc HTTP/1.1 (upgrade)']);
  });
});

describe('HTTP/2 negotiation (ALPN h2) for the bridge data plane', () => {
  let originPort: number;
  let tunnel: ProxyServer;
  let inspecting: InspectingProxy;

  beforeAll(async () => {
    const leaf = await createLeaf(azure.intermediate, [DATA_PLANE]);
    const origin = http2.createSecureServer(
      { key: leaf.keyPem, cert: [leaf.certPem, azure.intermediate.certPem].join('\n'), allowHTTP1: true },
      (_req, res) => res.writeHead(404).end(),
    );
    originPort = await listen(origin);
    tunnel = await startProxyServer({ mode: 'allow', hosts: { [DATA_PLANE]: '127.0.0.1' } });
    inspecting = await startInspectingProxy({
      hosts: { [DATA_PLANE]: '127.0.0.1' },
      leaf: inspectionLeaf,
      intermediates: [inspection.intermediate],
    });
    closers.push(
      () => tunnel.close(),
      () => inspecting.close(),
    );
  });

  const dataPlane = () => target(DATA_PLANE, originPort, { checks: ['http2'] });

  it('granted: through a tunnelling proxy the service negotiates h2', async () => {
    const result = await probe(dataPlane(), context({ proxy: parseProxyUrl(tunnel.url) }));
    expect(codes(result)).toEqual([]);
    expect(result.verdict).toBe('reachable');
  });

  it('refused: an inspecting proxy offers only http/1.1 — HTTP2_REFUSED names the GOAWAY symptom', async () => {
    const result = await probe(dataPlane(), context({ proxy: parseProxyUrl(inspecting.url) }));
    expect(result.http?.status).toBe(404);
    expect(codes(result)).toEqual(['TLS_INTERCEPTED', 'HTTP2_REFUSED']);
    expect(result.findings[1]?.message).toBe(
      `${DATA_PLANE} offered h2 and http/1.1 by ALPN and got http/1.1: a device on the path downgrades HTTP/2 ` +
        '(an inspecting proxy that breaks HTTP/2 shows in the bridge as "http2: server sent GOAWAY")',
    );
  });
});

describe('DNS servers on port 53 (resource bridge)', () => {
  let dns: DnsTestServer;
  let silentPort: number;

  beforeAll(async () => {
    dns = await startDnsServer({ 'management.azure.com': { A: ['127.0.0.9'] } });
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    silentPort = silent.address().port;
    closers.push(
      () => dns.close(),
      () => new Promise<void>((resolve) => silent.close(() => resolve())),
    );
  });

  const dnsTarget = (port: number) =>
    target('127.0.0.1', port, { protocol: 'dns', transport: 'udp', id: `127.0.0.1:${port}/udp` });

  it('a server that answers is reachable', async () => {
    const port = Number(dns.address.split(':').at(-1));
    const result = await probe(dnsTarget(port), context());
    expect(result.verdict).toBe('reachable');
    expect(dns.queries.some((q) => q.name === 'management.azure.com')).toBe(true);
  });

  it('a server that never answers is DNS_PORT_UNREACHABLE', async () => {
    const result = await probeTarget(dnsTarget(silentPort), context(), AbortSignal.timeout(1500));
    expect(result.failure?.code).toBe('DNS_PORT_UNREACHABLE');
    expect(result.verdict).toBe('blocked');
  });
});
