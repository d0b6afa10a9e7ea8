import { X509Certificate } from 'node:crypto';
import * as net from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { completeChain } from '../../lib/probes/certificates';
import { connectTcp } from '../../lib/probes/tcp';
import { tlsHandshake } from '../../lib/probes/tls';
import type { TlsHandshakeResult } from '../../lib/probes/tls';
import { buildTrust } from '../../lib/probes/trust';
import type { TrustConfig } from '../../lib/probes/types';
import { createAzureLikePki, createIntermediate, createLeaf, createRoot } from '../helpers/pki';
import type { Issued } from '../helpers/pki';
import { startTlsServer } from '../helpers/tlsServer';
import type { TlsServer, TlsServerOptions } from '../helpers/tlsServer';

const HOST = 'gbl.his.arc.azure.com';
const DAY = 86_400_000;
const thresholds = { certExpiryWarnDays: 14 };

let azure: { root: Issued; intermediate: Issued };
let inspection: { root: Issued; intermediate: Issued };
let trust: TrustConfig;
let servers: TlsServer[] = [];

beforeAll(async () => {
  azure = await createAzureLikePki();
  const inspectionRoot = await createRoot('Contoso Inspection CA');
  inspection = { root: inspectionRoot, intermediate: await createIntermediate(inspectionRoot, 'Contoso Issuing CA') };
  trust = buildTrust({ expectedRootsPem: azure.root.certPem });
});

afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function serve(opts: Partial<TlsServerOptions> & { leaf?: Issued; intermediates?: Issued[] } = {}) {
  const leaf = opts.leaf ?? (await createLeaf(azure.intermediate, [HOST]));
  const server = await startTlsServer({
    identity: { leaf, intermediates: opts.intermediates ?? [azure.intermediate] },
    ...opts,
  });
  servers.push(server);
  return server;
}

async function handshake(
  server: TlsServer,
  opts: { trust?: TrustConfig; sni?: string; reconnect?: boolean; signal?: AbortSignal; now?: Date } = {},
): Promise<TlsHandshakeResult> {
  const signal = opts.signal ?? AbortSignal.timeout(5000);
  const tcp = await connectTcp(server.host, server.port, signal);
  if (!tcp.ok) throw new Error(tcp.finding.message);
  const reconnect = async () => {
    const again = await connectTcp(server.host, server.port, signal);
    return again.ok ? again.socket : undefined;
  };
  const result = await tlsHandshake(
    tcp.socket,
    opts.sni ?? HOST,
    opts.trust ?? trust,
    signal,
    thresholds,
    opts.now ?? new Date(),
    opts.reconnect === false ? {} : { reconnect },
  );
  if (result.ok) result.tlsSocket.destroy();
  return result;
}

const codes = (r: TlsHandshakeResult) => r.findings.map((f) => f.code);

describe('tlsHandshake with a genuine chain', () => {
  it('captures protocol, cipher, names and the chain up to the genuine root, with no finding', async () => {
    const server = await serve();
    const result = await handshake(server);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.findings).toEqual([]);
    expect(result.facts).toMatchObject({
      sni: HOST,
      protocol: 'TLSv1.3',
      cipher: expect.stringMatching(/^TLS_/) as unknown,
      leaf: { subject: `CN=${HOST}`, sans: [HOST] },
      root: { fingerprint256: azure.root.fingerprint256, genuine: true },
    });
    expect(result.facts.chain.map((c) => c.fingerprint256)).toEqual([
      result.facts.leaf.fingerprint256,
      azure.intermediate.fingerprint256,
      azure.root.fingerprint256,
    ]);
    expect(result.facts.interceptedBy).toBeUndefined();
    expect(result.facts.daysToExpiry).toBe(364);
    expect(server.servernames).toEqual([HOST]);
  });

  it('reports TLS 1.2 when that is the server’s highest version', async () => {
    const server = await serve({ maxVersion: 'TLSv1.2' });
    const result = await handshake(server);
    expect(result.ok && result.facts.protocol).toBe('TLSv1.2');
    expect(result.ok && result.facts.cipher).toMatch(/^TLS_ECDHE_ECDSA_WITH_/);
  });
});

