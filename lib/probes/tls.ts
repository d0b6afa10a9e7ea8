import type { X509Certificate } from 'node:crypto';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import type { GenuineCa } from '../catalog/types';
import {
  anchoringStore,
  caDisplayName,
  certificateFacts,
  completeChain,
  daysToExpiry,
  formatName,
  isInStore,
  isSelfSigned,
  nameAttribute,
  peerChain,
} from './certificates';
import { finding } from './result';
import { errorCode } from './tcp';
import type { Finding, ProbeThresholds, TlsFacts, TrustConfig } from './types';

const DAY_MS = 86_400_000;

/** OpenSSL verification results meaning "no path to a trusted root". */
const UNTRUSTED_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

/** Handshake errors that mean "we and the server share no protocol version". */
const VERSION_ERRORS = new Set([
  'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
  'ERR_SSL_UNSUPPORTED_PROTOCOL',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_NO_PROTOCOLS_AVAILABLE',
]);

/** Options of {@link tlsHandshake}. */
export interface TlsHandshakeOptions {
  /**
   * Opens a fresh connection to the same endpoint (directly or through the same proxy); resolves undefined when
   * that fails. Used once, only when the server refuses TLS 1.2 and later, to learn which older version it
   * speaks. Without it, such a server is reported as TLS_HANDSHAKE_FAILED.
   */
  reconnect?: () => Promise<net.Socket | Duplex | undefined>;
  /** What a genuine chain for this host ends at (the catalog entry says). Default `microsoft`. */
  genuineCa?: GenuineCa;
}

/** Outcome of the TLS phase. `ok` means a TLS session exists; its findings may still block (e.g. CERT_EXPIRED). */
export type TlsHandshakeResult =
  | { ok: true; tlsSocket: tls.TLSSocket; facts: TlsFacts; findings: Finding[]; durationMs: number }
  | { ok: false; findings: Finding[]; facts?: TlsFacts; durationMs: number };

type Attempt =
  | { kind: 'secure'; tlsSocket: tls.TLSSocket }
  | { kind: 'error'; error: Error }
  | { kind: 'closed' }
  | { kind: 'aborted' };

// Building a context from the full CA store costs ~25 ms of CPU; a TrustConfig is built once per cycle.
const modernContexts = new WeakMap<TrustConfig, tls.SecureContext>();

function modernContext(trust: TrustConfig): tls.SecureContext {
  let context = modernContexts.get(trust);
  if (context === undefined) {
    context = tls.createSecureContext({ ca: trust.ca, minVersion: 'TLSv1.2' });
    modernContexts.set(trust, context);
  }
  return context;
}

