/**
 * A fix for every failure: what to change, in the domain's terms, for a blocked or degraded result — the FQDN,
 * port and protocol to allow (with the service tags the catalog lists for it), the privatelink zone to link or
 * forward, the proxy rule, the CA to trust or to exempt from inspection, the time source to open. The table of
 * FIXES is keyed by every failure code, so a new code without a fix does not compile.
 */
import type { Cloud } from '../catalog/types';
import type { FailureCode, ProbeResult } from '../probes/types';

/** Where the change is made. */
export type FixPlace =
  | 'firewall'
  | 'dns'
  | 'proxy'
  | 'tls-inspection'
  | 'trust-store'
  | 'time-source'
  | 'routing'
  | 'monitor-configuration'
  | 'endpoint';

/** What to change, for one result. */
export interface Fix {
  /** Where the change is made. */
  place: FixPlace;
  /** One line a person acts on. */
  summary: string;
  /** The flow to allow, when the fix is a firewall or proxy rule. */
  allow?: { host: string; port: number; protocol: 'TCP' | 'UDP'; serviceTags: string[] };
  /** The privatelink zone to link to the VNet or forward from on-premises DNS. */
  privateDnsZone?: string;
  /** The issuer (inspection CA) to exempt or trust. */
  issuer?: string;
}

/** What a fix needs to know about the target. */
export interface FixTarget {
  host: string;
  port: number;
  transport: 'tcp' | 'udp';
  /** Service tags the catalog lists for it. Default none (third-party and user endpoints). */
  serviceTags?: readonly string[] | undefined;
  /** The target's cloud, for the privatelink zone names. Default AzureCloud. */
  cloud?: Cloud;
  /**
   * Service tags that cover the addresses the name resolved to (from a service tags file), most specific first.
   * When given they name the tag to allow instead of the catalog's. Default none.
   */
  addressTags?: readonly string[] | undefined;
}

interface FixContext {
  target: FixTarget;
  result: ProbeResult;
  flow: string;
  allow: NonNullable<Fix['allow']>;
  tags: string;
  dnsServer: string;
  proxy: string;
  issuer?: string;
  /** The catalog's service tags for the target, as text. */
  catalogTags: string;
}

/**
 * The privatelink zones of Azure Arc (Azure Private Endpoint DNS zone values, "Azure Arc" rows): the service's
 * parent domain with `privatelink.` in front. Hosts outside them are not served by an Arc private endpoint.
 */
const PRIVATE_LINK_PARENTS: Readonly<Record<Cloud, readonly string[]>> = {
  AzureCloud: ['his.arc.azure.com', 'guestconfiguration.azure.com', 'dp.kubernetesconfiguration.azure.com'],
  AzureUSGovernment: ['his.arc.azure.us', 'guestconfiguration.azure.us', 'dp.kubernetesconfiguration.azure.us'],
  AzureChinaCloud: ['his.arc.azure.cn', 'guestconfiguration.azure.cn', 'dp.kubernetesconfiguration.azure.cn'],
};

/** The privatelink zone that must answer for `host` under Arc private link, if any. */
export function privateLinkZoneFor(host: string, cloud: Cloud = 'AzureCloud'): string | undefined {
  const h = host.toLowerCase();
  const parent = PRIVATE_LINK_PARENTS[cloud].find((p) => h.endsWith(`.${p}`));
  return parent === undefined ? undefined : `privatelink.${parent}`;
}

const firewall = (c: FixContext, why: string): Fix => ({
  place: 'firewall',
  summary: `${why}: allow ${c.flow} on the firewall (FQDN rule${c.tags}); arcmon allowlist writes the rule`,
  allow: c.allow,
});

const inspectionExemption = (c: FixContext, what: string): Fix => ({
  place: 'tls-inspection',
  summary: `${what}: exempt ${c.target.host} from TLS inspection${c.issuer ? ` on the device issuing as "${c.issuer}"` : ''}, and allow ${c.flow}`,
  allow: c.allow,
  ...(c.issuer ? { issuer: c.issuer } : {}),
});

