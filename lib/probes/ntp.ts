import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import type { Target } from '../catalog/types';
import { resolveHost } from './dns';
import { evaluatePrivateLink } from './privateLink';
import { finding, settle } from './result';
import type { Finding, NtpFacts, ProbeContext, ProbeResult, ResolvedAddress } from './types';

/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_TO_UNIX_S = 2_208_988_800;
/** Seconds from the Unix epoch to NTP era 1 (7 Feb 2036), where 32-bit NTP seconds wrap. */
const ERA1_UNIX_S = 2 ** 32 - NTP_TO_UNIX_S;
const HEADER_BYTES = 48;
/** Kiss codes a server sends instead of time (RFC 5905 section 7.4), for the report. */
const KISS_MEANINGS: Readonly<Record<string, string>> = {
  RATE: 'the server asks this client to poll less often',
  DENY: 'the server denies access',
  RSTR: 'the server restricts access',
};

/** Writes a Unix time (ms) as a 64-bit NTP timestamp: seconds since 1900 (mod 2^32) and a 32-bit fraction. */
export function encodeNtpTimestamp(unixMs: number, into: Buffer = Buffer.alloc(8), offset = 0): Buffer {
  const seconds = Math.floor(unixMs / 1000);
  const fraction = Math.floor(((unixMs - seconds * 1000) / 1000) * 2 ** 32);
  into.writeUInt32BE((seconds + NTP_TO_UNIX_S) >>> 0, offset);
  into.writeUInt32BE(fraction >>> 0, offset + 4);
  return into;
}

/**
 * Reads a 64-bit NTP timestamp as Unix time in ms. Seconds with the top bit clear belong to era 1
 * (2036-2104), as RFC 4330 section 3 prescribes, so the probe keeps working past 2036.
 */
export function decodeNtpTimestamp(buffer: Buffer, offset: number): number {
  const seconds = buffer.readUInt32BE(offset);
  const fraction = buffer.readUInt32BE(offset + 4);
  const unixSeconds = seconds >= 0x80000000 ? seconds - NTP_TO_UNIX_S : seconds + ERA1_UNIX_S;
  return unixSeconds * 1000 + (fraction / 2 ** 32) * 1000;
}

type Exchange = { facts: NtpFacts } | { finding: Finding };

/**
 * Probes a time server: resolves the host, then one SNTPv4 client exchange over UDP (RFC 4330) with the first
 * address (IPv4 first). Reports offset, stratum and round trip; an offset beyond `ctx.thresholds.clockSkewMs`
 * is CLOCK_SKEW (degrading). Silence until the signal aborts is NTP_TIMEOUT; a rejected port (ICMP port
 * unreachable) is NTP_TIMEOUT too, with a message that says so; an invalid or kiss-of-death reply is
 * NTP_BAD_RESPONSE. The socket is connected, so only the server's own address and port can answer.
 * Never throws for network failures.
 */
export async function probeNtp(target: Target, ctx: ProbeContext, signal: AbortSignal): Promise<ProbeResult> {
  const startedAt = ctx.now().toISOString();
  const started = performance.now();
  const since = (from: number) => Math.round((performance.now() - from) * 10) / 10;
  const base = { targetId: target.id, host: target.host, port: target.port, transport: 'udp' as const, startedAt };

  const resolution = await resolveHost(target.host, ctx.resolver, signal);
  const address = resolution.facts?.addresses[0];
  if (!resolution.facts || !address) {
    const failure = resolution.finding ?? finding('DNS_NO_ADDRESS', `${target.host}: no address`);
    return settle({ ...base, findings: [failure], timings: { dns: resolution.durationMs, total: since(started) } });
  }
  const findings: Finding[] = [...resolution.notes];
  const bypassed = evaluatePrivateLink(target, resolution.facts, ctx.privateLinkMode, {
    privateRanges: ctx.privateRanges ?? [],
  });
  if (bypassed) findings.push(bypassed);

  const exchangeStarted = performance.now();
  const exchange = await sntpExchange(target.host, address, target.port, ctx.now, signal);
  const ntpMs = since(exchangeStarted);
  if ('finding' in exchange) {
    findings.push(exchange.finding);
  } else if (Math.abs(exchange.facts.offsetMs) > ctx.thresholds.clockSkewMs) {
    findings.push(finding('CLOCK_SKEW', skewMessage(target.host, exchange.facts.offsetMs, ctx.thresholds.clockSkewMs)));
  }
  return settle({
    ...base,
    findings,
    timings: { dns: resolution.durationMs, ntp: ntpMs, total: since(started) },
    dns: resolution.facts,
    connectedAddress: address.address,
    ...('facts' in exchange ? { ntp: exchange.facts } : {}),
  });
}

function skewMessage(host: string, offsetMs: number, thresholdMs: number): string {
  const direction = offsetMs > 0 ? 'behind' : 'ahead of';
  const signed = `${offsetMs > 0 ? '+' : ''}${Math.round(offsetMs)}`;
  return `local clock is ${(Math.abs(offsetMs) / 1000).toFixed(2)} s ${direction} ${host} (offset ${signed} ms, threshold ${thresholdMs} ms)`;
}

