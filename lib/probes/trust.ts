import { X509Certificate } from 'node:crypto';
import * as tls from 'node:tls';
import { GENUINE_AZURE_ROOTS } from './roots';
import type { TrustConfig } from './types';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * Splits a PEM bundle into one PEM string per certificate, checking each parses.
 * Throws when the text holds no certificate or one that cannot be parsed.
 * @param source names the file or setting in error messages. Default `PEM bundle`.
 */
export function splitPemBundle(text: string, source = 'PEM bundle'): string[] {
  const blocks = text.replace(/\r\n/g, '\n').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    throw new Error(`${source}: no certificate found (expected -----BEGIN CERTIFICATE----- blocks)`);
  }
  return blocks.map((pem, index) => {
    try {
      new X509Certificate(pem);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`${source}: certificate ${index + 1} cannot be parsed: ${reason}`);
    }
    return `${pem}\n`;
  });
}

/** Inputs of {@link buildTrust}. File contents are read by the caller. */
export interface TrustOptions {
  /** CA bundles the machine trusts beyond the system store (NODE_EXTRA_CA_CERTS and the like). Default none. */
  extraCaPem?: string[];
  /** Contents of an `--expected-roots` file: these roots count as genuine Azure roots AND are trusted. */
  expectedRootsPem?: string;
  /** The base store. Default Node's bundled roots (`tls.rootCertificates`). */
  systemCaPem?: readonly string[];
}

/**
 * Builds the trust the TLS probe verifies against: `ca` = system roots + extra CAs + expected roots;
 * `genuineRoots` = {@link GENUINE_AZURE_ROOTS} + the expected roots' fingerprints.
 * Throws a configuration error for a bundle without certificates.
 */
export function buildTrust(opts: TrustOptions = {}): TrustConfig {
  const extra = (opts.extraCaPem ?? []).flatMap((text, i) => splitPemBundle(text, `extra CA bundle ${i + 1}`));
  const expected =
    opts.expectedRootsPem === undefined ? [] : splitPemBundle(opts.expectedRootsPem, 'expected roots file');
  const genuineRoots = new Set(GENUINE_AZURE_ROOTS.keys());
  for (const pem of expected) genuineRoots.add(new X509Certificate(pem).fingerprint256);
  return { ca: [...(opts.systemCaPem ?? tls.rootCertificates), ...extra, ...expected], genuineRoots };
}
