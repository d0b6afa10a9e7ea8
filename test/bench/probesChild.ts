/**
 * Child-process side of the probe benchmark (test/bench/probes.ts). Started by it as
 * `node --import tsx test/bench/probesChild.ts <serve|rss>` with an IPC channel:
 * - `serve` hosts the loopback endpoints (one DNS server, three TLS servers) in a process of their own, so the
 *   monitor's CPU time and event loop are measured alone, as in the field where endpoints are other machines.
 *   It sends a {@link ServeReady} message and closes everything on `stop`, when the parent goes away, or after
 *   {@link SERVE_LIMIT_MS} at the latest.
 * - `rss` runs one {@link RSS_TARGETS}-target cycle in a fresh process against servers it hosts itself and
 *   sends its memory figures ({@link RssReport}), then closes its servers and exits.
 */
import type { Target } from '../../lib/catalog/types';
import { runCycle } from '../../lib/monitor/cycle';
import { DEFAULT_THRESHOLDS } from '../../lib/monitor/setup';
import { buildTrust, createResolver, probeTarget } from '../../lib/probes';
import type { ProbeContext } from '../../lib/probes/types';
import { startDnsServer } from '../helpers/dnsServer';
import type { DnsTestRecord } from '../helpers/dnsServer';
import { createAzureLikePki, createLeaf } from '../helpers/pki';
import type { ServerIdentity } from '../helpers/tlsServer';
import { startTlsServer } from '../helpers/tlsServer';

/** Every bench name is `<label>.bench.arcmon.test`; the servers' leaf covers `*.bench.arcmon.test`. */
export const BENCH_DOMAIN = 'bench.arcmon.test';
/** Handshake delay of the "delayed" server, measurement (a). */
export const HANDSHAKE_DELAY_MS = 50;
/** Targets of the memory cycle, measurement (d). */
export const RSS_TARGETS = 1000;
/** A serving child closes by itself after this long, whatever the parent does. */
export const SERVE_LIMIT_MS = 240_000;

/** Name sets the DNS server answers (each name → 127.0.0.1): prefix and count. */
export const NAME_SETS = { warm: ['w', 64], cycle: ['t', 500], silent: ['h', 30], cpu: ['c', 1] } as const;

