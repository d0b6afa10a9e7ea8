/**
 * The simulated world the rig builds: the customer's network, its firewall, and a fake Azure on an "internet"
 * made of documentation and benchmark address ranges that exist only inside the rig's namespaces.
 *
 *   monitor ns (customer VNet)        gateway ns (router, firewall, DNS, proxies)        internet ns (fake Azure)
 *   10.10.0.2/24 ──── veth ──── 10.10.0.1/24 │ 203.0.113.1/30 ──── veth ──── 203.0.113.2/30
 *                                                                                      198.18.x.y  public endpoints
 *                                                                                      10.99.x.y   private endpoints
 *
 * No namespace has a route to the host's network, and the host has none into them: every packet stays inside.
 */
import { CATALOG, expandTargets } from '../../lib/catalog';
import type { WildcardHosts } from '../../lib/catalog';

export const PLAN = {
  /** The monitor's own address in the customer VNet. */
  monitor: '10.10.0.2',
  /** The router: default gateway, DNS forwarder and proxy address of the customer VNet. */
  gateway: '10.10.0.1',
  lanPrefixLength: 24,
  lan: '10.10.0.0/24',
  gatewayWan: '203.0.113.1',
  internetWan: '203.0.113.2',
  wanPrefixLength: 30,
  /** Public addresses of fake Azure endpoints (RFC 2544 benchmark range). */
  publicRange: '198.18.0.0/16',
  /** A part of the benchmark range nobody answers in: the firewall drops it (hostile DNS answers point here). */
  blackholeRange: '198.19.0.0/16',
  /** Private-endpoint addresses, as a private link gives them (reached over the router, like ExpressRoute). */
  privateRange: '10.99.0.0/16',
  dnsPort: 53,
  proxyPort: 3128,
  garbageProxyPort: 3129,
  inspectorPort: 8443,
} as const;

/** The region every story runs in. */
export const REGION = 'eastus';

/**
 * Concrete hosts for the wildcards the catalog cannot make concrete alone, as a customer would put them in the
 * endpoints file (so no notification allowlist is fetched from the real service).
 */
export const RIG_WILDCARDS: WildcardHosts = {
  notificationHosts: ['azgnrelay-eastus-l1.servicebus.windows.net'],
  blobAccounts: ['arcmonextensions'],
  serviceBusNamespaces: ['contoso-relay'],
  hosts: { '*.guestnotificationservice.azure.com': ['eastus.guestnotificationservice.azure.com'] },
};

/** How a fake endpoint behaves towards a client. */
export type Behaviour =
  /** TLS with an Azure-like chain, then the real host's HTTP status. */
  | 'azure'
  /** TLS, then the response one byte a second, forever. */
  | 'drip'
  /** TLS, 200 and a chunked body that never ends. */
  | 'endless-body'
  /** Accepts the TCP connection and resets it at once. */
  | 'reset';

/** One fake endpoint of the internet namespace. */
export interface FakeHost {
  name: string;
  publicAddress: string;
  /** The private endpoint's address, for hosts the seed marks private under private link. */
  privateAddress?: string;
  /** The `privatelink.` name the public CNAME points at (private hosts only). */
  privateLinkName?: string;
  status: number;
  behaviour: Behaviour;
  /** Protocol: NTP hosts answer on UDP 123 instead of TLS on 443. */
  protocol: 'https' | 'ntp';
}

/** Statuses the real hosts answer an anonymous `GET /` with (see FACTS.md); 200 elsewhere. */
export function realStatus(host: string): number {
  if (host === 'gbl.his.arc.azure.com') return 400;
  if (host.endsWith('.guestconfiguration.azure.com')) return 404;
  if (host.endsWith('.dp.prod.appliances.azure.com')) return 401;
  return 200;
}

/** `gbl.his.arc.azure.com` → `gbl.privatelink.his.arc.azure.com`: where Azure's public CNAME leads. */
export function privateLinkName(host: string): string {
  const [first, ...rest] = host.split('.');
  return rest.length >= 2 ? `${first}.privatelink.${rest.join('.')}` : `privatelink.${host}`;
}

/** A host the rig adds beyond the catalog (hostile peers, for instance). */
export interface ExtraHost {
  name: string;
  behaviour: Behaviour;
  status?: number;
}

/**
 * Every concrete host of the public-cloud catalog in {@link REGION} (all scenarios), plus `extras`, each with its
 * own public address, and a private address for the hosts that must be private under private link.
 */
export function buildWorld(extras: readonly ExtraHost[] = []): FakeHost[] {
  // The seeds' catalog: the rows beyond them need other protocols (HTTP on 80, DNS on 53, HTTP/2) and are tested
  // against their own servers (test/probes/protocols.test.ts).
  const { targets } = expandTargets(
    CATALOG.filter((e) => e.source.document !== 'page'),
    {
      cloud: 'AzureCloud',
      region: REGION,
      scenarios: 'all',
      wildcards: RIG_WILDCARDS,
    },
  );
  const hosts: FakeHost[] = [];
  const seen = new Set<string>();
  const add = (
    name: string,
    fields: Omit<FakeHost, 'name' | 'publicAddress' | 'privateAddress'>,
    isPrivate: boolean,
  ) => {
    if (seen.has(name)) return;
    seen.add(name);
    const n = hosts.length + 1;
    hosts.push({
      name,
      publicAddress: `198.18.${n >> 8}.${n & 0xff}`,
      ...(isPrivate ? { privateAddress: `10.99.${n >> 8}.${n & 0xff}`, privateLinkName: privateLinkName(name) } : {}),
      ...fields,
    });
  };
  for (const t of targets) {
    const ntp = t.protocol === 'ntp';
    add(t.host, { status: realStatus(t.host), behaviour: 'azure', protocol: ntp ? 'ntp' : 'https' }, t.mustBePrivate);
  }
  for (const x of extras) add(x.name, { status: x.status ?? 200, behaviour: x.behaviour, protocol: 'https' }, false);
  return hosts;
}

/** The host called `name`; throws when the world has none (a typo in a test). */
export function hostNamed(world: readonly FakeHost[], name: string): FakeHost {
  const host = world.find((h) => h.name === name);
  if (!host) throw new Error(`the rig's world has no host ${name}`);
  return host;
}
