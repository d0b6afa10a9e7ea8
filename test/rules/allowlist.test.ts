/**
 * `arcmon allowlist`: every output format, for every cloud at `--scenario all`, accepted by the real tool that reads
 * it — the Bicep compiler (infra/bicep.sh's pinned one), Squid's own parser (`squid -k parse`), and a maintained PAC
 * engine (pac-resolver on QuickJS) that sends every catalog host where it should go.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { createPacResolver } from 'pac-resolver';
import { QuickJS } from 'quickjs-wasi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG, expandTargets, matchesHostPattern } from '../../lib/catalog';
import type { Cloud } from '../../lib/catalog/types';
import { runAllowlist } from '../../lib/cli/allowlist';
import { buildAllowlist, type Allowlist } from '../../lib/rules/allowlist';
import { formatAllowlist } from '../../lib/rules/formats';
import { bicepparamOf, resourcesOf, runBicep, snapshot, azdParameters } from '../infra/bicep';

const CLOUD_REGIONS: [Cloud, string][] = [
  ['AzureCloud', 'eastus'],
  ['AzureUSGovernment', 'usgovvirginia'],
  ['AzureChinaCloud', 'chinanorth2'],
];
const WILDCARDS = {
  notificationHosts: ['azgn-eastus-1.servicebus.windows.net'],
  blobAccounts: ['arcmonextensions'],
};

const dir = mkdtempSync(join(tmpdir(), 'arcmon-allowlist-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lists = new Map<Cloud, Allowlist>(
  CLOUD_REGIONS.map(([cloud, region]) => [cloud, buildAllowlist(CATALOG, { cloud, region, scenarios: 'all' })]),
);
const listOf = (cloud: Cloud): Allowlist => {
  const l = lists.get(cloud);
  if (!l) throw new Error(cloud);
  return l;
};

function run(cmd: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

describe.each(CLOUD_REGIONS)('%s, every scenario', (cloud) => {
  const list = listOf(cloud);

  it.each(['azure-firewall-bicep', 'nsg-bicep'] as const)('%s compiles and lints with 0 diagnostics', (format) => {
    const file = join(dir, `${cloud}-${format}.bicep`);
    writeFileSync(file, formatAllowlist(list, format, { sourceAddresses: ['10.1.0.0/24'] }));
    // bicep build reports the linter's diagnostics too: any printed line is one.
    const build = runBicep(['build', file, '--outfile', `${file}.json`], dir);
    expect(build.output).toBe('');
    expect(build.code).toBe(0);
  });

  it('the Bicep module and the ARM JSON hold the same rule collections', () => {
    const file = join(dir, `${cloud}-azure-firewall-bicep.bicep.json`);
    const compiled = JSON.parse(readFileSync(file, 'utf8')) as {
      resources: Record<string, { type: string; properties?: { ruleCollections: unknown } }>;
    };
    const group = Object.values(compiled.resources).find(
      (r) => r.type === 'Microsoft.Network/firewallPolicies/ruleCollectionGroups',
    );
    const fromBicep = JSON.stringify(group?.properties?.ruleCollections).replaceAll(
      `"[parameters('sourceAddresses')]"`,
      '["10.1.0.0/24"]',
    );
    const json = formatAllowlist(list, 'azure-firewall-json', { sourceAddresses: ['10.1.0.0/24'] });
    expect(JSON.parse(fromBicep)).toEqual(JSON.parse(json));
  });

  it('squid -k parse accepts the rules without a warning', async () => {
    const rules = join(dir, `${cloud}-arc.conf`);
    const conf = join(dir, `${cloud}-squid.conf`);
    writeFileSync(rules, formatAllowlist(list, 'squid'));
    writeFileSync(conf, `http_port 127.0.0.1:3128\ninclude ${rules}\nhttp_access deny all\n`);
    const r = await run('squid', ['-k', 'parse', '-f', conf]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain(`Processing: include ${rules}`);
    expect(r.output.split('\n').filter((l) => /WARNING|ERROR|FATAL|BUNGLED/i.test(l))).toEqual([]);
  });
});

describe('what each device is told', () => {
  let pacFor: (cloud: Cloud) => (url: string) => Promise<string>;
  beforeAll(async () => {
    const wasm = readFileSync(createRequire(import.meta.url).resolve('quickjs-wasi/quickjs.wasm'));
    const qjs = await QuickJS.create({ wasm });
    pacFor = (cloud) =>
      createPacResolver(
        qjs,
        formatAllowlist(
          buildAllowlist(CATALOG, {
            cloud,
            region: CLOUD_REGIONS.find(([c]) => c === cloud)?.[1] ?? '',
            scenarios: 'all',
            wildcards: WILDCARDS,
          }),
          'pac',
          { proxyAddress: 'proxy.contoso.com:3128' },
        ),
      );
  });

  it.each(CLOUD_REGIONS)(
    'the PAC file sends every concrete %s host the monitor probes over TCP to the proxy, and nothing else',
    async (cloud, region) => {
      const find = pacFor(cloud);
      const probed = expandTargets(CATALOG, { cloud, region, scenarios: 'all', wildcards: WILDCARDS }).targets;
      const wrong: string[] = [];
      for (const t of probed.filter((x) => x.transport === 'tcp')) {
        const got = await find(`https://${t.host}:${t.port}/`);
        if (got !== 'PROXY proxy.contoso.com:3128') wrong.push(`${t.host}: ${got}`);
      }
      expect(wrong).toEqual([]);
      for (const other of ['example.com', 'arc.azure.com.evil.example', 'login.microsoftonline.com.example.org'])
        expect(await find(`https://${other}/`)).toBe('DIRECT');
    },
  );

  it('Azure Firewall: leftmost wildcards stay, a wildcard inside a label becomes its hosts or a broader, labelled rule', () => {
    const json = (wildcards?: typeof WILDCARDS) =>
      JSON.parse(
        formatAllowlist(
          buildAllowlist(CATALOG, {
            cloud: 'AzureCloud',
            region: 'eastus',
            scenarios: 'all',
            ...(wildcards ? { wildcards } : {}),
          }),
          'azure-firewall-json',
        ),
      ) as { name: string; rules: { name: string; description: string; targetFqdns?: string[] }[] }[];
    const fqdnRules = (c: ReturnType<typeof json>) => c.find((x) => x.name === 'arc-fqdns')?.rules ?? [];
    const all = fqdnRules(json()).flatMap((r) => r.targetFqdns ?? []);
    expect(all).toContain('*.his.arc.azure.com');
    expect(all.filter((n) => n.indexOf('*') > 0)).toEqual([]);
    const azgn = fqdnRules(json()).find((r) => r.name.startsWith('azgnany'));
    expect(azgn?.targetFqdns).toEqual(['*.servicebus.windows.net']);
    expect(azgn?.description).toContain('azgn*.servicebus.windows.net has a wildcard inside a label');
    expect(fqdnRules(json(WILDCARDS)).find((r) => r.name.startsWith('azgnany'))?.targetFqdns).toEqual([
      'azgn-eastus-1.servicebus.windows.net',
    ]);
  });

  it('Azure Firewall: NTP as a network rule on UDP 123, service tags as network rules', () => {
    const collections = JSON.parse(formatAllowlist(listOf('AzureCloud'), 'azure-firewall-json')) as {
      name: string;
      rules: {
        ipProtocols?: string[];
        destinationFqdns?: string[];
        destinationPorts?: string[];
        destinationAddresses?: string[];
      }[];
    }[];
    const network = collections.find((c) => c.name === 'arc-network')?.rules ?? [];
    expect(network).toContainEqual(
      expect.objectContaining({
        ipProtocols: ['UDP'],
        destinationFqdns: ['time.windows.com'],
        destinationPorts: ['123'],
      }),
    );
    const tags = collections.find((c) => c.name === 'arc-service-tags')?.rules.flatMap((r) => r.destinationAddresses);
    expect(tags).toEqual(
      expect.arrayContaining(['AzureArcInfrastructure', 'AzureActiveDirectory', 'AzureResourceManager']),
    );
  });

  it('Squid matches the hosts the monitor probes: every concrete TCP 443 host falls under a dstdomain or regex', () => {
    const conf = formatAllowlist(
      buildAllowlist(CATALOG, { cloud: 'AzureCloud', region: 'eastus', scenarios: 'all' }),
      'squid',
    );
    const domains = [...conf.matchAll(/dstdomain (\S+)/g)].map((m) => m[1] ?? '');
    const regexes = [...conf.matchAll(/dstdom_regex -i (\S+)/g)].map((m) => new RegExp(m[1] ?? '$^', 'i'));
    const probed = expandTargets(CATALOG, {
      cloud: 'AzureCloud',
      region: 'eastus',
      scenarios: 'all',
      wildcards: WILDCARDS,
    }).targets.filter((t) => t.transport === 'tcp' && t.port === 443);
    const covered = (host: string) =>
      domains.some((d) => (d.startsWith('.') ? host === d.slice(1) || host.endsWith(d) : host === d)) ||
      regexes.some((r) => r.test(host));
    expect(probed.map((t) => t.host).filter((h) => !covered(h))).toEqual([]);
    // The regex stays inside one label: azgn*.servicebus.windows.net does not admit azgn.evil.example/servicebus.
    expect(regexes.some((r) => r.test('azgnx.evil.servicebus.windows.net'))).toBe(false);
  });

  it('plain lists: one name a line, and a CSV row per concrete host with its port and requirement', () => {
    const list = buildAllowlist(CATALOG, {
      cloud: 'AzureCloud',
      region: 'eastus',
      scenarios: 'all',
      wildcards: WILDCARDS,
    });
    const names = formatAllowlist(list, 'fqdn').trim().split('\n');
    expect(names).toContain('*.his.arc.azure.com');
    expect(names).toContain('azgn-eastus-1.servicebus.windows.net');
    expect(names.filter((n) => n.indexOf('*') > 0)).toEqual([]);
    const rows = formatAllowlist(list, 'csv').trim().split('\r\n');
    expect(rows[0]).toBe('host,pattern,port,transport,protocol,requirement,purpose,service_tags,entries,note');
    expect(rows).toContainEqual(expect.stringMatching(/^time\.windows\.com,time\.windows\.com,123,udp,ntp,/));
    expect(rows).toContainEqual(
      expect.stringMatching(
        /^eastus-gas\.guestconfiguration\.azure\.com,\*\.guestconfiguration\.azure\.com,443,tcp,https,always,/,
      ),
    );
    for (const host of names.filter((n) => !n.includes('*')))
      expect(list.items.some((i) => i.hosts.includes(host) || matchesHostPattern(host, i.pattern))).toBe(true);
  });
});

describe('arcmon allowlist', () => {
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return {
      out,
      err,
      io: {
        stdout: (s: string) => void out.push(s),
        stderr: (s: string) => void err.push(s),
        isTTY: false,
        env: {},
        signal: new AbortController().signal,
      },
    };
  };

  it.each([
    [
      ['--format', 'nope'],
      'arcmon allowlist: --format must be one of azure-firewall-bicep, azure-firewall-json, nsg-bicep, squid, pac, fqdn, csv, got "nope"',
    ],
    [
      ['--format', 'pac'],
      'arcmon allowlist: --format pac needs --proxy-address HOST:PORT (the proxy the Arc hosts go to)',
    ],
    [
      ['--format', 'pac', '--proxy-address', 'proxy'],
      'arcmon allowlist: --proxy-address must be HOST:PORT, e.g. proxy.contoso.com:3128, got "proxy"',
    ],
    [
      ['--format', 'fqdn', '--source', '10.0.0.0/8,garbage'],
      'arcmon allowlist: --source takes IP addresses or CIDR ranges (or *), got "garbage"',
    ],
    [
      ['--format', 'fqdn', '--cloud', 'azurecloud'],
      'arcmon allowlist: --cloud must be one of AzureCloud, AzureUSGovernment, AzureChinaCloud, got "azurecloud"',
    ],
  ])('refuses %j with a message naming the option', async (argv, message) => {
    const t = io();
    expect(await runAllowlist(argv, t.io)).toBe(2);
    expect(t.err.join('').split('\n')[0]).toBe(message);
    expect(t.out).toEqual([]);
  });

  it('writes the requested format and says on stderr which wildcards have no concrete host', async () => {
    const t = io();
    expect(await runAllowlist(['--format', 'fqdn', '--region', 'eastus', '--scenario', 'servers'], t.io)).toBe(0);
    expect(t.out.join('').split('\n')).toEqual(
      expect.arrayContaining(['*.guestconfiguration.azure.com', 'login.microsoftonline.com']),
    );
    expect(t.err.join('')).toContain('azgn*.servicebus.windows.net:443 has no concrete host here');
  });

  it('feeds main.bicep: the JSON goes into a policy of another subscription as the "azure-arc" group', () => {
    const collections = JSON.parse(
      formatAllowlist(listOf('AzureCloud'), 'azure-firewall-json', { sourceAddresses: ['10.20.0.0/16'] }),
    ) as unknown[];
    const policy =
      '/subscriptions/99999999-8888-7777-6666-555555555555/resourceGroups/rg-hub/providers/Microsoft.Network/firewallPolicies/fwp-hub';
    const snap = snapshot(
      bicepparamOf({
        ...azdParameters({ AZURE_ENV_NAME: 'fw', AZURE_LOCATION: 'westeurope', ARCMON_ALERT_EMAIL: 'ops@contoso.com' }),
        arcFirewallRules: { firewallPolicyResourceId: policy, priority: 250, ruleCollections: collections },
      }),
    );
    const groups = resourcesOf(snap, 'Microsoft.Network/firewallPolicies/ruleCollectionGroups');
    expect(groups.map((g) => g.id)).toEqual([`${policy}/ruleCollectionGroups/azure-arc`]);
    expect((groups[0]?.properties as { priority: number; ruleCollections: unknown }).priority).toBe(250);
    expect((groups[0]?.properties as { ruleCollections: unknown }).ruleCollections).toEqual(collections);
    const without = snapshot(
      bicepparamOf(
        azdParameters({ AZURE_ENV_NAME: 'fw', AZURE_LOCATION: 'westeurope', ARCMON_ALERT_EMAIL: 'ops@contoso.com' }),
      ),
    );
    expect(resourcesOf(without, 'Microsoft.Network/firewallPolicies/ruleCollectionGroups')).toEqual([]);
  });
});
