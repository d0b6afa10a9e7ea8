/**
 * Test PKI: generates real X.509 chains in-process (no files, no openssl spawn) so tests can stand up
 * "Azure-like" servers (test root -> intermediate -> leaf), inspection CAs, expired and mismatched certificates.
 */
import { webcrypto, X509Certificate } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface Issued {
  certPem: string;
  keyPem: string;
  /** Uppercase colon-separated SHA-256 fingerprint (Node's `fingerprint256`). */
  fingerprint256: string;
  subject: string;
  /** For signing children. */
  readonly signer: { cert: x509.X509Certificate; keys: CryptoKeyPair };
}

export interface IssueOptions {
  notBefore?: Date;
  notAfter?: Date;
}

let serial = 1;
const nextSerial = () => (serial++).toString(16).padStart(8, '0') + Date.now().toString(16);

async function toIssued(cert: x509.X509Certificate, keys: CryptoKeyPair): Promise<Issued> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const keyPem = x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
  const certPem = cert.toString('pem');
  return {
    certPem,
    keyPem,
    fingerprint256: new X509Certificate(certPem).fingerprint256,
    subject: cert.subject,
    signer: { cert, keys },
  };
}

async function caExtensions(keys: CryptoKeyPair, pathLen?: number): Promise<x509.Extension[]> {
  return [
    new x509.BasicConstraintsExtension(true, pathLen, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
}

/** A self-signed root CA. */
export async function createRoot(commonName: string, opts: IssueOptions = {}): Promise<Issued> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const name = `CN=${commonName}, O=arcmon tests`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name,
    notBefore: opts.notBefore ?? new Date(Date.now() - DAY),
    notAfter: opts.notAfter ?? new Date(Date.now() + 3650 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: await caExtensions(keys),
  });
  return toIssued(cert, keys);
}

/** An intermediate CA signed by `issuer`. */
export async function createIntermediate(issuer: Issued, commonName: string, opts: IssueOptions = {}): Promise<Issued> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: `CN=${commonName}, O=arcmon tests`,
    issuer: issuer.signer.cert.subject,
    notBefore: opts.notBefore ?? new Date(Date.now() - DAY),
    notAfter: opts.notAfter ?? new Date(Date.now() + 1825 * DAY),
    signingKey: issuer.signer.keys.privateKey,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      ...(await caExtensions(keys, 0)),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.signer.cert),
    ],
  });
  return toIssued(cert, keys);
}

/** A server certificate for `hosts` (DNS names or IPs) signed by `issuer`. */
export async function createLeaf(issuer: Issued, hosts: string[], opts: IssueOptions = {}): Promise<Issued> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const isIp = (h: string) => /^[\d.]+$/.test(h) || h.includes(':');
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: `CN=${hosts[0] ?? 'localhost'}`,
    issuer: issuer.signer.cert.subject,
    notBefore: opts.notBefore ?? new Date(Date.now() - DAY),
    notAfter: opts.notAfter ?? new Date(Date.now() + 365 * DAY),
    signingKey: issuer.signer.keys.privateKey,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(hosts.map((h) => ({ type: isIp(h) ? 'ip' : 'dns', value: h }))),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.signer.cert),
    ],
  });
  return toIssued(cert, keys);
}

/** An "Azure-like" PKI: a test root (to be passed as a genuine root) and an issuing intermediate. */
export async function createAzureLikePki(): Promise<{ root: Issued; intermediate: Issued }> {
  const root = await createRoot('arcmon Test Global Root G2');
  const intermediate = await createIntermediate(root, 'arcmon Test Azure RSA TLS Issuing CA 03');
  return { root, intermediate };
}

/**
 * A second, non-Microsoft "public" PKI, as a third-party host (pypi.org on Fastly/GlobalSign) or a user's own
 * endpoint presents: a root the tests pass as publicly trusted (`publicRootsPem`) but never as a Microsoft root.
 */
export async function createPublicLikePki(): Promise<{ root: Issued; intermediate: Issued }> {
  const root = await createRoot('arcmon Test Public Root R3');
  const intermediate = await createIntermediate(root, 'arcmon Test Public Issuing CA 2025');
  return { root, intermediate };
}
