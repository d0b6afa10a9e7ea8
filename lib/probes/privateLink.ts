import { isIP } from 'node:net';
import type { Target } from '../catalog/types';
import { inCidr, parseCidr } from './addresses';
import type { Cidr } from './addresses';
import { finding } from './result';
import type { DnsFacts, Finding } from './types';

/** Options of {@link evaluatePrivateLink}. */
export interface PrivateLinkOptions {
  /**
   * CIDR ranges (`--private-range`, ARCMON_PRIVATE_RANGES, `privateRanges` in the endpoints file) that also count
   * as private endpoint addresses, beyond RFC 1918 (10/8, 172.16/12, 192.168/16)
   * and IPv6 unique local (fc00::/7). For networks whose VNets use other space (e.g. 100.64.0.0/10).
   * Default none. Validate them at the edge with {@link parsePrivateRanges}: an invalid range throws here too.
   */
  privateRanges?: readonly string[];
}

/**
 * The private DNS zones of Azure Arc's private link scope (`Microsoft.HybridCompute/privateLinkScopes`,
 * sub-resource `hybridcompute`), by the public domain each one overrides. Source: Microsoft's "Azure Private
 * Endpoint private DNS zone values" (MicrosoftDocs/azure-docs, articles/private-link/private-endpoint-dns.md,
 * Azure Arc row) and the built-in policy "Configure Azure Arc Private Link Scopes to use private DNS zones"
 * (Azure/azure-policy, Arc_PrivateEndpoint_DNS_DINE.json). Only the public cloud's zones are documented there.
 */
export const ARC_PRIVATE_DNS_ZONES: readonly { domain: string; zone: string }[] = [
  { domain: 'his.arc.azure.com', zone: 'privatelink.his.arc.azure.com' },
  { domain: 'guestconfiguration.azure.com', zone: 'privatelink.guestconfiguration.azure.com' },
  { domain: 'dp.kubernetesconfiguration.azure.com', zone: 'privatelink.dp.kubernetesconfiguration.azure.com' },
];

/** The private DNS zone that should answer for `host`, when one of Arc's zones covers it. */
export function privateDnsZoneFor(host: string): string | undefined {
  const name = host.toLowerCase().replace(/\.$/, '');
  return ARC_PRIVATE_DNS_ZONES.find((z) => name === z.domain || name.endsWith(`.${z.domain}`))?.zone;
}

/** Parses extra private ranges once (configuration); throws an Error naming the first invalid one. */
export function parsePrivateRanges(ranges: readonly string[]): Cidr[] {
  return ranges.map(parseCidr);
}

/**
 * Under private-link mode, a target that must be private must resolve only to private endpoint addresses;
 * any other address (public, CGNAT, loopback, link-local, 0.0.0.0 from a DNS filter) means the name bypasses
 * the private endpoint, typically because on-premises DNS does not forward the `privatelink.` zone.
 * Loopback is not private here: a private endpoint is never on the machine itself. Returns undefined when
 * the mode is off, the target may be public, or DNS gave no address (DNS failures are reported by DNS).
 */
export function evaluatePrivateLink(
  target: Pick<Target, 'host' | 'mustBePrivate'>,
  facts: DnsFacts,
  privateLinkMode: boolean,
  options: PrivateLinkOptions = {},
): Finding | undefined {
  if (!privateLinkMode || !target.mustBePrivate) return undefined;
  const extra = parsePrivateRanges(options.privateRanges ?? []);
  const outside = facts.addresses.filter(
    (a) => a.scope !== 'private' && !extra.some((range) => inCidr(a.address, range)),
  );
  if (outside.length === 0) return undefined;
  const listed = outside.map((a) => `${a.address} (${a.scope})`).join(', ');
  const zone = isIP(target.host) === 0 ? privateDnsZoneFor(target.host) : undefined;
  const hint =
    zone !== undefined
      ? `; check that this DNS server answers from the ${zone} zone`
      : isIP(target.host) === 0
        ? `; none of Arc's private DNS zones covers this name: check its record in the private endpoint's DNS configuration`
        : '';
  const chain = facts.cnames?.length ? ` (CNAME ${[target.host, ...facts.cnames].join(' → ')})` : '';
  return finding(
    'PRIVATE_LINK_BYPASSED',
    `${target.host} resolved to ${listed}${chain} via ${facts.server}, not to a private endpoint address${hint}`,
  );
}
