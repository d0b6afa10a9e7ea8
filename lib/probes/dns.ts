import { promises as dnsPromises } from 'node:dns';
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { classifyAddress } from './addresses';
import { withHostsFile } from './hostsFile';
import type { HostsFile, HostsOrder } from './hostsFile';
import { finding } from './result';
import type { DnsAnswer, DnsFacts, Finding, ResolvedAddress, Resolver } from './types';

/** A DNS server given on the command line or in settings, checked and normalised. */
export interface DnsServerAddress {
  /** The IP address, without brackets. */
  ip: string;
  /** Default 53. */
  port: number;
  /** The form c-ares `setServers` takes: `ip:port` or `[v6]:port`. */
  setting: string;
}

/**
 * Parses `--dns-server` (setting `ARCMON_DNS_SERVER`): `10.0.0.4`, `10.0.0.4:5353`, `fd00::4` or `[fd00::4]:5353`.
 * Host names are not accepted: the point is to ask one specific server. Throws an Error naming the option.
 */
export function parseDnsServer(text: string): DnsServerAddress {
  const trimmed = text.trim();
  let ip: string | undefined;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(trimmed);
  const withPort = /^([^:]+):(\d{1,5})$/.exec(trimmed);
  if (bracketed) {
    [, ip, portText] = bracketed;
    if (ip !== undefined && !isIPv6(ip)) ip = undefined;
  } else if (isIP(trimmed)) {
    ip = trimmed;
  } else if (withPort?.[1] !== undefined && isIPv4(withPort[1])) {
    [, ip, portText] = withPort;
  }
  const port = portText === undefined ? 53 : Number(portText);
  if (ip === undefined || port < 1 || port > 65535) {
    throw new Error(
      `--dns-server "${text}" is not an IP address with an optional port; use e.g. 10.0.0.4, 10.0.0.4:53 or [fd00::4]:53`,
    );
  }
  return { ip, port, setting: isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}` };
}

const MAX_CNAME_HOPS = 8;

/** Options of {@link createResolver}. */
export interface ResolverOptions {
  /**
   * `ip`, `ip:port` or `[v6]:port` (`--dns-server`): ask this server directly, nothing else. Default: the system
   * resolver as the agent's Go resolver is: `hosts` in `hostsOrder`, then the servers of /etc/resolv.conf.
   */
  server?: string;
  /** The system resolver's hosts file (read at the edge). Ignored with `server`. Default none. */
  hosts?: HostsFile;
  /** nsswitch.conf's order for hosts (`hostsOrderOf`). Default `files-dns`. */
  hostsOrder?: HostsOrder;
  /** The system resolver's DNS servers. Default what c-ares reads from /etc/resolv.conf. */
  systemServers?: string[];
  /** Longest wait for one answer, all tries included; then DNS_TIMEOUT. */
  timeoutMs: number;
  /** Queries c-ares sends before it gives up (it retransmits over UDP after silence). Default 2. */
  tries?: number;
}

type AnswerCode = Extract<DnsAnswer, { ok: false }>['code'];

/**
 * A resolver that asks DNS servers directly (c-ares, as `dig` would), so the report shows what the
 * server answered rather than what the OS cached. Label: `system` or the `--dns-server` text.
 * Each query gets its own c-ares channel: cancelling one (abort, timeout) must not cancel the queries of
 * other targets running at the same time, and `cancel()` acts on a whole channel.
 */
export function createResolver(opts: ResolverOptions): Resolver {
  if (!(opts.timeoutMs > 0) || !Number.isFinite(opts.timeoutMs)) {
    throw new Error(`DNS timeout must be a positive number of milliseconds, got ${opts.timeoutMs}`);
  }
  const tries = opts.tries ?? 2;
  if (!Number.isInteger(tries) || tries < 1) throw new Error(`DNS tries must be a whole number from 1, got ${tries}`);
  const server = opts.server === undefined ? undefined : parseDnsServer(opts.server);
  const systemServers = opts.systemServers?.map((s) => parseDnsServer(s).setting);
  const label = opts.server === undefined ? 'system' : opts.server.trim();
  const perTryMs = Math.max(1, Math.floor(opts.timeoutMs / tries));

  const dns: Resolver = {
    label,
    resolve(host, family, signal) {
      const record = family === 4 ? 'A' : 'AAAA';
      const channel = new dnsPromises.Resolver({ timeout: perTryMs, tries });
      if (server) channel.setServers([server.setting]);
      else if (systemServers) channel.setServers(systemServers);
      const source = server ? label : `system resolver (${channel.getServers().join(', ') || 'none configured'})`;
      const fail = (code: AnswerCode, message: string): DnsAnswer => ({ ok: false, code, message });
      const timedOut = () =>
        fail('DNS_TIMEOUT', `${host}: no ${record} answer from ${source} within ${opts.timeoutMs} ms`);
      const aborted = () =>
        fail('DNS_TIMEOUT', `${host}: ${record} query to ${source} abandoned: the probe deadline passed`);
      if (signal.aborted) return Promise.resolve(aborted());

      return new Promise<DnsAnswer>((settle) => {
        let done = false;
        const finish = (answer: DnsAnswer) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          channel.cancel();
          settle(answer);
        };
        const onAbort = () => finish(aborted());
        // c-ares' own timeouts grow per try and are not a hard bound; this is.
        const timer = setTimeout(() => finish(timedOut()), opts.timeoutMs);
        signal.addEventListener('abort', onAbort, { once: true });
        const query = family === 4 ? channel.resolve4(host) : channel.resolve6(host);
        query.then(
          (addresses) =>
            finish(
              addresses.length > 0
                ? { ok: true, addresses }
                : fail('DNS_NO_ADDRESS', `${host}: no ${record} record from ${source}`),
            ),
          (error: unknown) => finish(answerForError(error, host, record, source, timedOut)),
        );
      });
    },
  };
  if (server) {
    dns.cnameChain = async (host, signal) => {
      const chain: string[] = [];
      let name = host;
      const channel = new dnsPromises.Resolver({ timeout: perTryMs, tries });
      channel.setServers([server.setting]);
      const stop = () => channel.cancel();
      signal.addEventListener('abort', stop, { once: true });
      try {
        // A chain longer than this is a loop or a misconfiguration; what was seen so far is still reported.
        for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
          const next = await channel.resolveCname(name).catch(() => [] as string[]);
          const target = next[0];
          if (target === undefined || signal.aborted) break;
          chain.push(target);
          name = target;
        }
        return signal.aborted && chain.length === 0 ? undefined : chain;
      } finally {
        signal.removeEventListener('abort', stop);
      }
    };
  }
  return server === undefined && opts.hosts ? withHostsFile(dns, opts.hosts, opts.hostsOrder ?? 'files-dns') : dns;
}

function answerForError(
  error: unknown,
  host: string,
  record: 'A' | 'AAAA',
  source: string,
  timedOut: () => DnsAnswer,
): DnsAnswer {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'UNKNOWN';
  const fail = (answer: AnswerCode, message: string): DnsAnswer => ({ ok: false, code: answer, message });
  switch (code) {
    case 'ENOTFOUND':
      return fail('DNS_NXDOMAIN', `${host}: NXDOMAIN from ${source}`);
    case 'EBADNAME':
      return fail('DNS_NXDOMAIN', `${host}: not a valid DNS name`);
    case 'ENODATA':
      return fail('DNS_NO_ADDRESS', `${host}: no ${record} record from ${source}`);
    case 'ESERVFAIL':
      return fail('DNS_SERVFAIL', `${host}: SERVFAIL from ${source}`);
    case 'EREFUSED':
      return fail('DNS_SERVFAIL', `${host}: REFUSED by ${source}`);
    case 'ENOTIMP':
      return fail('DNS_SERVFAIL', `${host}: NOTIMP from ${source}`);
    case 'ECONNREFUSED':
      return fail('DNS_SERVFAIL', `${host}: ${source} rejected the query (port unreachable: no DNS server listens)`);
    case 'EOF':
      return fail('DNS_SERVFAIL', `${host}: ${source} closed the connection without an answer`);
    case 'ETIMEOUT':
    case 'ECANCELLED':
    case 'EDESTRUCTION':
      return timedOut();
    case 'EBADRESP':
      return fail('DNS_BAD_RESPONSE', `${host}: malformed ${record} answer from ${source} (EBADRESP)`);
    case 'EFORMERR':
      return fail('DNS_BAD_RESPONSE', `${host}: ${source} answered FORMERR (it could not parse the query)`);
    case 'EBADFAMILY':
      return fail('DNS_BAD_RESPONSE', `${host}: ${source} answered with the wrong address family`);
    default:
      return fail('DNS_SERVFAIL', `${host}: resolver error ${code} asking ${source}`);
  }
}

/** Outcome of resolving a target's host. */
export interface HostResolution {
  /** Present when at least one address came back (A first, then AAAA), or the host is an IP literal. */
  facts?: DnsFacts;
  /** Present when no address came back. */
  finding?: Finding;
  /** Findings that do not stop the probe (a family that timed out while the other answered). */
  notes: Finding[];
  durationMs: number;
}

/**
 * Once one family has answered with addresses, how long the other may still take. A healthy server answers A
 * and AAAA together; a server (or firewall) that drops AAAA queries would otherwise hold every probe for the
 * whole DNS budget, and the agent goes on with the addresses it has.
 */
export const FAMILY_GRACE_MS = 250;

/** Which failure explains best when neither query gave an address: the server's trouble beats absence. */
const FAILURE_RANK: readonly AnswerCode[] = [
  'DNS_SERVFAIL',
  'DNS_TIMEOUT',
  'DNS_BAD_RESPONSE',
  'DNS_NXDOMAIN',
  'DNS_NO_ADDRESS',
];

/**
 * Resolves `host` to every A and AAAA address (asked in parallel), each with its scope. An address from
 * either query is success; the other query's failure is then not reported. An IP literal is not looked up.
 */
export async function resolveHost(host: string, resolver: Resolver, signal: AbortSignal): Promise<HostResolution> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  const literal = host.replace(/^\[(.*)\]$/, '$1');
  const literalFamily = isIP(literal);
  if (literalFamily === 4 || literalFamily === 6) {
    return {
      facts: { addresses: [resolved(literal, literalFamily)], server: resolver.label },
      notes: [],
      durationMs: elapsed(),
    };
  }

  const [v4, v6] = await bothFamilies(host, resolver, signal);
  const addresses = [
    ...(v4.ok ? v4.addresses.map((ip) => resolved(ip, 4)) : []),
    ...(v6.ok ? v6.addresses.map((ip) => resolved(ip, 6)) : []),
  ];
  if (addresses.length > 0) {
    const source = (v4.ok ? v4.source : undefined) ?? (v6.ok ? v6.source : undefined) ?? resolver.label;
    const silent = [v4, v6].find((a): a is Extract<DnsAnswer, { ok: false }> => !a.ok && a.code === 'DNS_TIMEOUT');
    const notes = silent
      ? [
          finding(
            'DNS_FAMILY_TIMEOUT',
            `${host}: ${silent === v4 ? 'A' : 'AAAA'} query unanswered (${silent.message}); going on with the ${silent === v4 ? 'AAAA' : 'A'} answer, as the agent does after its resolver timeout`,
          ),
        ]
      : [];
    return { facts: { addresses, server: source }, notes, durationMs: elapsed() };
  }

  const failures = [v4, v6].filter((a): a is Extract<DnsAnswer, { ok: false }> => !a.ok);
  const worst = failures.sort((a, b) => FAILURE_RANK.indexOf(a.code) - FAILURE_RANK.indexOf(b.code))[0];
  if (!worst) {
    // Both answers were ok yet empty: a resolver that returns ok with no addresses.
    return {
      finding: finding('DNS_NO_ADDRESS', `${host}: no A or AAAA record from ${resolver.label}`),
      notes: [],
      durationMs: elapsed(),
    };
  }
  const message =
    v4.ok === false && v6.ok === false && v4.code === 'DNS_NO_ADDRESS' && v6.code === 'DNS_NO_ADDRESS'
      ? v4.message.replace(': no A record', ': no A or AAAA record')
      : worst.message;
  return { finding: finding(worst.code, message), notes: [], durationMs: elapsed() };
}

/**
 * Asks A and AAAA in parallel. When one family answers with addresses first, the other gets
 * {@link FAMILY_GRACE_MS} more before it is abandoned (reported as DNS_TIMEOUT for that family).
 */
async function bothFamilies(host: string, resolver: Resolver, signal: AbortSignal): Promise<[DnsAnswer, DnsAnswer]> {
  // A controller linked by hand: AbortSignal.any costs measurable CPU per probe on Node 20.
  const late = new AbortController();
  const cancel = () => late.abort();
  if (signal.aborted) late.abort();
  else signal.addEventListener('abort', cancel, { once: true });
  const both = late.signal;
  const v4 = resolver.resolve(host, 4, both);
  const v6 = resolver.resolve(host, 6, both);
  let timer: NodeJS.Timeout | undefined;
  const graceAfter = (answer: Promise<DnsAnswer>) =>
    answer.then((a) => {
      if (a.ok && a.addresses.length > 0 && timer === undefined) {
        timer = setTimeout(() => late.abort(), FAMILY_GRACE_MS);
      }
    });
  void graceAfter(v4);
  void graceAfter(v6);
  try {
    return await Promise.all([v4, v6]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', cancel);
  }
}

function resolved(address: string, family: 4 | 6): ResolvedAddress {
  return { address, family, scope: classifyAddress(address) };
}
