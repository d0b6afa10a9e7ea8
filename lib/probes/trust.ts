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

/** The operating system's CA bundle, read at the edge (see `readOsCaBundle` in lib/monitor/setup.ts). */
export interface OsCaBundle {
  /** Where it was read, for reports: e.g. `/etc/ssl/certs/ca-certificates.crt`. */
  path: string;
  pem: string;
}

/** Inputs of {@link buildTrust}. File contents are read by the caller. */
export interface TrustOptions {
  /** CA bundles the machine trusts beyond the OS store (NODE_EXTRA_CA_CERTS). Default none. */
  extraCaPem?: string[];
  /** Contents of an `--expected-roots` file: these roots count as genuine for every host AND are trusted. */
  expectedRootsPem?: string;
  /**
   * The store the agent verifies against: on Linux the distribution's CA bundle (Go reads the same file).
   * Default: Node's bundled roots, labelled as such in reports, for a machine where no bundle was found.
   */
  osCa?: OsCaBundle;
  /**
   * Roots that count as publicly trusted, where third-party hosts' genuine chains end. Default Node's bundled
   * store (`tls.rootCertificates`, Mozilla's list): it does not change when a machine adds an inspection CA.
   */
  publicRootsPem?: readonly string[];
}

const NODE_ROOTS_LABEL = "Node's bundled roots (no OS CA bundle found)";
let nodeRootFingerprints: ReadonlySet<string> | undefined;

function fingerprints(pems: readonly string[]): Set<string> {
  return new Set(pems.map((pem) => new X509Certificate(pem).fingerprint256));
}

/**
 * Builds the trust the TLS probe verifies against, in the agent's order: `ca` = OS store + NODE_EXTRA_CA_CERTS +
 * expected roots (each slice named in `stores`); `genuineRoots` = {@link GENUINE_AZURE_ROOTS} + the expected
 * roots; `publicRoots` = the public store + the expected roots.
 * Throws a configuration error for a bundle without certificates or with one that cannot be parsed.
 */
export function buildTrust(opts: TrustOptions = {}): TrustConfig {
  const os = opts.osCa === undefined ? [...tls.rootCertificates] : splitPemBundle(opts.osCa.pem, opts.osCa.path);
  const extra = (opts.extraCaPem ?? []).flatMap((text, i) => splitPemBundle(text, `extra CA bundle ${i + 1}`));
  const expected =
    opts.expectedRootsPem === undefined ? [] : splitPemBundle(opts.expectedRootsPem, 'expected roots file');
  const expectedFingerprints = fingerprints(expected);
  const genuineRoots = new Set([...GENUINE_AZURE_ROOTS.keys(), ...expectedFingerprints]);
  let publicBase: ReadonlySet<string>;
  if (opts.publicRootsPem === undefined) {
    nodeRootFingerprints ??= fingerprints(tls.rootCertificates);
    publicBase = nodeRootFingerprints;
  } else {
    publicBase = fingerprints(opts.publicRootsPem);
  }
  return {
    ca: [...os, ...extra, ...expected],
    stores: [
      { label: opts.osCa === undefined ? NODE_ROOTS_LABEL : `OS store ${opts.osCa.path}`, count: os.length },
      { label: 'NODE_EXTRA_CA_CERTS', count: extra.length },
      { label: '--expected-roots', count: expected.length },
    ],
    genuineRoots,
    publicRoots: new Set([...publicBase, ...expectedFingerprints]),
  };
}
