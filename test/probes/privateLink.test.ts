import { describe, expect, it } from 'vitest';
import { classifyAddress } from '../../lib/probes/addresses';
import { evaluatePrivateLink, parsePrivateRanges } from '../../lib/probes/privateLink';
import type { DnsFacts } from '../../lib/probes/types';

function facts(...ips: string[]): DnsFacts {
  return {
    server: '10.0.0.53:53',
    addresses: ips.map((address) => ({
      address,
      family: address.includes(':') ? 6 : 4,
      scope: classifyAddress(address),
    })),
  };
}

const his = { host: 'gbl.his.arc.azure.com', mustBePrivate: true };

describe('evaluatePrivateLink', () => {
  it.each<[string, { host: string; mustBePrivate: boolean }, DnsFacts, boolean, string[]]>([
    ['mode off', his, facts('20.50.1.2'), false, []],
    [
      'target may stay public',
      { host: 'login.microsoftonline.com', mustBePrivate: false },
      facts('20.190.1.1'),
      true,
      [],
    ],
    ['RFC 1918 address', his, facts('10.1.0.5'), true, []],
    ['172.16/12 and 192.168/16', his, facts('172.20.0.5', '192.168.7.7'), true, []],
    ['unique local IPv6', his, facts('fd12:3456::5'), true, []],
    ['no address at all (DNS failed; DNS reports it)', his, facts(), true, []],
    ['extra range declared private', his, facts('100.70.0.5'), true, ['100.64.0.0/10']],
    ['loopback declared private', his, facts('127.0.0.1', '::1'), true, ['127.0.0.0/8', '::1/128']],
  ])('passes: %s', (_case, target, dns, mode, privateRanges) => {
    expect(evaluatePrivateLink(target, dns, mode, { privateRanges })).toBeUndefined();
  });

  it.each<[string, DnsFacts, string[], string]>([
    [
      'a public address',
      facts('20.50.1.2'),
      [],
      'gbl.his.arc.azure.com resolved to 20.50.1.2 (public) via 10.0.0.53:53, not to a private endpoint address; check that this DNS server answers from the privatelink.his.arc.azure.com zone',
    ],
    [
      'private and public mixed: only the public ones are named',
      facts('10.1.0.5', '20.50.1.2', '2603:1030::7'),
      [],
      'gbl.his.arc.azure.com resolved to 20.50.1.2 (public), 2603:1030::7 (public) via 10.0.0.53:53, not to a private endpoint address; check that this DNS server answers from the privatelink.his.arc.azure.com zone',
    ],
    [
      'CGNAT is not a private endpoint range unless declared',
      facts('100.70.0.5'),
      [],
      'gbl.his.arc.azure.com resolved to 100.70.0.5 (cgnat) via 10.0.0.53:53, not to a private endpoint address; check that this DNS server answers from the privatelink.his.arc.azure.com zone',
    ],
    [
      'loopback is not private by default',
      facts('127.0.0.1'),
      [],
      'gbl.his.arc.azure.com resolved to 127.0.0.1 (loopback) via 10.0.0.53:53, not to a private endpoint address; check that this DNS server answers from the privatelink.his.arc.azure.com zone',
    ],
    [
      'a DNS filter answer of 0.0.0.0',
      facts('0.0.0.0'),
      ['10.0.0.0/8'],
      'gbl.his.arc.azure.com resolved to 0.0.0.0 (unspecified) via 10.0.0.53:53, not to a private endpoint address; check that this DNS server answers from the privatelink.his.arc.azure.com zone',
    ],
  ])('bypassed: %s', (_case, dns, privateRanges, message) => {
    expect(evaluatePrivateLink(his, dns, true, { privateRanges })).toEqual({
      code: 'PRIVATE_LINK_BYPASSED',
      phase: 'dns',
      severity: 'blocking',
      message,
    });
  });

  it('names the guest configuration zone for a regional host', () => {
    const result = evaluatePrivateLink(
      { host: 'eastus-gas.guestconfiguration.azure.com', mustBePrivate: true },
      facts('52.1.2.3'),
      true,
    );
    expect(result?.message).toBe(
      'eastus-gas.guestconfiguration.azure.com resolved to 52.1.2.3 (public) via 10.0.0.53:53, not to a private endpoint address; check that this DNS server answers from the privatelink.guestconfiguration.azure.com zone',
    );
  });

  it('rejects an invalid extra range with its text', () => {
    expect(() => parsePrivateRanges(['10.0.0.0/8', '10.0.0.0/40'])).toThrow(
      'Invalid address range "10.0.0.0/40": expected a CIDR such as 10.0.0.0/8 or fd00::/8',
    );
  });
});
