import { X509Certificate } from 'node:crypto';
import * as tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { GENUINE_AZURE_ROOTS } from '../../lib/probes/roots';
import { buildTrust, splitPemBundle } from '../../lib/probes/trust';
import { createAzureLikePki, createRoot } from '../helpers/pki';

const nodeStore = new Map(
  tls.rootCertificates.map((pem) => {
    const cert = new X509Certificate(pem);
    return [cert.fingerprint256, /CN=(.*)/.exec(cert.subject)?.[1]] as const;
  }),
);

describe('genuine Azure roots', () => {
  it.each([...GENUINE_AZURE_ROOTS])('%s is in Node’s bundled store as %s', (fingerprint, name) => {
    expect(nodeStore.get(fingerprint)).toBe(name);
  });

  it('covers the roots genuine Azure chains end at', () => {
    expect([...GENUINE_AZURE_ROOTS.values()].sort()).toEqual([
      'DigiCert Global Root CA',
      'DigiCert Global Root G2',
      'DigiCert Global Root G3',
      'Microsoft ECC Root Certificate Authority 2017',
      'Microsoft RSA Root Certificate Authority 2017',
    ]);
  });
});

describe('buildTrust', () => {
  it('trusts the system store plus extra CAs and expected roots, and counts only expected roots as genuine', async () => {
    const { root } = await createAzureLikePki();
    const inspection = await createRoot('Contoso Inspection CA');
    const trust = buildTrust({ extraCaPem: [inspection.certPem], expectedRootsPem: root.certPem });

    expect(trust.ca).toHaveLength(tls.rootCertificates.length + 2);
    expect(trust.genuineRoots.has(root.fingerprint256)).toBe(true);
    expect(trust.genuineRoots.has(inspection.fingerprint256)).toBe(false);
    for (const fingerprint of GENUINE_AZURE_ROOTS.keys()) expect(trust.genuineRoots.has(fingerprint)).toBe(true);
  });

  it('reads every certificate of a bundle', async () => {
    const a = await createRoot('A');
    const b = await createRoot('B');
    const pems = splitPemBundle(`# comment\r\n${a.certPem}\r\ntext between\r\n${b.certPem}`);
    expect(pems.map((pem) => new X509Certificate(pem).fingerprint256)).toEqual([a.fingerprint256, b.fingerprint256]);
  });

  it.each([
    ['', 'expected roots file: no certificate found (expected -----BEGIN CERTIFICATE----- blocks)'],
    [
      '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n',
      'expected roots file: no certificate found (expected -----BEGIN CERTIFICATE----- blocks)',
    ],
  ])('rejects a file without certificates (%j)', (text, message) => {
    expect(() => buildTrust({ expectedRootsPem: text })).toThrow(message);
  });

  it('names a certificate that cannot be parsed', () => {
    expect(() =>
      splitPemBundle('-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----', 'roots.pem'),
    ).toThrow(/^roots\.pem: certificate 1 cannot be parsed: /);
  });
});
