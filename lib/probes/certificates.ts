import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { CertificateFacts, TrustConfig } from './types';

const DAY_MS = 86_400_000;
/** Longest chain walked; real chains are 2-4 deep, this only stops loops. */
const MAX_CHAIN = 10;

/** Node renders names one attribute per line; facts show them on one line, as `CN=x, O=y`. */
export function formatName(name: string): string {
  return name
    .split('\n')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .join(', ');
}

/** The value of one attribute (e.g. `CN`, `O`) of a distinguished name, as Node renders it. */
export function nameAttribute(name: string, attribute: string): string | undefined {
  for (const part of name.split(/\n|, (?=[A-Za-z.0-9]+=)/)) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim().toUpperCase() === attribute.toUpperCase()) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** How a CA is named to people: its CN, with its organisation when it has one (`Contoso Inspection CA (Contoso)`). */
export function caDisplayName(subject: string): string {
  const cn = nameAttribute(subject, 'CN');
  const org = nameAttribute(subject, 'O');
  if (cn === undefined) return formatName(subject);
  return org === undefined || org === cn ? cn : `${cn} (${org})`;
}

/** DNS names of the subjectAltName extension. */
export function dnsNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4));
}

// Facts and self-signed checks are pure functions of the certificate; a cycle meets the same few chains over and
// over, so they are kept by fingerprint (bounded) instead of parsed again for every probe.
const FACTS_CACHE_LIMIT = 2048;
const factsByFingerprint = new Map<string, CertificateFacts>();
const selfSignedByFingerprint = new Map<string, boolean>();

function remember<V>(cache: Map<string, V>, key: string, value: V): V {
  if (cache.size >= FACTS_CACHE_LIMIT) cache.clear();
  cache.set(key, value);
  return value;
}

/** The facts a result keeps about one certificate. */
export function certificateFacts(cert: X509Certificate): CertificateFacts {
  const cached = factsByFingerprint.get(cert.fingerprint256);
  if (cached) return cached;
  return remember(factsByFingerprint, cert.fingerprint256, {
    subject: formatName(cert.subject),
    issuer: formatName(cert.issuer),
    sans: dnsNames(cert),
    validFrom: new Date(cert.validFrom).toISOString(),
    validTo: new Date(cert.validTo).toISOString(),
    fingerprint256: cert.fingerprint256,
    serialNumber: cert.serialNumber,
  });
}

/** Self-signed: issued by itself and its signature verifies with its own key. */
export function isSelfSigned(cert: X509Certificate): boolean {
  const cached = selfSignedByFingerprint.get(cert.fingerprint256);
  if (cached !== undefined) return cached;
  return remember(selfSignedByFingerprint, cert.fingerprint256, cert.checkIssued(cert) && cert.verify(cert.publicKey));
}

function issuedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  return child.checkIssued(issuer) && child.verify(issuer.publicKey);
}

/**
 * The peer's chain, leaf first, as Node assembled it (peer-sent certificates in issuance order, completed
 * from the connection's CA store where it could). Empty when the peer sent no certificate.
 */
export function peerChain(socket: TLSSocket): X509Certificate[] {
  // getPeerX509Certificate links each certificate to its issuer natively; the legacy getPeerCertificate(true)
  // builds a JavaScript object per certificate first, which costs more than the rest of the chain judgement.
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  let current: X509Certificate | undefined = socket.getPeerX509Certificate();
  while (current !== undefined && chain.length < MAX_CHAIN && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    chain.push(current);
    current = current.issuerCertificate;
  }
  return chain;
}

// Parsing a whole CA store costs tens of milliseconds; a TrustConfig is built once per cycle, so parse it once.
interface ParsedStore {
  bySubject: Map<string, X509Certificate[]>;
  /** Fingerprint → label of the first store (`trust.stores`) holding that certificate. */
  anchors: Map<string, string>;
}
const parsedStores = new WeakMap<TrustConfig, ParsedStore>();

function parsedStore(trust: TrustConfig): ParsedStore {
  const known = parsedStores.get(trust);
  if (known !== undefined) return known;
  const parsed: ParsedStore = { bySubject: new Map(), anchors: new Map() };
  const labels = trust.stores.flatMap((store) => Array<string>(store.count).fill(store.label));
  trust.ca.forEach((pem, index) => {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch {
      return;
    }
    const list = parsed.bySubject.get(cert.subject) ?? [];
    list.push(cert);
    parsed.bySubject.set(cert.subject, list);
    const label = labels[index];
    if (label !== undefined && !parsed.anchors.has(cert.fingerprint256)) parsed.anchors.set(cert.fingerprint256, label);
  });
  parsedStores.set(trust, parsed);
  return parsed;
}

function storeBySubject(trust: TrustConfig): Map<string, X509Certificate[]> {
  return parsedStore(trust).bySubject;
}

/**
 * The label of the trust store (`trust.stores`) that holds `cert` itself, by fingerprint; the first store wins,
 * as in the agent's pool. Undefined when no store holds it.
 */
export function anchoringStore(cert: X509Certificate, trust: TrustConfig): string | undefined {
  return parsedStore(trust).anchors.get(cert.fingerprint256);
}

/**
 * Completes a chain up to its root: while the last certificate is not self-signed, looks its issuer up in
 * `trust.ca` by subject and signature, so a server that omits the root still yields the root's fingerprint.
 * Returns the chain unchanged (ending at the topmost certificate known) when the issuer is not in the store.
 */
export function completeChain(chain: readonly X509Certificate[], trust: TrustConfig): X509Certificate[] {
  const completed = [...chain];
  while (completed.length > 0 && completed.length < MAX_CHAIN) {
    const top = completed[completed.length - 1];
    if (top === undefined || isSelfSigned(top)) break;
    const issuer = issuerInStore(top, trust);
    if (issuer === undefined || completed.some((c) => c.fingerprint256 === issuer.fingerprint256)) break;
    completed.push(issuer);
  }
  return completed;
}

const issuerCache = new WeakMap<TrustConfig, Map<string, X509Certificate | null>>();

/** The store certificate that issued `cert` (by subject and signature), remembered per trust store. */
function issuerInStore(cert: X509Certificate, trust: TrustConfig): X509Certificate | undefined {
  let cache = issuerCache.get(trust);
  if (cache === undefined) {
    cache = new Map();
    issuerCache.set(trust, cache);
  }
  const known = cache.get(cert.fingerprint256);
  if (known !== undefined) return known ?? undefined;
  const found = storeBySubject(trust)
    .get(cert.issuer)
    ?.find((candidate) => issuedBy(cert, candidate));
  return remember(cache, cert.fingerprint256, found ?? null) ?? undefined;
}

/** Whether `cert` itself is one of the trusted CAs (same fingerprint). */
export function isInStore(cert: X509Certificate, trust: TrustConfig): boolean {
  return (storeBySubject(trust).get(cert.subject) ?? []).some((c) => c.fingerprint256 === cert.fingerprint256);
}

/** Whole days from `now` until the certificate expires; negative once expired. */
export function daysToExpiry(cert: X509Certificate | CertificateFacts, now: Date): number {
  return Math.floor((Date.parse(cert.validTo) - now.getTime()) / DAY_MS);
}
