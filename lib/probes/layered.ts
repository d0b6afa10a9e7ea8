import type * as net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Target } from '../catalog/types';
import { resolveHost } from './dns';
import type { HostResolution } from './dns';
import { httpRequest } from './http';
import { probeDnsServerPort } from './dnsPort';
import { probeNtp } from './ntp';
import { protocolChecks } from './protocols';
import { evaluatePrivateLink } from './privateLink';
import { bypassesProxy, redactProxyUrl } from './proxy';
import { finding, settle } from './result';
import { attemptTarget, dialAddresses, proxyRoute } from './routes';
import type { Route } from './routes';
import { tlsHandshake } from './tls';
import type {
  AddressAttempt,
  Finding,
  HttpFacts,
  PhaseTimings,
  ProbeContext,
  ProbeFn,
  ProbeResult,
  ProxyConfig,
  TlsFacts,
} from './types';

const round = (ms: number) => Math.round(ms * 10) / 10;

/** Severity of TLS inspection depends on who consumes the endpoint. */
function judgeInterception(found: Finding, target: Target): Finding {
  if (found.code !== 'TLS_INTERCEPTED') return found;
  if (target.inspection === 'not-tolerated') {
    return finding('TLS_INTERCEPTED', `${found.message}; the resource bridge does not support TLS inspection`, {
      severity: 'blocking',
    });
  }
  return finding(
    'TLS_INTERCEPTED',
    `${found.message}; the agent works if this machine trusts that CA, but some extensions pin certificates`,
  );
}

/**
 * HTTP statuses an inspecting device answers with when it blocks or cannot reach upstream: its block page
 * (403, 451), its own authentication (407) or its gateway errors (502-504). The services in the catalog answer
 * an unauthenticated request with 200, 400, 401 or 404 (shared/FACTS.md).
 */
const DEVICE_STATUSES = new Set([403, 407, 451, 502, 503, 504]);

/**
 * Behind TLS inspection, a response is the device's own when the device re-signed the chain and answered with a
 * status it blocks with: the request never reached the service. Undefined when the answer may be the service's.
 */
function deviceAnswer(tls: TlsFacts | undefined, http: HttpFacts, host: string): Finding | undefined {
  if (tls?.interceptedBy === undefined || !DEVICE_STATUSES.has(http.status)) return undefined;
  const server = http.server === undefined ? '' : ` (Server: ${http.server})`;
  return finding(
    'INSPECTION_DEVICE_ANSWERED',
    `the inspecting device behind '${tls.interceptedBy}'${server} answered ${http.status} itself; the request never reached ${host}`,
  );
}

/** The path the TLS and HTTP layers run over, and how to open it again. */
interface OpenedPath {
  socket: net.Socket | Duplex;
  route: Route;
}

/** What a probe collects as it goes; settled into a ProbeResult at the end. */
interface Probe {
  target: Target;
  ctx: ProbeContext;
  signal: AbortSignal;
  /** performance.now() times of the start and of the runner's deadline (shared between the addresses). */
  startedAt: number;
  deadlineAt: number;
  findings: Finding[];
  timings: Omit<PhaseTimings, 'total'>;
  result: ResultSoFar;
  sockets: Set<net.Socket | Duplex>;
  /** Work that must finish (or be cut off) before the result is settled. */
  finishers: Array<() => Promise<void>>;
}

/**
 * Probes one target layer by layer and returns one settled result; never throws for network conditions.
 * NTP targets are handed to the NTP probe. Otherwise:
 * - direct: DNS (failure stops; a sinkhole answer is DNS_FILTERED), private-link check (a bypass blocks but
 *   probing continues so the rest of the path is still reported), then TCP to every address the way the agent's
 *   dialer does ({@link dialAddresses}); addresses not needed for the winning connection are checked beside it,
 *   so each has an outcome (`addressAttempts`): one working is enough, failing ones degrade
 *   (SOME_ADDRESSES_FAILED), all failing blocks;
 * - through `ctx.proxy` (unless NO_PROXY exempts the host): CONNECT tunnel; the name is also resolved locally,
 *   in parallel and for reporting only (`dns.informational`), and a local DNS failure is not a finding;
 * then TLS with SNI = host (TLS_INTERCEPTED when the chain does not end where the host's genuine chain does:
 * blocking for targets that do not tolerate inspection, else degrading), then `GET target.httpPath` (any status
 * of the service proves the path; an inspecting device's own block or gateway answer is
 * INSPECTION_DEVICE_ANSWERED; SLOW_RESPONSE past `ctx.thresholds.slowMs`). Protocol `tcp` stops after
 * connecting. When `signal` aborts, the finding names the phase that was running.
 */