function sntpExchange(
  host: string,
  address: ResolvedAddress,
  port: number,
  now: () => Date,
  signal: AbortSignal,
): Promise<Exchange> {
  const peer = address.family === 6 ? `[${address.address}]:${port}/udp` : `${address.address}:${port}/udp`;
  const timeout = (): Exchange => ({
    finding: finding('NTP_TIMEOUT', `${host}: no NTP answer from ${peer} before the probe deadline`),
  });
  if (signal.aborted) return Promise.resolve(timeout());

  return new Promise<Exchange>((resolve) => {
    const socket = dgram.createSocket(address.family === 6 ? 'udp6' : 'udp4');
    let done = false;
    let sentAtMs = 0;
    let sentAtPerf = 0;
    const request = Buffer.alloc(HEADER_BYTES);
    const finish = (outcome: Exchange) => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      socket.close();
      resolve(outcome);
    };
    const onAbort = () => finish(timeout());
    signal.addEventListener('abort', onAbort, { once: true });

    socket.on('error', (error: NodeJS.ErrnoException) => finish(networkError(host, peer, error)));
    socket.on('message', (reply: Buffer) => {
      // Local receive time from a monotonic clock, so a clock step during the exchange cannot distort it.
      const receivedAtMs = sentAtMs + (performance.now() - sentAtPerf);
      finish(readReply(host, peer, reply, request, sentAtMs, receivedAtMs));
    });
    socket.connect(port, address.address, () => {
      // LI 0, version 4, mode 3 (client).
      request.writeUInt8((0 << 6) | (4 << 3) | 3, 0);
      sentAtMs = now().getTime();
      sentAtPerf = performance.now();
      encodeNtpTimestamp(sentAtMs, request, 40);
      // Random low bits (about 15 µs) make the origin echo unguessable to an off-path spoofer.
      request.writeUInt16BE(request.readUInt16BE(46) ^ randomInt(0x10000), 46);
      socket.send(request);
    });
  });
}

function networkError(host: string, peer: string, error: NodeJS.ErrnoException): Exchange {
  switch (error.code) {
    case 'ECONNREFUSED':
      return {
        finding: finding('NTP_TIMEOUT', `${host}: no NTP answer: ${peer} port unreachable (rejected by ICMP)`),
      };
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
      return {
        finding: finding('NET_UNREACHABLE', `${host}: no route to ${peer} (${error.code})`, { phase: 'ntp' }),
      };
    default:
      return { finding: finding('NTP_TIMEOUT', `${host}: no NTP answer: sending to ${peer} failed (${error.code})`) };
  }
}

function readReply(host: string, peer: string, reply: Buffer, request: Buffer, t1: number, t4: number): Exchange {
  const bad = (why: string): Exchange => ({
    finding: finding('NTP_BAD_RESPONSE', `${host}: unusable NTP answer from ${peer}: ${why}`),
  });
  if (reply.length < HEADER_BYTES) return bad(`${reply.length} bytes, shorter than the ${HEADER_BYTES}-byte header`);
  const first = reply.readUInt8(0);
  const leap = first >> 6;
  const version = (first >> 3) & 0x07;
  const mode = first & 0x07;
  const stratum = reply.readUInt8(1);
  if (mode !== 4) return bad(`mode ${mode}, expected 4 (server)`);
  if (version < 3 || version > 4) return bad(`version ${version}, expected 3 or 4`);
  if (!reply.subarray(24, 32).equals(request.subarray(40, 48))) {
    return bad('its origin timestamp does not echo our request');
  }
  if (stratum === 0) {
    const kiss = reply.toString('latin1', 12, 16).replace(/[^\x20-\x7e]/g, '');
    return bad(`kiss-of-death ${kiss || '(no code)'}${KISS_MEANINGS[kiss] ? ` (${KISS_MEANINGS[kiss]})` : ''}`);
  }
  if (stratum > 15) return bad(`stratum ${stratum}: the server is not synchronised`);
  if (leap === 3) return bad('leap indicator 3: the server clock is not synchronised');
  if (reply.readUInt32BE(40) === 0 && reply.readUInt32BE(44) === 0) return bad('zero transmit timestamp');

  const t2 = decodeNtpTimestamp(reply, 32);
  const t3 = decodeNtpTimestamp(reply, 40);
  const offsetMs = (t2 - t1 + (t3 - t4)) / 2;
  const roundTripMs = Math.max(0, t4 - t1 - (t3 - t2));
  const referenceId =
    stratum === 1
      ? reply.toString('latin1', 12, 16).replace(/[^\x20-\x7e]/g, '')
      : [...reply.subarray(12, 16)].join('.');
  return {
    facts: {
      offsetMs: Math.round(offsetMs * 1000) / 1000,
      stratum,
      roundTripMs: Math.round(roundTripMs * 1000) / 1000,
      ...(referenceId ? { referenceId } : {}),
    },
  };
}