const FIXES: Record<FailureCode, (c: FixContext) => Fix> = {
  WILDCARD_UNRESOLVED: (c) => ({
    place: 'monitor-configuration',
    summary: `give the monitor the concrete hosts of ${c.target.host}: ${/fix: (.*)$/.exec(c.result.failure?.message ?? '')?.[1] ?? 'set them in the endpoints JSON'}`,
  }),
  DNS_NXDOMAIN: (c) => ({
    place: 'dns',
    summary: `${c.dnsServer} says ${c.target.host} does not exist: let it resolve public names in ${parentOf(c.target.host)} (forward to an internet resolver or Azure DNS), and remove any DNS filter entry for it`,
  }),
  DNS_NO_ADDRESS: (c) => ({
    place: 'dns',
    summary: `${c.dnsServer} has ${c.target.host} but no A or AAAA record: an empty record (often a privatelink zone created before its endpoint) shadows the real one; delete it or add the private endpoint's address`,
  }),
  DNS_SERVFAIL: (c) => ({
    place: 'dns',
    summary: `${c.dnsServer} fails to resolve ${c.target.host}: check its forwarders for ${parentOf(c.target.host)} and that it can reach them`,
  }),
  DNS_TIMEOUT: (c) => ({
    place: 'dns',
    summary: `${c.dnsServer} does not answer for ${c.target.host}: allow DNS (UDP and TCP 53) from the machines to it, or use a DNS server that answers`,
  }),
  DNS_BAD_RESPONSE: (c) => ({
    place: 'dns',
    summary: `the DNS answer for ${c.target.host} from ${c.dnsServer} is malformed: a device in the path rewrites DNS; let DNS to that server pass unmodified`,
  }),
  ADDRESS_OUTSIDE_AZURE: (c) => ({
    place: 'dns',
    summary: `${c.target.host} resolves outside Azure's published ranges: find the DNS server, filter or hosts entry that rewrites it and let the real answer through${c.catalogTags ? ` (the real host is in ${c.catalogTags})` : ''}`,
  }),
  DNS_FILTERED: (c) => ({
    place: 'dns',
    summary: `a DNS filter answers a sinkhole address for ${c.target.host}: allow ${parentOf(c.target.host)} in the DNS filtering policy (or its category) for the machines`,
  }),
  DNS_FAMILY_TIMEOUT: (c) => ({
    place: 'dns',
    summary: `${c.dnsServer} answers one address family for ${c.target.host} but drops the other (often AAAA): make it answer both, even with "no record", so clients do not wait`,
  }),
  SOME_ADDRESSES_FAILED: (c) =>
    firewall(c, `some of ${c.target.host}'s addresses cannot be reached (the agent falls back to the others)`),
  INSPECTION_DEVICE_ANSWERED: (c) =>
    inspectionExemption(c, `the inspecting device answers for ${c.target.host} itself (a block page)`),
  PRIVATE_LINK_BYPASSED: (c) => {
    const zone = privateLinkZoneFor(c.target.host, c.target.cloud);
    return {
      place: 'dns',
      summary: zone
        ? `${c.target.host} must resolve through the ${zone} zone: link that zone to the VNet whose DNS the machines use, or forward ${zone} from on-premises DNS to Azure DNS (a DNS private resolver's inbound endpoint)`
        : `${c.target.host} must resolve to its private endpoint: add the record the private endpoint registered to the DNS the machines use`,
      ...(zone ? { privateDnsZone: zone } : {}),
    };
  },
  TCP_REFUSED: (c) => firewall(c, `${c.target.host}:${c.target.port} is rejected`),
  TCP_TIMEOUT: (c) => firewall(c, `${c.target.host}:${c.target.port} is dropped`),
  NET_UNREACHABLE: (c) => ({
    place: 'routing',
    summary: `no route to ${c.target.host}'s address: add a route (a default route through the firewall) for it from the machines' subnet, then allow ${c.flow}`,
    allow: c.allow,
  }),
  CONNECTION_RESET: (c) =>
    firewall(c, `a device resets the connection to ${c.target.host} (SNI filtering resets names it does not know)`),
  PROXY_UNREACHABLE: (c) => ({
    place: 'proxy',
    summary: `the proxy ${c.proxy} cannot be reached (so neither can ${c.target.host}): correct its address in the agents' proxy setting (azcmagent config set proxy.url) or allow the machines to reach it`,
  }),
  PROXY_AUTH_REQUIRED: (c) => ({
    place: 'proxy',
    summary: `the proxy ${c.proxy} demands authentication: let the Arc machines through without it (exempt their addresses, or ${c.target.host}), since the agents do not answer a 407`,
  }),
  PROXY_REFUSED: (c) => ({
    place: 'proxy',
    summary: `the proxy ${c.proxy} refuses CONNECT to ${c.target.host}:${c.target.port}: add it to the proxy's allowlist (arcmon allowlist --format squid or pac)`,
    allow: c.allow,
  }),
  PROXY_BAD_RESPONSE: (c) => ({
    place: 'proxy',
    summary: `${c.proxy} does not speak HTTP proxy: check the proxy URL's scheme, host and port`,
  }),
  PROXY_TIMEOUT: (c) => ({
    place: 'proxy',
    summary: `the proxy ${c.proxy} does not answer CONNECT to ${c.target.host} in time: check the proxy's health and its own route to the internet`,
  }),
  TLS_HANDSHAKE_FAILED: (c) => inspectionExemption(c, `TLS to ${c.target.host} fails in the path`),
  TLS_TIMEOUT: (c) => firewall(c, `TLS to ${c.target.host} stalls after the connection opens (an SNI filter holds it)`),
  TLS_VERSION_BELOW_1_2: (c) =>
    inspectionExemption(c, `the path to ${c.target.host} negotiates TLS older than 1.2, which the agents refuse`),
  CERT_EXPIRED: (c) =>
    c.issuer
      ? inspectionExemption(
          c,
          `the inspection device presents an expired certificate for ${c.target.host}; renew its CA or`,
        )
      : {
          place: 'endpoint',
          summary: `${c.target.host}'s own certificate has expired: report it to the endpoint's owner (for a Microsoft host, Microsoft support); check the clock first`,
        },
  CERT_NOT_YET_VALID: (c) => ({
    place: 'time-source',
    summary: `a certificate of ${c.target.host} is not valid yet: this machine's clock is probably behind; synchronise it with a time source`,
  }),
  CERT_NAME_MISMATCH: (c) => ({
    place: 'dns',
    summary: `the server answering for ${c.target.host} is not it (a DNS override, captive portal or block page): make the name resolve to the real endpoint, or exempt it from inspection`,
  }),
  CERT_UNTRUSTED: (c) => ({
    place: 'trust-store',
    summary: c.issuer
      ? `the chain for ${c.target.host} ends at "${c.issuer}", which the machines do not trust: add that root to their operating system's trust store, or exempt ${c.target.host} from inspection`
      : `the chain for ${c.target.host} does not reach a trusted root: add the missing root to the machines' trust store`,
    ...(c.issuer ? { issuer: c.issuer } : {}),
  }),
  TLS_INTERCEPTED: (c) => inspectionExemption(c, `${c.target.host} is inspected`),
  CERT_NEAR_EXPIRY: (c) =>
    c.issuer
      ? {
          place: 'tls-inspection',
          summary: `the inspection CA "${c.issuer}" issues a certificate for ${c.target.host} that expires soon: renew it, or exempt the host from inspection`,
          issuer: c.issuer,
        }
      : {
          place: 'endpoint',
          summary: `${c.target.host}'s certificate expires soon: nothing to change on your side unless it lapses`,
        },
  HTTP_TIMEOUT: (c) =>
    inspectionExemption(
      c,
      `${c.target.host} accepts the connection but no HTTP answer comes (a proxy or inspection device holds it)`,
    ),
  HTTP_PROTOCOL_ERROR: (c) =>
    inspectionExemption(c, `something that is not ${c.target.host} answers (a block page or captive portal)`),
  SLOW_RESPONSE: (c) => ({
    place: 'firewall',
    summary: `${c.target.host} answers slowly: check the load of the proxy or firewall on the path and the route to it`,
  }),
  NTP_TIMEOUT: (c) => ({
    place: 'time-source',
    summary: `no NTP answer from ${c.target.host}: allow UDP ${c.target.port} to it on the firewall, or point the machines at an internal time source`,
    allow: c.allow,
  }),
  NTP_BAD_RESPONSE: (c) => ({
    place: 'time-source',
    summary: `${c.target.host} answers NTP with an error or kiss-of-death: use another time source`,
  }),
  CLOCK_SKEW: (c) => ({
    place: 'time-source',
    summary: `this machine's clock is off against ${c.target.host}: synchronise it (w32time on Windows, chrony or systemd-timesyncd on Linux)`,
  }),
  WEBSOCKET_REFUSED: (c) => ({
    place: 'proxy',
    summary: `the path to ${c.target.host} refuses the WebSocket upgrade while plain HTTPS works: let the proxy or inspection device pass "Upgrade: websocket" (outbound WebSocket) to it`,
    allow: c.allow,
  }),
  HTTP2_REFUSED: (c) =>
    inspectionExemption(
      c,
      `the path to ${c.target.host} does not let HTTP/2 (ALPN h2) through; the resource bridge needs it`,
    ),
  DNS_PORT_UNREACHABLE: (c) => ({
    place: 'firewall',
    summary: `the DNS server ${c.target.host} does not answer on port ${c.target.port}: allow DNS (UDP and TCP ${c.target.port}) from the appliance to it`,
    allow: c.allow,
  }),
  DEADLINE_EXCEEDED: () => ({
    place: 'monitor-configuration',
    summary:
      'the probe did not finish in its deadline: raise ARCMON_TIMEOUT_MS (--timeout-ms) or lower the concurrency',
  }),
};