/** Only for learning the version of a server that refuses TLS 1.2+: never used to carry on silently. */
function legacyContext(trust: TrustConfig): tls.SecureContext {
  return tls.createSecureContext({ ca: trust.ca, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' });
}

function handshake(
  socket: net.Socket | Duplex,
  sni: string,
  context: tls.SecureContext,
  signal: AbortSignal,
): Promise<Attempt> {
  if (signal.aborted) {
    socket.destroy();
    return Promise.resolve({ kind: 'aborted' });
  }
  return new Promise((resolve) => {
    const tlsSocket = tls.connect({
      socket,
      // RFC 6066 forbids IP literals as SNI; the certificate check below still uses the IP.
      ...(net.isIP(sni) === 0 ? { servername: sni } : {}),
      secureContext: context,
      rejectUnauthorized: false,
      // The certificate is judged below, after the chain has been captured.
      checkServerIdentity: () => undefined,
      ALPNProtocols: ['http/1.1'],
    });
    const done = (attempt: Attempt) => {
      signal.removeEventListener('abort', onAbort);
      tlsSocket.removeListener('secureConnect', onSecure);
      tlsSocket.removeListener('error', onError);
      tlsSocket.removeListener('close', onClose);
      tlsSocket.on('error', ignore);
      if (attempt.kind !== 'secure') {
        tlsSocket.destroy();
        socket.destroy();
      }
      resolve(attempt);
    };
    const onSecure = () => done({ kind: 'secure', tlsSocket });
    const onError = (error: Error) => done({ kind: 'error', error });
    const onClose = () => done({ kind: 'closed' });
    const onAbort = () => done({ kind: 'aborted' });
    tlsSocket.once('secureConnect', onSecure);
    tlsSocket.once('error', onError);
    tlsSocket.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function ignore(): void {}

function reasonOf(error: Error): string {
  const reason = (error as Error & { reason?: unknown }).reason;
  return typeof reason === 'string' && reason !== '' ? reason : error.message;
}

function isReset(error: Error): boolean {
  const code = errorCode(error);
  return code === 'ECONNRESET' || code === 'EPIPE';
}

function failureOf(attempt: Exclude<Attempt, { kind: 'secure' }>, sni: string): Finding {
  switch (attempt.kind) {
    case 'aborted':
      return finding('TLS_TIMEOUT', `TLS handshake with ${sni} did not finish in time`);
    case 'closed':
      return finding('CONNECTION_RESET', `connection closed during the TLS handshake with ${sni}`);
    case 'error':
      if (isReset(attempt.error)) {
        return finding('CONNECTION_RESET', `connection reset during the TLS handshake with ${sni}`);
      }
      return finding('TLS_HANDSHAKE_FAILED', `TLS handshake with ${sni} failed: ${reasonOf(attempt.error)}`);
  }
}

function certName(cert: X509Certificate): string {
  return nameAttribute(cert.subject, 'CN') ?? formatName(cert.subject);
}

/** Judges the presented chain: validity dates, trust, name, interception, near expiry. */
function judge(
  tlsSocket: tls.TLSSocket,
  chain: X509Certificate[],
  sni: string,
  trust: TrustConfig,
  thresholds: Pick<ProbeThresholds, 'certExpiryWarnDays'>,
  now: Date,
  expectedCa: GenuineCa,
): { facts: TlsFacts; findings: Finding[] } | undefined {
  const leaf = chain[0];
  const root = chain[chain.length - 1];
  if (leaf === undefined || root === undefined) return undefined;
  const findings: Finding[] = [];
  const leafText = `the certificate for ${sni}`;
  const describe = (cert: X509Certificate) => (cert === leaf ? leafText : `CA certificate '${certName(cert)}'`);

  const expired = chain.find((cert) => Date.parse(cert.validTo) < now.getTime());
  const early = chain.find((cert) => Date.parse(cert.validFrom) > now.getTime());
  // Typed as Error, but Node sets the OpenSSL code as a string (e.g. CERT_HAS_EXPIRED).
  const verifyError: unknown = tlsSocket.authorizationError;
  const verifyCode =
    typeof verifyError === 'string'
      ? verifyError
      : verifyError instanceof Error
        ? (errorCode(verifyError) ?? verifyError.message)
        : undefined;
  if (expired !== undefined) {
    findings.push(
      finding('CERT_EXPIRED', `${describe(expired)} expired on ${new Date(expired.validTo).toISOString()}`),
    );
  } else if (verifyCode === 'CERT_HAS_EXPIRED') {
    findings.push(finding('CERT_EXPIRED', `${leafText}: the TLS library reports an expired certificate in the chain`));
  }
  if (early !== undefined) {
    findings.push(
      finding('CERT_NOT_YET_VALID', `${describe(early)} is valid only from ${new Date(early.validFrom).toISOString()}`),
    );
  } else if (verifyCode === 'CERT_NOT_YET_VALID') {
    findings.push(finding('CERT_NOT_YET_VALID', `${leafText}: the TLS library reports a certificate not valid yet`));
  }

  const rootKnown = isSelfSigned(root);
  const caName = caDisplayName(rootKnown ? root.subject : root.issuer);
  const rootNotTrusted = rootKnown
    ? `ends at '${caName}', which this machine does not trust`
    : `stops at '${certName(root)}', whose issuer '${caName}' is not in the trust store`;
  // OpenSSL keeps only its last verification error (date errors come after trust errors), so whenever it
  // reports one that is not about trust, the root is checked against the store here as well.
  if (verifyCode !== undefined && UNTRUSTED_CODES.has(verifyCode)) {
    findings.push(finding('CERT_UNTRUSTED', `the chain for ${sni} ${rootNotTrusted} (${verifyCode})`));
  } else if (verifyCode !== undefined) {
    const dateCode = verifyCode === 'CERT_HAS_EXPIRED' || verifyCode === 'CERT_NOT_YET_VALID';
    if (!(rootKnown && isInStore(root, trust))) {
      findings.push(finding('CERT_UNTRUSTED', `the chain for ${sni} ${rootNotTrusted}`));
    } else if (!dateCode) {
      findings.push(finding('CERT_UNTRUSTED', `the chain for ${sni} fails verification (${verifyCode})`));
    }
  }

  // The native name check (RFC 6125 rules, as tls.checkServerIdentity) on the parsed leaf: no second conversion
  // of the peer certificate into a JavaScript object.
  const covered = net.isIP(sni) ? leaf.checkIP(sni) : leaf.checkHost(sni);
  if (covered === undefined) {
    const sans = certificateFacts(leaf).sans;
    const covers = sans.length > 0 ? sans.join(', ') : `only CN ${certName(leaf)}`;
    findings.push(finding('CERT_NAME_MISMATCH', `the certificate presented for ${sni} covers ${covers}`));
  }

  const genuine =
    trust.genuineRoots.has(root.fingerprint256) ||
    (expectedCa === 'public' && rootKnown && trust.publicRoots.has(root.fingerprint256));
  if (!genuine) {
    const fingerprint = rootKnown ? ` (SHA-256 ${root.fingerprint256})` : '';
    const expected = expectedCa === 'public' ? 'a publicly trusted root' : 'a Microsoft or DigiCert root';
    findings.push(
      finding(
        'TLS_INTERCEPTED',
        `the chain for ${sni} ends at '${caName}'${fingerprint}, not at ${expected}: TLS inspection`,
      ),
    );
  }
  const untrusted = findings.some((f) => f.code === 'CERT_UNTRUSTED');
  const anchoredBy = rootKnown && !untrusted ? anchoringStore(root, trust) : undefined;

  const msLeft = Date.parse(leaf.validTo) - now.getTime();
  if (msLeft >= 0 && msLeft < thresholds.certExpiryWarnDays * DAY_MS) {
    findings.push(
      finding(
        'CERT_NEAR_EXPIRY',
        `${leafText} expires in ${daysToExpiry(leaf, now)} days (${new Date(leaf.validTo).toISOString()})`,
      ),
    );
  }

  const cipher = tlsSocket.getCipher();
  const facts: TlsFacts = {
    sni,
    protocol: tlsSocket.getProtocol() ?? 'unknown',
    cipher: cipher.standardName ?? cipher.name,
    leaf: certificateFacts(leaf),
    chain: chain.map(certificateFacts),
    root: { ...certificateFacts(root), genuine, ...(anchoredBy === undefined ? {} : { anchoredBy }) },
    expectedCa,
    ...(genuine ? {} : { interceptedBy: caName }),
    daysToExpiry: daysToExpiry(leaf, now),
  };
  return { facts, findings };
}

/**
 * Runs the TLS handshake on an established connection (direct or a proxy tunnel) with SNI `sni`, verifying
 * against `trust.ca` with TLS 1.2 as the floor, and judges the certificate itself so the chain facts are
 * always captured: CERT_EXPIRED, CERT_NOT_YET_VALID, CERT_UNTRUSTED, CERT_NAME_MISMATCH, CERT_NEAR_EXPIRY
 * (leaf within `thresholds.certExpiryWarnDays`), and TLS_INTERCEPTED when the root is not genuine for this host
 * (`options.genuineCa`: a Microsoft/DigiCert root in `trust.genuineRoots`, or for `public` hosts any root in
 * `trust.publicRoots`; severity left at its default: the layered probe decides it per target). The facts name
 * the store that anchored the chain (`root.anchoredBy`).
 * A server refusing TLS 1.2+ is retried once over `options.reconnect` allowing TLS 1.0 to learn its version
 * (TLS_VERSION_BELOW_1_2, then carries on). Reset → CONNECTION_RESET; `signal` aborted → TLS_TIMEOUT.
 * Never rejects. On `ok` the caller owns `tlsSocket`; on failure every socket is destroyed.
 */
export async function tlsHandshake(
  socket: net.Socket | Duplex,
  sni: string,
  trust: TrustConfig,
  signal: AbortSignal,
  thresholds: Pick<ProbeThresholds, 'certExpiryWarnDays'>,
  now: Date,
  options: TlsHandshakeOptions = {},
): Promise<TlsHandshakeResult> {
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const findings: Finding[] = [];

  let attempt = await handshake(socket, sni, modernContext(trust), signal);
  if (attempt.kind === 'error' && VERSION_ERRORS.has(errorCode(attempt.error) ?? '')) {
    const refusal = reasonOf(attempt.error);
    const fresh = options.reconnect && !signal.aborted ? await options.reconnect() : undefined;
    if (fresh === undefined) {
      if (signal.aborted) return { ok: false, findings: [failureOf({ kind: 'aborted' }, sni)], durationMs: elapsed() };
      return {
        ok: false,
        findings: [finding('TLS_HANDSHAKE_FAILED', `TLS handshake with ${sni} failed: ${refusal}`)],
        durationMs: elapsed(),
      };
    }
    const legacy = await handshake(fresh, sni, legacyContext(trust), signal);
    if (legacy.kind === 'secure') {
      const version = legacy.tlsSocket.getProtocol() ?? 'an unknown version';
      if (version !== 'TLSv1.2' && version !== 'TLSv1.3') {
        findings.push(
          finding(
            'TLS_VERSION_BELOW_1_2',
            `${sni} negotiates only ${version}; it refused TLS 1.2 and later (${refusal}), and the agent will not go below TLS 1.2`,
          ),
        );
      }
      attempt = legacy;
    } else if (legacy.kind === 'aborted') {
      attempt = legacy;
    } else {
      return {
        ok: false,
        findings: [finding('TLS_HANDSHAKE_FAILED', `TLS handshake with ${sni} failed: ${refusal}`)],
        durationMs: elapsed(),
      };
    }
  }
  if (attempt.kind !== 'secure') return { ok: false, findings: [failureOf(attempt, sni)], durationMs: elapsed() };

  const { tlsSocket } = attempt;
  const chain = completeChain(peerChain(tlsSocket), trust);
  const judged = judge(tlsSocket, chain, sni, trust, thresholds, now, options.genuineCa ?? 'microsoft');
  if (judged === undefined) {
    tlsSocket.destroy();
    return {
      ok: false,
      findings: [finding('TLS_HANDSHAKE_FAILED', `${sni} completed the handshake without a certificate`)],
      durationMs: elapsed(),
    };
  }
  return {
    ok: true,
    tlsSocket,
    facts: judged.facts,
    findings: [...findings, ...judged.findings],
    durationMs: elapsed(),
  };
}
