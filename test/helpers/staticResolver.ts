/**
 * An in-memory Resolver for probe tests that are not about DNS: names map straight to addresses. The DNS
 * phase itself is tested against a real DNS server on loopback (test/helpers/dnsServer.ts, dns tests).
 */
import * as net from 'node:net';
import type { DnsAnswer, Resolver } from '../../lib/probes/types';

/** Names → addresses (IPv4 and IPv6 mixed; each query returns its family's). Unknown names are NXDOMAIN. */
export function createStaticResolver(records: Record<string, string[]>, label = 'static'): Resolver {
  return {
    label,
    resolve(host: string, family: 4 | 6, signal: AbortSignal): Promise<DnsAnswer> {
      if (signal.aborted)
        return Promise.resolve({ ok: false, code: 'DNS_TIMEOUT', message: `${host}: no answer in time` });
      const all = records[host.toLowerCase()];
      if (all === undefined) {
        return Promise.resolve({ ok: false, code: 'DNS_NXDOMAIN', message: `${host}: name does not exist` });
      }
      const addresses = all.filter((a) => net.isIP(a) === family);
      if (addresses.length === 0) {
        return Promise.resolve({
          ok: false,
          code: 'DNS_NO_ADDRESS',
          message: `${host}: no ${family === 4 ? 'A' : 'AAAA'} record`,
        });
      }
      return Promise.resolve({ ok: true, addresses });
    },
  };
}