function parentOf(host: string): string {
  const labels = host.split('.');
  return labels.length > 2 ? labels.slice(1).join('.') : host;
}

/** The fix for a blocked or degraded result (its deciding finding); undefined for a reachable or skipped-free one. */
export function fixFor(target: FixTarget, result: ProbeResult): Fix | undefined {
  const failure = result.failure;
  if (!failure) return undefined;
  const protocol = target.transport === 'udp' ? 'UDP' : 'TCP';
  const serviceTags = [...(target.addressTags?.length ? target.addressTags : (target.serviceTags ?? []))];
  const ctx: FixContext = {
    target,
    result,
    flow: `${protocol} ${target.port} to ${target.host}`,
    allow: { host: target.host, port: target.port, protocol, serviceTags },
    tags:
      serviceTags.length > 0
        ? `, or the service tag${serviceTags.length > 1 ? 's' : ''} ${serviceTags.join(', ')}`
        : '',
    dnsServer:
      result.dns?.server && result.dns.server !== 'system' ? `the DNS server ${result.dns.server}` : 'the DNS server',
    proxy: result.proxy ?? 'configured',
    catalogTags: (target.serviceTags ?? []).join(', '),
    ...(result.tls?.interceptedBy ? { issuer: result.tls.interceptedBy } : {}),
  };
  return FIXES[failure.code](ctx);
}
