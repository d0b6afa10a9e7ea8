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
import { bypassesProxy, openTunnel, redactProxyUrl } from './proxy';
import { finding, settle } from './result';
import { connectTcp } from './tcp';
import { tlsHandshake } from './tls';
import type { DnsFacts, Finding, PhaseTimings, ProbeContext, ProbeFn, ProbeResult, ProxyConfig } from './types';

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

interface Path {
  socket: net.Socket | Duplex;
  /** Opens the same path again (for the legacy TLS version check); undefined when that fails. */
  reconnect: () => Promise<net.Socket | Duplex | undefined>;
}

/**
 * Probes one target layer by layer and returns one settled result; never throws for network conditions.
 * NTP targets are handed to the NTP probe. Otherwise:
 * - direct: DNS (failure stops), private-link check (a bypass blocks but probing continues so the rest of the
 *   path is still reported), TCP to the first IPv4 address (else the first IPv6);
 * - through `ctx.proxy` (unless NO_PROXY exempts the host): CONNECT tunnel; the name is also resolved locally,
 *   in parallel and for reporting only (`dns.informational`), and a local DNS failure is not a finding;
 * then TLS with SNI = host (TLS_INTERCEPTED blocks for targets that do not tolerate inspection, else degrades),
 * then `GET target.httpPath` (any status proves the path; SLOW_RESPONSE past `ctx.thresholds.slowMs`).
 * Protocol `tcp` stops after connecting. When `signal` aborts, the finding names the phase that was running.
 */
export const probeTarget: ProbeFn = async (target, ctx, signal) => {
  if (target.protocol === 'dns') return probeDnsServerPort(target, ctx, signal);
  if (target.protocol === 'ntp' || target.transport === 'udp') return probeNtp(target, ctx, signal);

  const started = performance.now();
  const startedAt = ctx.now().toISOString();
  const findings: Finding[] = [];
  const timings: Omit<PhaseTimings, 'total'> = {};
  const result: ResultSoFar = {
    targetId: target.id,
    host: target.host,
    port: target.port,
    transport: 'tcp',
    startedAt,
  };
  const sockets = new Set<net.Socket | Duplex>();
  const finishers: Array<() => Promise<void>> = [];
  const done = async (): Promise<ProbeResult> => {
    for (const socket of sockets) socket.destroy();
    for (const finish of finishers) await finish();
    return settle({ ...result, findings, timings: { ...timings, total: round(performance.now() - started) } });
  };

  const proxy = ctx.proxy && !bypassesProxy(target.host, ctx.proxy.noProxy, target.port) ? ctx.proxy : undefined;
  let path: Path | undefined;
  if (proxy) {
    result.proxy = redactProxyUrl(proxy.url);
    path = await throughProxy(target, proxy, ctx, signal, findings, timings, result, sockets, finishers);
  } else {
    path = await direct(target, ctx, signal, findings, timings, result, sockets);
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
  const handshake = await tlsHandshake(path.socket, target.host, ctx.trust, signal, ctx.thresholds, ctx.now(), {
    reconnect: async () => {
      const again = await path.reconnect();
      if (again) sockets.add(again);
      return again;
    },
  });
  timings.tls = round(performance.now() - tlsStarted);
  if (handshake.facts) result.tls = handshake.facts;
  findings.push(...handshake.findings.map((f) => judgeInterception(f, target)));
  if (!handshake.ok) return done();
  sockets.add(handshake.tlsSocket);

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
  if (response.firstByteMs > ctx.thresholds.slowMs) {
    findings.push(
      finding(
        'SLOW_RESPONSE',
        `${target.host} answered after ${Math.round(response.firstByteMs)} ms (threshold ${ctx.thresholds.slowMs} ms)`,
      ),
    );
  }
  if (target.checks) findings.push(...(await protocolChecks(target, path.reconnect, signal)));
  return done();
};

type ResultSoFar = Omit<ProbeResult, 'verdict' | 'failure' | 'findings' | 'timings'>;

async function direct(
  target: Target,
  ctx: ProbeContext,
  signal: AbortSignal,
  findings: Finding[],
  timings: Omit<PhaseTimings, 'total'>,
  result: ResultSoFar,
  sockets: Set<net.Socket | Duplex>,
): Promise<Path | undefined> {
  const resolution = await resolveHost(target.host, ctx.resolver, signal);
  timings.dns = round(resolution.durationMs);
  if (resolution.facts === undefined) {
    if (resolution.finding) findings.push(resolution.finding);
    return undefined;
  }
  result.dns = resolution.facts;
  const bypassed = evaluatePrivateLink(target, resolution.facts, ctx.privateLinkMode, {
    ...(ctx.privateRanges ? { privateRanges: ctx.privateRanges } : {}),
  });
  if (bypassed) findings.push(bypassed);

  const address = firstAddress(resolution.facts);
  if (address === undefined) return undefined;
  result.connectedAddress = address;
  const tcp = await connectTcp(address, target.port, signal);
  timings.connect = round(tcp.durationMs);
  if (!tcp.ok) {
    findings.push(tcp.finding);
    return undefined;
  }
  sockets.add(tcp.socket);
  return {
    socket: tcp.socket,
    reconnect: async () => {
      const again = await connectTcp(address, target.port, signal);
      return again.ok ? again.socket : undefined;
    },
  };
}

function firstAddress(facts: DnsFacts): string | undefined {
  return (facts.addresses.find((a) => a.family === 4) ?? facts.addresses[0])?.address;
}

async function throughProxy(
  target: Target,
  proxy: ProxyConfig,
  ctx: ProbeContext,
  signal: AbortSignal,
  findings: Finding[],
  timings: Omit<PhaseTimings, 'total'>,
  result: ResultSoFar,
  sockets: Set<net.Socket | Duplex>,
  finishers: Array<() => Promise<void>>,
): Promise<Path | undefined> {
  // The proxy resolves the name. A local lookup runs beside the whole probe only to report what this machine
  // sees; it is cut off when the probe ends, so a machine without outside DNS is not slowed down.
  const localDns = new AbortController();
  const stopLocalDns = () => localDns.abort();
  signal.addEventListener('abort', stopLocalDns, { once: true });
  let informational: HostResolution | undefined;
  const lookup = resolveHost(target.host, ctx.resolver, localDns.signal).then((r) => {
    informational = r;
  });
  finishers.push(async () => {
    localDns.abort();
    // A resolver that ignores the abort (the OS resolver cannot be cancelled) must not hold the result back.
    await Promise.race([lookup, new Promise((resolve) => setImmediate(resolve))]);
    signal.removeEventListener('abort', stopLocalDns);
    if (informational?.facts) {
      result.dns = { ...informational.facts, informational: true };
      timings.dns = round(informational.durationMs);
    }
  });

  const tunnel = await openTunnel(proxy, target.host, target.port, signal);
  if (tunnel.connectMs !== undefined) timings.connect = round(tunnel.connectMs);
  timings.proxy = round(tunnel.durationMs - (tunnel.connectMs ?? 0));
  if (!tunnel.ok) {
    findings.push(tunnel.finding);
    return undefined;
  }
  result.connectedAddress = tunnel.proxyAddress;
  sockets.add(tunnel.socket);
  return {
    socket: tunnel.socket,
    reconnect: async () => {
      const again = await openTunnel(proxy, target.host, target.port, signal);
      return again.ok ? again.socket : undefined;
    },
  };
}
