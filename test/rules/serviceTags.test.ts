/**
 * Service tags per address: a generated document in the published format with known nested ranges answers every
 * lookup most specific first, IPv4 and IPv6; `arcmon check --service-tags` names the tags of each resolved address
 * and the fix of a blocked endpoint names the tag to allow (a real DNS server and a real refused port on loopback).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../lib/cli/check';
import { settle } from '../../lib/probes/result';
import { fixFor } from '../../lib/rules/fixes';
import { indexServiceTags, withAzureAddressCheck } from '../../lib/rules/serviceTags';
import { startDnsServer } from '../helpers/dnsServer';
import { generateServiceTags, serviceTagsDocument } from '../helpers/serviceTagsFile';

const KNOWN = serviceTagsDocument([
  { name: 'AzureCloud', prefixes: ['20.0.0.0/8', '2603:1000::/24', '127.0.0.0/8'] },
  {
    name: 'AzureArcInfrastructure',
    systemService: 'AzureArcInfrastructure',
    prefixes: ['20.60.0.0/16', '2603:1030::/32', '127.0.0.0/16'],
  },
  {
    name: 'AzureArcInfrastructure.EastUS',
    region: 'eastus',
    systemService: 'AzureArcInfrastructure',
    prefixes: ['20.60.1.0/24', '2603:1030:1::/48', '127.0.0.0/24'],
  },
  { name: 'Single', prefixes: ['20.60.1.7/32'] },
]);

describe('service tags per address', () => {
  const index = indexServiceTags(KNOWN, 'known.json');

  it.each([
    ['20.60.1.7', ['Single', 'AzureArcInfrastructure.EastUS', 'AzureArcInfrastructure', 'AzureCloud']],
    ['20.60.1.5', ['AzureArcInfrastructure.EastUS', 'AzureArcInfrastructure', 'AzureCloud']],
    ['20.60.200.1', ['AzureArcInfrastructure', 'AzureCloud']],
    ['20.1.2.3', ['AzureCloud']],
    ['8.8.8.8', []],
    ['2603:1030:1::5', ['AzureArcInfrastructure.EastUS', 'AzureArcInfrastructure', 'AzureCloud']],
    ['2603:1030:ffff::1', ['AzureArcInfrastructure', 'AzureCloud']],
    ['2603:10ff::1', ['AzureCloud']],
    ['2001:db8::1', []],
    ['not-an-address', []],
  ])('%s is covered by %j, most specific first', (address, tags) => {
    expect(index.lookup(address).map((m) => m.tag)).toEqual(tags);
  });

  it("reports the region and the prefix that matched, and the file's changeNumber", () => {
    expect(index.lookup('20.60.1.5')[0]).toEqual({
      tag: 'AzureArcInfrastructure.EastUS',
      region: 'eastus',
      systemService: 'AzureArcInfrastructure',
      prefix: '20.60.1.0/24',
    });
    expect([index.changeNumber, index.cloud, index.prefixCount, index.tagCount]).toEqual([413, 'Public', 10, 4]);
  });

  it.each([
    ['{', /^bad\.json: not JSON \(/],
    ['{"changeNumber":1,"cloud":"Public"}', /^bad\.json: values: .*expected the ServiceTags_\*\.json shape/],
    [
      serviceTagsDocument([{ name: 'X', prefixes: ['20.0.0.0/33'] }]),
      /^bad\.json: values\[0\]\.properties\.addressPrefixes\[0\]: "20\.0\.0\.0\/33" is not an address prefix; the file is damaged, download it again$/,
    ],
  ])('refuses a damaged file with the path and the fix (%#)', (text, message) => {
    expect(() => indexServiceTags(text, 'bad.json')).toThrow(message);
  });

  it('indexes a file of the published size and agrees with a linear scan', () => {
    const { text, prefixCount } = generateServiceTags({ prefixes: 20_000, seed: 7 });
    const big = indexServiceTags(text, 'generated.json');
    expect(big.prefixCount).toBe(prefixCount);
    const doc = JSON.parse(text) as { values: { name: string; properties: { addressPrefixes: string[] } }[] };
    // A linear scan over the IPv4 prefixes, the slow way, for a sample of addresses inside them.
    const v4 = doc.values.flatMap((v) =>
      v.properties.addressPrefixes.filter((p) => !p.includes(':')).map((p) => ({ tag: v.name, p })),
    );
    const toN = (a: string) => a.split('.').reduce((n, x) => n * 256 + Number(x), 0);
    for (const { p } of v4.slice(0, 40)) {
      const [net = '', len = '32'] = p.split('/');
      const address = net.replace(/\d+$/, (last) => String(Number(last) + (Number(len) < 32 ? 1 : 0)));
      const expected = v4
        .filter(({ p: q }) => {
          const [qn = '', ql = '32'] = q.split('/');
          const mask = Number(ql) === 0 ? 0 : (0xffffffff << (32 - Number(ql))) >>> 0;
          return (toN(address) & mask) >>> 0 === (toN(qn) & mask) >>> 0;
        })
        .map((x) => x.tag)
        .sort();
      expect(
        big
          .lookup(address)
          .map((m) => m.tag)
          .sort(),
      ).toEqual(expected);
    }
  });
});

describe('arcmon check --service-tags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'arcmon-tags-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the tags of every resolved address, and the fix of a refused endpoint names the tag to allow', async () => {
    const dns = await startDnsServer();
    try {
      // 127.0.0.9:1 refuses connections: a real TCP_REFUSED. The tags file says the address is the Arc service's.
      dns.set('api.contoso.test', { A: ['127.0.0.9'] });
      const endpoints = join(dir, 'endpoints.json');
      writeFileSync(
        endpoints,
        JSON.stringify({
          version: 1,
          endpoints: [{ host: 'api.contoso.test', port: 1, protocol: 'tcp', purpose: 'test', requirement: 'always' }],
          scenarios: ['servers'],
          exclude: [],
        }),
      );
      const tags = join(dir, 'tags.json');
      writeFileSync(tags, KNOWN);
      let out = '';
      let err = '';
      const code = await runCheck(
        [
          '--endpoints',
          endpoints,
          '--dns-server',
          dns.address,
          '--service-tags',
          tags,
          '--no-allowlist',
          '--timeout-ms',
          '2000',
          '--json',
        ],
        { stdout: (s) => void (out += s), stderr: (s) => void (err += s), isTTY: false, env: {} },
      );
      expect(err).toBe('');

      expect(code).toBe(1);
      const doc = JSON.parse(out) as {
        serviceTags: { changeNumber: number };
        results: {
          targetId: string;
          failure?: { code: string };
          addressTags?: Record<string, { tag: string }[]>;
          fix?: { allow?: { serviceTags: string[] }; summary: string };
        }[];
      };
      expect(doc.serviceTags.changeNumber).toBe(413);
      const r = doc.results.find((x) => x.targetId === 'api.contoso.test:1');
      expect(r?.failure?.code).toBe('TCP_REFUSED');
      expect(r?.addressTags?.['127.0.0.9']?.map((m) => m.tag)).toEqual([
        'AzureArcInfrastructure.EastUS',
        'AzureArcInfrastructure',
        'AzureCloud',
      ]);
      expect(r?.fix?.allow?.serviceTags[0]).toBe('AzureArcInfrastructure.EastUS');
      expect(r?.fix?.summary).toContain(
        'or the service tags AzureArcInfrastructure.EastUS, AzureArcInfrastructure, AzureCloud',
      );
    } finally {
      await dns.close();
    }
  });

  it('refuses a tags file that is not one, naming the option', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '[]');
    let err = '';
    const code = await runCheck(['--service-tags', bad], {
      stdout: () => undefined,
      stderr: (s) => void (err += s),
      isTTY: false,
      env: {},
    });
    expect(code).toBe(2);
    expect(err.split('\n')[0]).toMatch(
      /^arcmon: --service-tags: .*bad\.json: document: .*expected the ServiceTags_\*\.json shape/,
    );
  });
});

describe('an Azure-operated name answered from outside Azure', () => {
  const index = indexServiceTags(KNOWN, 'known.json');
  const result = (addresses: { address: string; scope: 'public' | 'private' }[]) =>
    settle({
      targetId: 'gbl.his.arc.azure.com:443',
      host: 'gbl.his.arc.azure.com',
      port: 443,
      transport: 'tcp',
      findings: [],
      timings: { total: 5 },
      startedAt: '2026-12-02T10:00:00.000Z',
      dns: { addresses: addresses.map((a) => ({ ...a, family: 4 as const })), server: '10.1.2.3:53' },
    });
  const arc = { serviceTags: ['AzureArcInfrastructure'] };

  it('is a finding of its own, naming the address, the resolver and the file', () => {
    const r = withAzureAddressCheck(arc, result([{ address: '198.51.100.7', scope: 'public' }]), index);
    expect(r.verdict).toBe('degraded');
    expect(r.failure).toEqual({
      code: 'ADDRESS_OUTSIDE_AZURE',
      phase: 'dns',
      severity: 'degrading',
      message:
        'gbl.his.arc.azure.com resolved to 198.51.100.7 via 10.1.2.3:53, which no service tag of Public change 413 covers',
    });
    expect(
      fixFor({ host: 'gbl.his.arc.azure.com', port: 443, transport: 'tcp', serviceTags: ['AzureArcInfrastructure'] }, r)
        ?.summary,
    ).toContain('the real host is in AzureArcInfrastructure');
  });

  it.each([
    ['an address inside Azure', [{ address: '20.60.1.5', scope: 'public' as const }], arc],
    ['a private endpoint address', [{ address: '10.1.0.4', scope: 'private' as const }], arc],
    ['a third-party host (no service tag in the catalog)', [{ address: '198.51.100.7', scope: 'public' as const }], {}],
  ])('is not raised for %s', (_what, addresses, target) => {
    expect(withAzureAddressCheck(target, result(addresses), index).verdict).toBe('reachable');
  });
});