describe('tlsHandshake judging certificates', () => {
  it('flags an inspection CA the machine trusts as TLS_INTERCEPTED only, naming it', async () => {
    const leaf = await createLeaf(inspection.intermediate, [HOST]);
    const server = await serve({ leaf, intermediates: [inspection.intermediate] });
    const trusting = buildTrust({ expectedRootsPem: azure.root.certPem, extraCaPem: [inspection.root.certPem] });
    const result = await handshake(server, { trust: trusting });
    expect(result.ok).toBe(true);
    expect(result.findings).toEqual([
      {
        code: 'TLS_INTERCEPTED',
        phase: 'tls',
        severity: 'degrading',
        message: `the chain for ${HOST} ends at 'Contoso Inspection CA (arcmon tests)' (SHA-256 ${inspection.root.fingerprint256}), not at a Microsoft or DigiCert root: TLS inspection`,
      },
    ]);
    expect(result.ok && result.facts.interceptedBy).toBe('Contoso Inspection CA (arcmon tests)');
    expect(result.ok && result.facts.root).toMatchObject({
      genuine: false,
      fingerprint256: inspection.root.fingerprint256,
    });
  });

  it('adds CERT_UNTRUSTED when the machine does not trust the inspecting CA (root not sent)', async () => {
    const leaf = await createLeaf(inspection.intermediate, [HOST]);
    const server = await serve({ leaf, intermediates: [inspection.intermediate] });
    const result = await handshake(server);
    expect(result.ok).toBe(true);
    expect(result.findings.map((f) => [f.code, f.message])).toEqual([
      [
        'CERT_UNTRUSTED',
        `the chain for ${HOST} stops at 'Contoso Issuing CA', whose issuer 'Contoso Inspection CA (arcmon tests)' is not in the trust store (UNABLE_TO_GET_ISSUER_CERT_LOCALLY)`,
      ],
      [
        'TLS_INTERCEPTED',
        `the chain for ${HOST} ends at 'Contoso Inspection CA (arcmon tests)', not at a Microsoft or DigiCert root: TLS inspection`,
      ],
    ]);
  });

  it('names the untrusted root by fingerprint when the server sends it', async () => {
    const leaf = await createLeaf(inspection.intermediate, [HOST]);
    const server = await serve({ leaf, intermediates: [inspection.intermediate, inspection.root] });
    const result = await handshake(server);
    expect(codes(result)).toEqual(['CERT_UNTRUSTED', 'TLS_INTERCEPTED']);
    expect(result.findings[0]?.message).toBe(
      `the chain for ${HOST} ends at 'Contoso Inspection CA (arcmon tests)', which this machine does not trust (SELF_SIGNED_CERT_IN_CHAIN)`,
    );
    expect(result.findings[1]?.message).toContain(inspection.root.fingerprint256);
  });

  it('is CERT_UNTRUSTED for a self-signed leaf', async () => {
    const selfSigned = await createRoot(HOST);
    const server = await serve({ leaf: selfSigned, intermediates: [] });
    const result = await handshake(server);
    expect(codes(result)).toEqual(['CERT_UNTRUSTED', 'TLS_INTERCEPTED']);
    expect(result.findings[0]?.message).toBe(
      `the chain for ${HOST} ends at '${HOST} (arcmon tests)', which this machine does not trust`,
    );
  });

  it('is CERT_EXPIRED for an expired leaf', async () => {
    const leaf = await createLeaf(azure.intermediate, [HOST], {
      notBefore: new Date(Date.now() - 100 * DAY),
      notAfter: new Date(Date.now() - 2 * DAY),
    });
    const server = await serve({ leaf });
    const result = await handshake(server);
    expect(result.ok).toBe(true);
    expect(codes(result)).toEqual(['CERT_EXPIRED']);
    expect(result.findings[0]).toMatchObject({
      severity: 'blocking',
      message: `the certificate for ${HOST} expired on ${new Date(new X509Certificate(leaf.certPem).validTo).toISOString()}`,
    });
    expect(result.ok && result.facts.daysToExpiry).toBeLessThan(0);
  });

  it('reports both CERT_EXPIRED and CERT_UNTRUSTED when an expired leaf also chains to an unknown root', async () => {
    const leaf = await createLeaf(inspection.intermediate, [HOST], {
      notBefore: new Date(Date.now() - 100 * DAY),
      notAfter: new Date(Date.now() - 2 * DAY),
    });
    const server = await serve({ leaf, intermediates: [inspection.intermediate, inspection.root] });
    const result = await handshake(server);
    expect(codes(result)).toEqual(['CERT_EXPIRED', 'CERT_UNTRUSTED', 'TLS_INTERCEPTED']);
  });

  it('is CERT_NOT_YET_VALID for a leaf from the future', async () => {
    const leaf = await createLeaf(azure.intermediate, [HOST], {
      notBefore: new Date(Date.now() + 2 * DAY),
      notAfter: new Date(Date.now() + 30 * DAY),
    });
    const server = await serve({ leaf });
    const result = await handshake(server);
    expect(codes(result)).toEqual(['CERT_NOT_YET_VALID']);
  });

  it('is CERT_NAME_MISMATCH when the certificate does not cover the host', async () => {
    const leaf = await createLeaf(azure.intermediate, ['other.example', 'www.other.example']);
    const server = await serve({ leaf });
    const result = await handshake(server);
    expect(result.findings).toEqual([
      {
        code: 'CERT_NAME_MISMATCH',
        phase: 'tls',
        severity: 'blocking',
        message: `the certificate presented for ${HOST} covers other.example, www.other.example`,
      },
    ]);
  });

  it('is CERT_NEAR_EXPIRY when the leaf expires within the warning window', async () => {
    const leaf = await createLeaf(azure.intermediate, [HOST], { notAfter: new Date(Date.now() + 5 * DAY - 60_000) });
    const server = await serve({ leaf });
    const result = await handshake(server);
    expect(result.findings.map((f) => [f.code, f.severity])).toEqual([['CERT_NEAR_EXPIRY', 'degrading']]);
    expect(result.findings[0]?.message).toMatch(new RegExp(`^the certificate for ${HOST} expires in 4 days \\(`));
  });
});