export const probeTarget: ProbeFn = async (target, ctx, signal) => {
  if (target.protocol === 'dns') return probeDnsServerPort(target, ctx, signal);
  if (target.protocol === 'ntp' || target.transport === 'udp') return probeNtp(target, ctx, signal);

  const started = performance.now();
  const probe: Probe = {
    target,
    ctx,
    signal,
    startedAt: started,
    deadlineAt: started + (ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    findings: [],
    timings: {},
    result: {
      targetId: target.id,
      host: target.host,
      port: target.port,
      transport: 'tcp',
      startedAt: ctx.now().toISOString(),
    },
    sockets: new Set(),
    finishers: [],
  };
  const { findings, timings, result } = probe;
  const done = async (): Promise<ProbeResult> => {
    for (const finish of probe.finishers) await finish();
    for (const socket of probe.sockets) socket.destroy();
    return settle({ ...result, findings, timings: { ...timings, total: round(performance.now() - started) } });
  };

  const proxy = ctx.proxy && !bypassesProxy(target.host, ctx.proxy.noProxy, target.port) ? ctx.proxy : undefined;
  let path: OpenedPath | undefined;
  if (proxy) {
    result.proxy = redactProxyUrl(proxy.url);
    path = await throughProxy(probe, proxy);
  } else {
    path = await direct(probe);
  }
  if (path === undefined || target.protocol === 'tcp') return done();
  if (target.protocol === 'http') {
    // Plain HTTP (TCP 80, e.g. certificate downloads): no TLS layer.
    const plain = await httpRequest(path.socket, target.host, target.port, target.httpPath, signal, ctx.maxBodyBytes);
    if (plain.ok) [result.http, timings.firstByte] = [plain.facts, round(plain.firstByteMs)];
    else findings.push(plain.finding);
    return done();
  }

  const tlsStarted = performance.now();
  const { route } = path;
  // Opens the same route again: the legacy TLS version check and the protocol checks need their own connection.
  const reopen = async () => {
    const again = await route.open(signal);
    if (!again.ok) return undefined;
    probe.sockets.add(again.socket);
    return again.socket;
  };
  const handshake = await tlsHandshake(path.socket, target.host, ctx.trust, signal, ctx.thresholds, ctx.now(), {
    genuineCa: target.genuineCa,
    reconnect: reopen,
  });
  timings.tls = round(performance.now() - tlsStarted);
  if (handshake.facts) result.tls = handshake.facts;
  findings.push(...handshake.findings.map((f) => judgeInterception(f, target)));
  if (!handshake.ok) return done();
  probe.sockets.add(handshake.tlsSocket);

  const response = await httpRequest(
    handshake.tlsSocket,
    target.host,
    target.port,
    target.httpPath,
    signal,
    ctx.maxBodyBytes,
  );
  if (!response.ok) {
    findings.push(response.finding);
    return done();
  }
  timings.firstByte = round(response.firstByteMs);
  result.http = response.facts;
  const device = deviceAnswer(result.tls, response.facts, target.host);
  if (device) findings.push(device);
  if (response.firstByteMs > ctx.thresholds.slowMs) {
    findings.push(
      finding(
        'SLOW_RESPONSE',
        `${target.host} answered after ${Math.round(response.firstByteMs)} ms (threshold ${ctx.thresholds.slowMs} ms)`,
      ),
    );
  }
  if (target.checks) findings.push(...(await protocolChecks(target, reopen, signal)));
  return done();
};

type ResultSoFar = Omit<ProbeResult, 'verdict' | 'failure' | 'findings' | 'timings'>;

/** The deadline assumed when the context does not say (ProbeContext.timeoutMs). */
const DEFAULT_TIMEOUT_MS = 10_000;

async function direct(probe: Probe): Promise<OpenedPath | undefined> {
  const { target, ctx, signal, findings, timings, result } = probe;
  // Under private-link mode the CNAME chain shows which privatelink.* zone answered (or that none did).
  const chain =
    ctx.privateLinkMode && target.mustBePrivate ? ctx.resolver.cnameChain?.(target.host, signal) : undefined;
  const [resolution, cnames] = await Promise.all([resolveHost(target.host, ctx.resolver, signal), chain]);
  timings.dns = round(resolution.durationMs);
  findings.push(...resolution.notes);
  if (resolution.facts === undefined) {
    if (resolution.finding) findings.push(resolution.finding);
    return undefined;
  }
  result.dns = cnames === undefined ? resolution.facts : { ...resolution.facts, cnames };
  const bypassed = evaluatePrivateLink(target, result.dns, ctx.privateLinkMode, {
    ...(ctx.privateRanges ? { privateRanges: ctx.privateRanges } : {}),
  });
  if (bypassed) findings.push(bypassed);

  const sinkholes = resolution.facts.addresses.filter((a) => a.scope === 'unspecified');
  const dialable = resolution.facts.addresses.filter((a) => a.scope !== 'unspecified');
  if (dialable.length === 0) {
    const listed = sinkholes.map((a) => a.address).join(', ');
    findings.push(
      finding(
        'DNS_FILTERED',
        `${target.host} resolved to ${listed} via ${resolution.facts.server}: a DNS filter answers with a sinkhole address, so nothing can connect (no firewall involved)`,
      ),
    );
    return undefined;
  }

  const dialled = await dialAddresses(dialable, target.port, signal, probe.deadlineAt);
  if (dialled.attempts.length > 0) timings.connect = dialled.attempts[dialled.attempts.length - 1]?.ms ?? 0;
  const attempts: AddressAttempt[] = [...dialled.attempts];
  result.addressAttempts = attempts;
  const { winner } = dialled;
  if (winner === undefined) {
    const first = dialled.firstFailure;
    if (first) {
      const all =
        attempts.length > 1
          ? `; all ${attempts.length} addresses failed: ${describeAttempts(attempts, target.port)}`
          : '';
      findings.push({ ...first, message: `${first.message}${all}` });
    }
    return undefined;
  }
  timings.connect = round(winner.outcome.connectMs);
  result.connectedAddress = winner.address.address;
  probe.sockets.add(winner.outcome.socket);

  // The other addresses finish beside the rest of the probe. They may take until the probe itself is done, and
  // at least SIDE_CHECK_FLOOR_MS from its start: an address still silent then is recorded as dropping the SYN.
  if (dialable.length === 1) return { socket: winner.outcome.socket, route: winner.route };
  probe.finishers.push(async () => {
    const wait = Math.max(0, Math.min(probe.startedAt + SIDE_CHECK_FLOOR_MS, probe.deadlineAt) - performance.now());
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise((resolve) => (timer = setTimeout(resolve, wait)));
    await Promise.race([dialled.others, waited]);
    clearTimeout(timer);
    dialled.stopOthers();
    attempts.push(...(await dialled.others));
    const failed = attempts.filter((a) => !a.ok);
    if (failed.length > 0) {
      findings.push(
        finding(
          'SOME_ADDRESSES_FAILED',
          `${target.host}: ${failed.length} of ${attempts.length} addresses fail (${describeAttempts(failed, target.port)}); the agent falls back to ${result.connectedAddress ?? 'another'}`,
        ),
      );
    }
  });
  return { socket: winner.outcome.socket, route: winner.route };
}

/** Side checks of other addresses get at least this long from the start of the probe. */
const SIDE_CHECK_FLOOR_MS = 1000;

function describeAttempts(attempts: readonly AddressAttempt[], port: number): string {
  return attempts.map((a) => `${attemptTarget(a, port)} ${a.code ?? 'ok'}`).join(', ');
}

async function throughProxy(probe: Probe, proxy: ProxyConfig): Promise<OpenedPath | undefined> {
  const { target, ctx, signal, findings, timings, result } = probe;
  // The proxy resolves the name. A local lookup runs beside the whole probe only to report what this machine
  // sees; it is cut off when the probe ends, so a machine without outside DNS is not slowed down.
  const localDns = new AbortController();
  const stopLocalDns = () => localDns.abort();
  signal.addEventListener('abort', stopLocalDns, { once: true });
  let informational: HostResolution | undefined;
  const lookup = resolveHost(target.host, ctx.resolver, localDns.signal).then((r) => {
    informational = r;
  });
  probe.finishers.push(async () => {
    localDns.abort();
    // A resolver that ignores the abort (the OS resolver cannot be cancelled) must not hold the result back.
    await Promise.race([lookup, new Promise((resolve) => setImmediate(resolve))]);
    signal.removeEventListener('abort', stopLocalDns);
    if (informational?.facts) {
      result.dns = { ...informational.facts, informational: true };
      timings.dns = round(informational.durationMs);
    }
  });

  const route = proxyRoute(proxy, target.host, target.port);
  const opened = await route.open(signal);
  if (opened.connectMs !== undefined) timings.connect = round(opened.connectMs);
  if (opened.proxyMs !== undefined) timings.proxy = round(opened.proxyMs);
  if (!opened.ok) {
    findings.push(opened.finding);
    return undefined;
  }
  result.connectedAddress = opened.via;
  probe.sockets.add(opened.socket);
  return { socket: opened.socket, route };
}
