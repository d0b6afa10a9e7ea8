/**
 * Reachability of a DNS server on its port (the resource bridge must reach the DNS servers it was given on 53):
 * one A query over UDP; any answer, even NXDOMAIN or SERVFAIL, proves the server answers there.
 */
import type { Target } from '../catalog/types';
import { createResolver } from './dns';
import { finding, settle } from './result';
import type { ProbeContext, ProbeResult } from './types';

/** The name asked: one the bridge itself needs resolved. */
const QUESTION = 'management.azure.com';

export async function probeDnsServerPort(target: Target, ctx: ProbeContext, signal: AbortSignal): Promise<ProbeResult> {
  const started = performance.now();
  const startedAt = ctx.now().toISOString();
  const server = target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
  const base = { targetId: target.id, host: target.host, port: target.port, transport: 'udp' as const, startedAt };
  let resolver;
  try {
    resolver = createResolver({ server, timeoutMs: 5000 });
  } catch (err) {
    const message = `${target.host} is not a DNS server address: ${err instanceof Error ? err.message : String(err)}`;
    return settle({ ...base, findings: [finding('DNS_PORT_UNREACHABLE', message)], timings: { total: 0 } });
  }
  const answer = await resolver.resolve(QUESTION, 4, signal);
  const dnsMs = Math.round((performance.now() - started) * 10) / 10;
  const silent = !answer.ok && answer.code === 'DNS_TIMEOUT';
  return settle({
    ...base,
    findings: silent
      ? [finding('DNS_PORT_UNREACHABLE', `the DNS server ${server} did not answer a query for ${QUESTION} over UDP`)]
      : [],
    timings: { dns: dnsMs, total: dnsMs },
    connectedAddress: target.host,
  });
}
