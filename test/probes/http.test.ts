import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest } from '../../lib/probes/http';
import type { HttpRequestOptions } from '../../lib/probes/http';
import { connectTcp } from '../../lib/probes/tcp';
import { tlsHandshake } from '../../lib/probes/tls';
import { buildTrust } from '../../lib/probes/trust';
import type { TrustConfig } from '../../lib/probes/types';
import { createAzureLikePki, createLeaf } from '../helpers/pki';
import type { Issued } from '../helpers/pki';
import { startTlsServer } from '../helpers/tlsServer';
import type { TlsServer, TlsServerOptions } from '../helpers/tlsServer';

const HOST = 'agentserviceapi.guestconfiguration.azure.com';
let trust: TrustConfig;
let identity: { leaf: Issued; intermediates: Issued[] };
let servers: TlsServer[] = [];

beforeAll(async () => {
  const { root, intermediate } = await createAzureLikePki();
  trust = buildTrust({ expectedRootsPem: root.certPem });
  identity = { leaf: await createLeaf(intermediate, [HOST]), intermediates: [intermediate] };
});

afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function get(
  server: Partial<TlsServerOptions>,
  opts: { path?: string; signal?: AbortSignal; maxBodyBytes?: number } & HttpRequestOptions = {},
) {
  const started = await startTlsServer({ identity, ...server });
  servers.push(started);
  const signal = opts.signal ?? AbortSignal.timeout(5000);
  const tcp = await connectTcp(started.host, started.port, signal);
  if (!tcp.ok) throw new Error(tcp.finding.message);
  const tls = await tlsHandshake(tcp.socket, HOST, trust, signal, { certExpiryWarnDays: 14 }, new Date());
  if (!tls.ok) throw new Error(tls.findings[0]?.message);
  const result = await httpRequest(
    tls.tlsSocket,
    HOST,
    started.port,
    opts.path ?? '/',
    signal,
    opts.maxBodyBytes ?? 4096,
    opts,
  );
  return { result, server: started, tlsSocket: tls.tlsSocket };
}

describe('httpRequest', () => {
  it.each([200, 400, 401, 404])('records status %d as success: any answer proves the path', async (status) => {
    const { result, server } = await get({ httpStatus: status }, { path: '/discovery?location=eastus' });
    expect(result).toMatchObject({
      ok: true,
      facts: { status, server: 'arcmon-test', bodyBytes: `{"status":${status}}`.length },
    });
    expect(server.requests).toEqual([
      {
        servername: HOST,
        requestLine: 'GET /discovery?location=eastus HTTP/1.1',
        hostHeader: `${HOST}:${server.port}`,
      },
    ]);
  });

  it('measures time to the response headers within the total', async () => {
    const { result } = await get({ responseDelayMs: 150 });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.firstByteMs).toBeGreaterThanOrEqual(140);
    expect(result.durationMs).toBeGreaterThanOrEqual(result.firstByteMs);
  });

  it('closes the connection when done', async () => {
    const { tlsSocket } = await get({});
    expect(tlsSocket.destroyed).toBe(true);
  });

  it('is HTTP_TIMEOUT when the server completes TLS but never answers', async () => {
    const { result } = await get({ behaviour: 'hang-after-handshake' }, { signal: AbortSignal.timeout(300) });
    expect(result).toMatchObject({
      ok: false,
      finding: {
        code: 'HTTP_TIMEOUT',
        phase: 'http',
        severity: 'blocking',
        message: `no HTTP response from ${HOST} in time`,
      },
    });
  });

  it('is HTTP_PROTOCOL_ERROR when the answer is not HTTP', async () => {
    const { result } = await get({ behaviour: 'garbage-http' });
    expect(result).toMatchObject({ ok: false, finding: { code: 'HTTP_PROTOCOL_ERROR', phase: 'http' } });
    expect(!result.ok && result.finding.message).toMatch(new RegExp(`^${HOST} did not answer with valid HTTP: `));
  });

  it('reads an endless body only up to the cap, then stops', async () => {
    const { result } = await get({ behaviour: 'endless-body' }, { maxBodyBytes: 10_000 });
    expect(result).toMatchObject({ ok: true, facts: { status: 200, bodyBytes: 10_000 } });
  });

  it('stops reading a trickling body at the body budget, still a success', async () => {
    const { result } = await get({ behaviour: 'drip', dripIntervalMs: 50 }, { bodyBudgetMs: 300 });
    expect(result).toMatchObject({ ok: true, facts: { status: 200 } });
    if (!result.ok) return;
    expect(result.facts.bodyBytes).toBeGreaterThan(0);
    expect(result.facts.bodyBytes).toBeLessThan(4096);
  });
});
