import { X509Certificate } from 'node:crypto';

/** Why one certificate block of a PEM text could not be used. */
export type PemCertificateFault = 'not-base64' | 'not-x509';

/** What {@link readPemCertificates} found in a text. */
export type PemCertificates =
  /** `pem`: every certificate, re-wrapped in canonical PEM (64-column base64, `\n` line ends). */
  | { ok: true; pem: string; count: number }
  | { ok: false; problem: 'no-certificate' }
  | { ok: false; problem: 'unparsable'; count: number; faults: { index: number; fault: PemCertificateFault }[] };

const BLOCK = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Reads the certificates of a PEM text: one or more `-----BEGIN CERTIFICATE-----` blocks, anything between them
 * ignored (comments, other blocks). Each body is re-wrapped before it is parsed, because an app setting rarely keeps
 * the line breaks of a PEM file: the portal and `azd env set` flatten them to spaces, some tools write `\n` escapes.
 */
export function readPemCertificates(text: string): PemCertificates {
  const bodies = [...text.replace(/\\r\\n|\\n/g, '\n').matchAll(BLOCK)].map((m) => (m[1] ?? '').replace(/\s+/g, ''));
  if (bodies.length === 0) return { ok: false, problem: 'no-certificate' };
  const pems: string[] = [];
  const faults: { index: number; fault: PemCertificateFault }[] = [];
  for (const [i, body] of bodies.entries()) {
    if (!BASE64.test(body)) {
      faults.push({ index: i + 1, fault: 'not-base64' });
      continue;
    }
    const pem = `-----BEGIN CERTIFICATE-----\n${(body.match(/.{1,64}/g) ?? []).join('\n')}\n-----END CERTIFICATE-----\n`;
    try {
      new X509Certificate(pem);
      pems.push(pem);
    } catch {
      faults.push({ index: i + 1, fault: 'not-x509' });
    }
  }
  if (faults.length > 0) return { ok: false, problem: 'unparsable', count: bodies.length, faults };
  return { ok: true, pem: pems.join(''), count: pems.length };
}

/** The reason of a fault, as messages put it. */
export function faultText(fault: PemCertificateFault): string {
  return fault === 'not-base64' ? 'its body is not base64' : 'it is not an X.509 certificate';
}
