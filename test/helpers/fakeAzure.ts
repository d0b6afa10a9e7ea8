/**
 * "Azure on loopback": for each concrete catalog host, a TLS server with an Azure-shaped chain (test root →
 * issuing intermediate → leaf for that name) on its own 127.0.0.x address and the real port (443, or UDP 123 for
 * NTP), answering with the status the real host gives without credentials; and a DNS server that maps every name
 * to its address. The catalog's targets are then probed exactly as they are — no port rewriting.
 *
 * Binding ports below 1024 needs root (as in CI) or `sysctl net.ipv4.ip_unprivileged_port_start=123`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Target } from '../../lib/catalog/types';
import { startDnsServer, type DnsTestServer } from './dnsServer';
import { startNtpServer, type NtpTestServer } from './ntpServer';
import { createAzureLikePki, createLeaf, type Issued } from './pki';
import { startTlsServer, type TlsServer, type TlsServerOptions } from './tlsServer';

/**
 * Concrete hosts for every wildcard of the public cloud's catalog, so a test can probe any scenario with nothing
 * skipped. The names are made up; they exist only in the tests' DNS servers.
 */
export const TEST_WILDCARDS = {
  notificationHosts: ['azgn-eastus-1.servicebus.windows.net'],
  blobAccounts: ['arcmonextensions'],
  serviceBusNamespaces: ['contoso-relay'],
  hosts: {
    '*.pypi.org': ['files.pypi.org'],
    '*.guestnotificationservice.azure.com': ['eastus.guestnotificationservice.azure.com'],
  },
};

/** What the real hosts answer to an unauthenticated GET / (FACTS.md). */
export function realStatusFor(host: string): number {
  if (host.startsWith('gbl.his.') || /\.his\.arc\.azure\./.test(host)) return 400;
  if (host.includes('.guestconfiguration.azure.')) return 404;
  if (host.endsWith('.dp.prod.appliances.azure.com')) return 401;
  return 200;
}

export interface FakeAzure {
  dns: DnsTestServer;
  /** TLS server per host. */
  servers: Map<string, TlsServer>;
  ntp: Map<string, NtpTestServer>;
  /** Address each host resolves to. */
  addresses: Map<string, string>;
  root: Issued;
  intermediate: Issued;
  /** Path of a PEM file with the test root: pass as `--expected-roots`. */
  expectedRootsFile: string;
  /** Restarts one host's TLS server with other options (same address and port). */
  replace(host: string, opts: Partial<TlsServerOptions>): Promise<TlsServer>;
  close(): Promise<void>;
}

function explainBind(err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES') {
    return new Error(
      'fake Azure needs to bind ports 443 and 123 on 127.0.0.x: run the tests as root (CI does) or lower ' +
        'net.ipv4.ip_unprivileged_port_start to 123',
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Starts fake endpoints for the given targets; addresses are 127.0.0.(base + i). */
export async function startFakeAzure(
  targets: readonly Pick<Target, 'host' | 'port' | 'protocol'>[],
  opts: { addressBase?: number; status?: (host: string) => number } = {},
): Promise<FakeAzure> {
  const { root, intermediate } = await createAzureLikePki();
  const dir = await mkdtemp(join(tmpdir(), 'arcmon-fake-azure-'));
  const expectedRootsFile = join(dir, 'expected-roots.pem');
  await writeFile(expectedRootsFile, root.certPem);
  const dns = await startDnsServer();
  const servers = new Map<string, TlsServer>();
  const ntp = new Map<string, NtpTestServer>();
  const addresses = new Map<string, string>();
  const options = new Map<string, TlsServerOptions>();
  const base = opts.addressBase ?? 10;
  const hosts = [...new Set(targets.map((t) => `${t.host}|${t.port}|${t.protocol}`))];
  try {
    for (const [i, key] of hosts.entries()) {
      const [host, port, protocol] = key.split('|') as [string, string, string];
      const address = `127.0.${Math.floor((base + i) / 250)}.${((base + i) % 250) + 2}`;
      addresses.set(host, address);
      dns.set(host, { A: [address] });
      if (protocol === 'ntp') {
        ntp.set(host, await startNtpServer({ host: address, port: Number(port) }));
        continue;
      }
      const leaf = await createLeaf(intermediate, [host]);
      const o: TlsServerOptions = {
        identity: { leaf, intermediates: [intermediate] },
        host: address,
        port: Number(port),
        httpStatus: (opts.status ?? realStatusFor)(host),
      };
      options.set(host, o);
      servers.set(host, await startTlsServer(o));
    }
  } catch (err) {
    await Promise.all([...servers.values(), ...ntp.values()].map((s) => s.close()));
    await dns.close();
    throw explainBind(err);
  }
  return {
    dns,
    servers,
    ntp,
    addresses,
    root,
    intermediate,
    expectedRootsFile,
    async replace(host, changes) {
      const current = servers.get(host);
      const o = options.get(host);
      if (!current || !o) throw new Error(`fake Azure has no TLS server for ${host}`);
      await current.close();
      const next = { ...o, ...changes };
      options.set(host, next);
      const started = await startTlsServer(next);
      servers.set(host, started);
      return started;
    },
    async close() {
      await Promise.all([...servers.values(), ...ntp.values()].map((s) => s.close()));
      await dns.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