/** `count` distinct bench names `<prefix>0.bench.arcmon.test` … */
export function benchNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}.${BENCH_DOMAIN}`);
}

/** A synthetic HTTPS target as catalog expansion would produce it (always required, inspection tolerated). */
export function benchTarget(host: string, port: number): Target {
  return {
    id: `${host}:${port}`,
    host,
    port,
    transport: 'tcp',
    protocol: 'https',
    entryIds: ['bench.synthetic'],
    hostPattern: `*.${BENCH_DOMAIN}`,
    requirement: 'always',
    mustBePrivate: false,
    privateLink: 'public',
    inspection: 'tolerated',
    genuineCa: 'microsoft',
    agents: ['custom'],
    scenarios: ['servers'],
    purpose: 'benchmark endpoint on loopback',
    serviceTags: [],
    httpPath: '/',
  };
}

/** The probe context a cycle gets in production, pointed at the loopback DNS server and trusting the test root. */
export function benchContext(rootPem: string, dnsServer: string): ProbeContext {
  return {
    resolver: createResolver({ server: dnsServer, timeoutMs: 5000 }),
    trust: buildTrust({ expectedRootsPem: rootPem }),
    privateLinkMode: false,
    thresholds: DEFAULT_THRESHOLDS,
    maxBodyBytes: 4096,
    now: () => new Date(),
  };
}

/** What a serving child sends once its servers listen. */
export interface ServeReady {
  kind: 'ready';
  rootPem: string;
  /** `127.0.0.1:PORT` of the DNS server. */
  dnsServer: string;
  ports: { delayed: number; silent: number; plain: number };
}

/** What the `rss` child sends after its cycle. Sizes in MB. */
export interface RssReport {
  kind: 'rss';
  /** `process.memoryUsage().rss` once servers listen and targets are built, before the cycle. */
  rssBeforeMb: number;
  /** `process.resourceUsage().maxRSS` at that moment (peak so far: module loading, PKI, servers). */
  maxRssBeforeMb: number;
  /** `process.resourceUsage().maxRSS` after the cycle: the process's peak. */
  maxRssAfterMb: number;
  cycleMs: number;
  reachable: number;
  targets: number;
}

export type ChildMessage = ServeReady | RssReport;

const toMb = (bytes: number) => bytes / (1024 * 1024);

async function identity(): Promise<{ rootPem: string; identity: ServerIdentity }> {
  const pki = await createAzureLikePki();
  const leaf = await createLeaf(pki.intermediate, [`*.${BENCH_DOMAIN}`]);
  return { rootPem: pki.root.certPem, identity: { leaf, intermediates: [pki.intermediate] } };
}

function zoneOf(names: string[]): Record<string, DnsTestRecord> {
  return Object.fromEntries(names.map((name) => [name, { A: ['127.0.0.1'] }]));
}

async function serve(): Promise<void> {
  const { rootPem, identity: id } = await identity();
  const names = Object.values(NAME_SETS).flatMap(([prefix, count]) => benchNames(prefix, count));
  const dns = await startDnsServer(zoneOf(names));
  const [delayed, silent, plain] = await Promise.all([
    startTlsServer({ identity: id, handshakeDelayMs: HANDSHAKE_DELAY_MS }),
    startTlsServer({ identity: id, behaviour: 'hang-after-accept' }),
    startTlsServer({ identity: id }),
  ]);

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearTimeout(limit);
      await Promise.all([dns.close(), delayed.close(), silent.close(), plain.close()]);
      if (process.connected) process.disconnect();
    })();
    return closing;
  };
  const limit = setTimeout(() => void close(), SERVE_LIMIT_MS);
  process.on('message', (message) => {
    if (message === 'stop') void close();
  });
  process.once('disconnect', () => void close());

  const ready: ServeReady = {
    kind: 'ready',
    rootPem,
    dnsServer: dns.address,
    ports: { delayed: delayed.port, silent: silent.port, plain: plain.port },
  };
  process.send?.(ready);
}

async function rss(): Promise<void> {
  const { rootPem, identity: id } = await identity();
  const names = benchNames('m', RSS_TARGETS);
  const dns = await startDnsServer(zoneOf(names));
  const server = await startTlsServer({ identity: id });
  try {
    const targets = names.map((name) => benchTarget(name, server.port));
    const ctx = benchContext(rootPem, dns.address);
    const rssBeforeMb = toMb(process.memoryUsage().rss);
    const maxRssBeforeMb = process.resourceUsage().maxRSS / 1024;
    const started = performance.now();
    const report = await runCycle(
      { targets, skipped: [] },
      {
        site: 'bench',
        cloud: 'AzureCloud',
        region: 'eastus',
        concurrency: 32,
        timeoutMs: 10_000,
        probe: probeTarget,
        ctx,
      },
    );
    const cycleMs = performance.now() - started;
    const result: RssReport = {
      kind: 'rss',
      rssBeforeMb,
      maxRssBeforeMb,
      maxRssAfterMb: process.resourceUsage().maxRSS / 1024,
      cycleMs,
      reachable: report.counts.reachable,
      targets: targets.length,
    };
    process.send?.(result);
  } finally {
    await Promise.all([dns.close(), server.close()]);
    if (process.connected) process.disconnect();
  }
}

if (process.argv[1] && /bench[\\/]probesChild\.ts$/.test(process.argv[1])) {
  const mode = process.argv[2];
  const main = mode === 'serve' ? serve : mode === 'rss' ? rss : undefined;
  if (main === undefined || !process.send) {
    process.stderr.write('usage: node --import tsx test/bench/probesChild.ts <serve|rss> (with an IPC channel)\n');
    process.exitCode = 2;
  } else {
    main().catch((e: unknown) => {
      console.error(e);
      // Servers may already listen; end here rather than wait for the parent's kill.
      process.exit(1);
    });
  }
}