describe('completeChain', () => {
  it('finds the omitted root in the trust store by subject and signature', async () => {
    const leaf = await createLeaf(azure.intermediate, [HOST]);
    const presented = [new X509Certificate(leaf.certPem), new X509Certificate(azure.intermediate.certPem)];
    expect(completeChain(presented, trust).map((c) => c.fingerprint256)).toEqual([
      leaf.fingerprint256,
      azure.intermediate.fingerprint256,
      azure.root.fingerprint256,
    ]);
  });

  it('does not take a same-named CA whose key did not sign the chain', async () => {
    const impostor = await createRoot('arcmon Test Global Root G2');
    const leaf = await createLeaf(azure.intermediate, [HOST]);
    const presented = [new X509Certificate(leaf.certPem), new X509Certificate(azure.intermediate.certPem)];
    const impostorTrust = buildTrust({ expectedRootsPem: impostor.certPem });
    expect(completeChain(presented, impostorTrust)).toHaveLength(2);
  });
});

describe('tlsHandshake when the handshake itself fails', () => {
  it('learns the version of a TLS 1.0-only server on a second connection: TLS_VERSION_BELOW_1_2', async () => {
    const server = await serve({ minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' });
    const result = await handshake(server);
    expect(result.ok).toBe(true);
    expect(result.findings).toEqual([
      {
        code: 'TLS_VERSION_BELOW_1_2',
        phase: 'tls',
        severity: 'blocking',
        message: `${HOST} negotiates only TLSv1; it refused TLS 1.2 and later (tlsv1 alert protocol version), and the agent will not go below TLS 1.2`,
      },
    ]);
    expect(result.ok && result.facts.protocol).toBe('TLSv1');
    expect(server.connections).toBe(2);
  });

  it('is TLS_HANDSHAKE_FAILED for a TLS 1.0-only server when it cannot reconnect', async () => {
    const server = await serve({ minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' });
    const result = await handshake(server, { reconnect: false });
    expect(result).toMatchObject({
      ok: false,
      findings: [
        { code: 'TLS_HANDSHAKE_FAILED', message: `TLS handshake with ${HOST} failed: tlsv1 alert protocol version` },
      ],
    });
  });

  it('is TLS_HANDSHAKE_FAILED with the OpenSSL reason when the peer does not speak TLS', async () => {
    const plain = net.createServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n').resume());
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const port = (plain.address() as net.AddressInfo).port;
    try {
      const tcp = await connectTcp('127.0.0.1', port, AbortSignal.timeout(5000));
      if (!tcp.ok) throw new Error(tcp.finding.message);
      const reconnect = async () => {
        const again = await connectTcp('127.0.0.1', port, AbortSignal.timeout(5000));
        return again.ok ? again.socket : undefined;
      };
      const result = await tlsHandshake(tcp.socket, HOST, trust, AbortSignal.timeout(5000), thresholds, new Date(), {
        reconnect,
      });
      expect(result).toMatchObject({
        ok: false,
        findings: [
          { code: 'TLS_HANDSHAKE_FAILED', message: `TLS handshake with ${HOST} failed: wrong version number` },
        ],
      });
    } finally {
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
  });

  it('is TLS_TIMEOUT when the server accepts TCP but never starts TLS', async () => {
    const server = await serve({ behaviour: 'hang-after-accept' });
    const result = await handshake(server, { signal: AbortSignal.timeout(300) });
    expect(result).toMatchObject({
      ok: false,
      findings: [{ code: 'TLS_TIMEOUT', phase: 'tls', message: `TLS handshake with ${HOST} did not finish in time` }],
    });
  });

  it('is CONNECTION_RESET when a middlebox resets the connection on seeing the ClientHello', async () => {
    const server = await serve({ behaviour: 'reset-on-hello' });
    const result = await handshake(server);
    expect(result).toMatchObject({ ok: false, findings: [{ code: 'CONNECTION_RESET', phase: 'tls' }] });
  });
});
