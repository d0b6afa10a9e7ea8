import { isIP } from 'node:net';
import type { DnsAnswer, Resolver } from './types';

/**
 * The local part of the system resolver, as the Connected Machine agent meets it. The agent is a Go program, and
 * Go's own resolver (the default on Linux) reads the hosts file and nsswitch.conf itself before asking the
 * servers in resolv.conf. Microsoft documents a hosts-file set-up for Arc private link ("Single server
 * scenarios" in articles/azure-arc/servers/private-link-security.md), so a probe that skipped the hosts file
 * would report a bypass while the agent uses the private endpoint.
 */

/** A hosts file read at the edge. */
export interface HostsFile {
  /** Where it was read, for reports. */
  path: string;
  text: string;
}

/** Where the hosts file is consulted relative to DNS (nsswitch.conf `hosts:`). */
export type HostsOrder = 'files-dns' | 'dns-files' | 'dns';

/** Name (lower case, no trailing dot) → addresses in file order. Comments and malformed lines are skipped. */
export function parseHostsFile(text: string): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (const raw of text.split(/\r?\n/)) {
    const [address, ...aliases] = raw.replace(/#.*$/, '').trim().split(/\s+/);
    if (address === undefined || aliases.length === 0) continue;
    const bare = address.replace(/%.*$/, '');
    if (isIP(bare) === 0) continue;
    for (const alias of aliases) {
      const name = alias.toLowerCase().replace(/\.$/, '');
      const list = names.get(name) ?? [];
      if (!list.includes(bare)) list.push(bare);
      names.set(name, list);
    }
  }
  return names;
}

/**
 * The `hosts:` order of an nsswitch.conf: `files dns` (the usual, and the default when the file or line is
 * missing), `dns files`, or `dns` alone. Sources other than files and dns (mdns, myhostname, resolve) are ignored.
 */
export function hostsOrderOf(nsswitch: string | undefined): HostsOrder {
  const line = /^\s*hosts:\s*(.*)$/m.exec(nsswitch ?? '')?.[1];
  if (line === undefined) return 'files-dns';
  const sources = line.replace(/#.*$/, '').split(/\s+/);
  const files = sources.indexOf('files');
  const dns = sources.findIndex((s) => s === 'dns' || s === 'resolve');
  if (files === -1) return 'dns';
  if (dns !== -1 && dns < files) return 'dns-files';
  return 'files-dns';
}

/**
 * Wraps the DNS part of the system resolver with the hosts file, in nsswitch order. A name the hosts file has is
 * answered from it alone (Go does not ask DNS then), per family: an entry of the other family only is
 * DNS_NO_ADDRESS for this one. Answers name their source (`hosts file /etc/hosts`).
 */
export function withHostsFile(dns: Resolver, hosts: HostsFile, order: HostsOrder): Resolver {
  const names = parseHostsFile(hosts.text);
  const source = `hosts file ${hosts.path}`;
  const fromFile = (host: string, family: 4 | 6): DnsAnswer | undefined => {
    const all = names.get(host.toLowerCase().replace(/\.$/, ''));
    if (all === undefined) return undefined;
    const addresses = all.filter((a) => isIP(a) === family);
    if (addresses.length > 0) return { ok: true, addresses, source };
    const record = family === 4 ? 'A' : 'AAAA';
    return { ok: false, code: 'DNS_NO_ADDRESS', message: `${host}: no ${record} entry in ${source}` };
  };
  return {
    label: `system (${source}, then ${dns.label})`,
    async resolve(host, family, signal) {
      if (order === 'dns') return dns.resolve(host, family, signal);
      if (order === 'files-dns') return fromFile(host, family) ?? dns.resolve(host, family, signal);
      const answer = await dns.resolve(host, family, signal);
      if (answer.ok || (answer.code !== 'DNS_NXDOMAIN' && answer.code !== 'DNS_NO_ADDRESS')) return answer;
      return fromFile(host, family) ?? answer;
    },
  };
}
