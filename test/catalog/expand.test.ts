import { describe, expect, it } from 'vitest';
import { CATALOG, SEED_CATALOG } from '../../lib/catalog/entries';
import { expandTargets, matchesHostPattern, resolveScenarios } from '../../lib/catalog/expand';
import type { ExpandOptions, WildcardHosts } from '../../lib/catalog/expand';
import { CLOUDS, REQUIREMENTS } from '../../lib/catalog/types';
import type { CatalogEntry, Cloud } from '../../lib/catalog/types';

const WHERE = 'in the endpoints JSON (app setting ARCMON_ENDPOINTS_JSON, or the file given to --endpoints)';

function expandEntry(id: string, opts: Partial<ExpandOptions> & { cloud: Cloud }) {
  const entries = CATALOG.filter((e) => e.id === id);
  expect(entries, `catalog entry ${id}`).toHaveLength(1);
  return expandTargets(entries, { region: 'eastus', scenarios: 'all', ...opts });
}

const hostsOf = (r: { targets: { host: string }[] }) => r.targets.map((t) => t.host);

describe('wildcard rules', () => {
  it.each<[string, string, Cloud, string, WildcardHosts, string[]]>([
    [
      'his, public cloud, built-in code',
      'servers.azurecloud.his',
      'AzureCloud',
      'westeurope',
      {},
      ['gbl.his.arc.azure.com', 'weu.his.arc.azure.com'],
    ],
    [
      'his, configured code wins over the map',
      'servers.azurecloud.his',
      'AzureCloud',
      'eastus',
      { hisRegionalPrefix: 'eus2' },
      ['eus2.his.arc.azure.com', 'gbl.his.arc.azure.com'],
    ],
    [
      'his, Government with a code',
      'servers.azureusgovernment.his',
      'AzureUSGovernment',
      'usgovvirginia',
      { hisRegionalPrefix: 'usgv' },
      ['gbl.his.arc.azure.us', 'usgv.his.arc.azure.us'],
    ],
    [
      'his, China with a code',
      'servers.azurechinacloud.his',
      'AzureChinaCloud',
      'chinanorth3',
      { hisRegionalPrefix: 'cn3' },
      ['cn3.his.arc.azure.cn', 'gbl.his.arc.azure.cn'],
    ],
    [
      'his, resource bridge',
      'bridge.his',
      'AzureCloud',
      'australiaeast',
      {},
      ['ae.his.arc.azure.com', 'gbl.his.arc.azure.com'],
    ],
    [
      'guest configuration, public',
      'servers.azurecloud.guestconfiguration',
      'AzureCloud',
      'eastus',
      {},
      ['agentserviceapi.guestconfiguration.azure.com', 'eastus-gas.guestconfiguration.azure.com'],
    ],
    [
      'guest configuration, Government',
      'servers.azureusgovernment.guestconfiguration',
      'AzureUSGovernment',
      'usgovarizona',
      {},
      ['agentserviceapi.guestconfiguration.azure.us', 'usgovarizona-gas.guestconfiguration.azure.us'],
    ],
    [
      'guest configuration, China',
      'servers.azurechinacloud.guestconfiguration',
      'AzureChinaCloud',
      'chinaeast2',
      {},
      ['agentserviceapi.guestconfiguration.azure.cn', 'chinaeast2-gas.guestconfiguration.azure.cn'],
    ],
    [
      'appliance data plane',
      'bridge.dp-appliances',
      'AzureCloud',
      'westus2',
      {},
      ['westus2.dp.prod.appliances.azure.com'],
    ],
    [
      'notification relays, public',
      'servers.azurecloud.notification-servicebus',
      'AzureCloud',
      'eastus',
      {
        notificationHosts: ['azgnrelay-eastus-l1.servicebus.windows.net', 'AZGNRELAY-EASTUS-L2.servicebus.windows.net'],
      },
      ['azgnrelay-eastus-l1.servicebus.windows.net', 'azgnrelay-eastus-l2.servicebus.windows.net'],
    ],
    [
      'notification relays, China',
      'servers.azurechinacloud.notification-servicebus',
      'AzureChinaCloud',
      'chinanorth3',
      { notificationHosts: ['azgnrelay-chinanorth3-l1.servicebus.chinacloudapi.cn'] },
      ['azgnrelay-chinanorth3-l1.servicebus.chinacloudapi.cn'],
    ],
    [
      'extension blobs, public',
      'servers.azurecloud.blob',
      'AzureCloud',
      'eastus',
      { blobAccounts: ['arcext', 'contosopkgs'] },
      ['arcext.blob.core.windows.net', 'contosopkgs.blob.core.windows.net'],
    ],
    [
      'extension blobs, Government',
      'servers.azureusgovernment.blob',
      'AzureUSGovernment',
      'usgovvirginia',
      { blobAccounts: ['arcext'] },
      ['arcext.blob.core.usgovcloudapi.net'],
    ],
    [
      'extension blobs, China',
      'servers.azurechinacloud.blob',
      'AzureChinaCloud',
      'chinanorth3',
      { blobAccounts: ['arcext'] },
      ['arcext.blob.core.chinacloudapi.cn'],
    ],
    [
      'bridge image blobs',
      'bridge.image-blob',
      'AzureCloud',
      'eastus',
      { blobAccounts: ['ecpacrblobs'] },
      ['ecpacrblobs.blob.core.windows.net'],
    ],
    [
      'SSH / WAC relay, public',
      'servers.azurecloud.ssh-wac-servicebus',
      'AzureCloud',
      'eastus',
      { serviceBusNamespaces: ['contoso-relay'] },
      ['contoso-relay.servicebus.windows.net'],
    ],
    [
      'SSH / WAC relay, China',
      'servers.azurechinacloud.ssh-wac-servicebus',
      'AzureChinaCloud',
      'chinanorth3',
      { serviceBusNamespaces: ['contoso-relay'] },
      ['contoso-relay.servicebus.chinacloudapi.cn'],
    ],
    [
      'pythonhosted: the well-known file host',
      'bridge.pythonhosted-wildcard',
      'AzureCloud',
      'eastus',
      {},
      ['files.pythonhosted.org'],
    ],
    [
      'wildcards.hosts for *.pypi.org',
      'bridge.pypi-wildcard',
      'AzureCloud',
      'eastus',
      { hosts: { '*.pypi.org': ['upload.pypi.org'] } },
      ['upload.pypi.org'],
    ],
    [
      'wildcards.hosts for notification subdomains',
      'servers.azurechinacloud.notification-wildcard',
      'AzureChinaCloud',
      'chinanorth3',
      { hosts: { '*.guestnotificationservice.azure.cn': ['chinanorth3.guestnotificationservice.azure.cn'] } },
      ['chinanorth3.guestnotificationservice.azure.cn'],
    ],
    [
      'wildcards.hosts wins over the his rule',
      'servers.azurecloud.his',
      'AzureCloud',
      'eastus',
      { hisRegionalPrefix: 'x', hosts: { '*.his.arc.azure.com': ['eus.his.arc.azure.com'] } },
      ['eus.his.arc.azure.com'],
    ],
    [
      'wildcards.hosts wins over the well-known host',
      'bridge.pythonhosted-wildcard',
      'AzureCloud',
      'eastus',
      { hosts: { '*.pythonhosted.org': ['mirror.pythonhosted.org'] } },
      ['mirror.pythonhosted.org'],
    ],
    [
      'wildcards.hosts wins over notificationHosts',
      'servers.azurecloud.notification-servicebus',
      'AzureCloud',
      'eastus',
      {
        notificationHosts: ['a.servicebus.windows.net'],
        hosts: { 'azgn*.servicebus.windows.net': ['azgnx.servicebus.windows.net'] },
      },
      ['azgnx.servicebus.windows.net'],
    ],
  ])('%s', (_name, id, cloud, region, wildcards, expected) => {
    const result = expandEntry(id, { cloud, region, wildcards });
    expect(hostsOf(result)).toEqual(expected);
    expect(result.skipped).toEqual([]);
    expect(result.targets.every((t) => t.entryIds.join() === id && t.id === `${t.host}:443`)).toBe(true);
  });

  it.each<[string, string, Cloud, string, string, string]>([
    [
      'his, public cloud region without a known code',
      'servers.azurecloud.his',
      'AzureCloud',
      'brazilsouth',
      'the regional host <code>.his.arc.azure.com uses a short code that is not published for region "brazilsouth" in AzureCloud; only gbl.his.arc.azure.com is probed',
      `set wildcards.hisRegionalPrefix (e.g. "weu") ${WHERE}`,
    ],
    [
      'his, Government (no built-in codes)',
      'servers.azureusgovernment.his',
      'AzureUSGovernment',
      'usgovvirginia',
      'the regional host <code>.his.arc.azure.us uses a short code that is not published for region "usgovvirginia" in AzureUSGovernment; only gbl.his.arc.azure.us is probed',
      `set wildcards.hisRegionalPrefix (e.g. "weu") ${WHERE}`,
    ],
    [
      'notification relays without an allowlist',
      'servers.azurecloud.notification-servicebus',
      'AzureCloud',
      'eastus',
      'the notification service names its relay hosts only in its allowlist, and no hosts were given',
      `set wildcards.notificationHosts ${WHERE}, or let the monitor fetch the notification allowlist`,
    ],
    [
      'extension blobs without accounts (China)',
      'servers.azurechinacloud.blob',
      'AzureChinaCloud',
      'chinanorth3',
      'the storage accounts are chosen by the service (or by you); there is no generic host to probe',
      `set wildcards.blobAccounts (storage account names) ${WHERE}`,
    ],
    [
      'SSH / WAC relay without namespaces',
      'servers.azurecloud.ssh-wac-servicebus',
      'AzureCloud',
      'eastus',
      'the relay namespaces for SSH and Windows Admin Center are not published; name the ones your firewall allows',
      `set wildcards.serviceBusNamespaces (namespace names) ${WHERE}`,
    ],
    [
      'notification subdomains',
      'servers.azurecloud.notification-wildcard',
      'AzureCloud',
      'eastus',
      'no concrete host is known for this wildcard',
      `set wildcards.hosts["*.guestnotificationservice.azure.com"] ${WHERE}`,
    ],
    [
      '*.pypi.org',
      'bridge.pypi-wildcard',
      'AzureCloud',
      'eastus',
      'no concrete host is known for this wildcard',
      `set wildcards.hosts["*.pypi.org"] ${WHERE}`,
    ],
  ])('reports %s as skipped, with the reason and the key that fixes it', (_name, id, cloud, region, reason, fix) => {
    const result = expandEntry(id, { cloud, region });
    const entry = CATALOG.find((e) => e.id === id) as CatalogEntry;
    expect(result.skipped).toEqual([
      {
        entryId: id,
        entryIds: [id],
        hostPattern: entry.hostPattern,
        requirement: entry.requirement,
        port: 443,
        transport: 'tcp',
        agents: [entry.agent],
        scenarios: entry.scenarios,
        purpose: entry.purpose,
        reason,
        fix,
      },
    ]);
    // his still probes the global host; the others have nothing concrete.
    expect(hostsOf(result)).toEqual(id.endsWith('.his') ? [`gbl.${entry.hostPattern.slice(2)}`] : []);
  });

  it.each<[string, Cloud, string[], string, string]>([
    [
      'servers.azurecloud.his',
      'AzureCloud',
      ['gbl.his.arc.azure.com'],
      'the regional host <code>.his.arc.azure.com needs the region (or its short code), and none was given; only gbl.his.arc.azure.com is probed',
      `set the region (app setting ARCMON_REGION, or --region), or set wildcards.hisRegionalPrefix (e.g. "weu") ${WHERE}`,
    ],
    [
      'servers.azureusgovernment.guestconfiguration',
      'AzureUSGovernment',
      ['agentserviceapi.guestconfiguration.azure.us'],
      'no region was given for the regional host <region>-gas.guestconfiguration.azure.us',
      'set the region (app setting ARCMON_REGION, or --region)',
    ],
    [
      'bridge.dp-appliances',
      'AzureCloud',
      [],
      'no region was given for <region>.dp.prod.appliances.azure.com',
      'set the region (app setting ARCMON_REGION, or --region)',
    ],
  ])('without a region, reports the regional host of %s as skipped', (id, cloud, hosts, reason, fix) => {
    const result = expandEntry(id, { cloud, region: '' });
    expect(hostsOf(result)).toEqual(hosts);
    expect(result.skipped.map((s) => [s.entryId, s.reason, s.fix])).toEqual([[id, reason, fix]]);
  });

  it('still uses a configured his code without a region', () => {
    const result = expandEntry('servers.azurecloud.his', {
      cloud: 'AzureCloud',
      region: '',
      wildcards: { hisRegionalPrefix: 'ne' },
    });
    expect(hostsOf(result)).toEqual(['gbl.his.arc.azure.com', 'ne.his.arc.azure.com']);
    expect(result.skipped).toEqual([]);
  });

  it('does not mistake an inherited property for a region code', () => {
    const result = expandEntry('servers.azurecloud.his', { cloud: 'AzureCloud', region: 'constructor' });
    expect(hostsOf(result)).toEqual(['gbl.his.arc.azure.com']);
    expect(result.skipped).toHaveLength(1);
  });

  it('says why the notification allowlist failed in the skipped reason', () => {
    const result = expandEntry('servers.azurecloud.notification-servicebus', {
      cloud: 'AzureCloud',
      notificationAllowlistProblem: 'notification allowlist https://x answered HTTP 503',
    });
    expect(result.skipped[0]?.reason).toBe(
      'the notification service names its relay hosts only in its allowlist, and no hosts were given; fetching the notification allowlist failed: notification allowlist https://x answered HTTP 503',
    );
  });

  it.each([
    ['gbl.his.arc.azure.com', '*.his.arc.azure.com', true],
    ['a.b.his.arc.azure.com', '*.his.arc.azure.com', false],
    ['his.arc.azure.com', '*.his.arc.azure.com', false],
    ['azgnrelay-eastus-l1.servicebus.windows.net', 'azgn*.servicebus.windows.net', true],
    ['relay.servicebus.windows.net', 'azgn*.servicebus.windows.net', false],
    ['GBL.HIS.ARC.AZURE.COM', '*.his.arc.azure.com', true],
  ])('matchesHostPattern(%s, %s) is %s', (host, pattern, expected) => {
    expect(matchesHostPattern(host, pattern)).toBe(expected);
  });
});

describe('merging', () => {
  it('merges the agent and resource bridge rows for the same host into one target', () => {
    const { targets } = expandTargets(SEED_CATALOG, { cloud: 'AzureCloud', region: 'eastus', scenarios: 'all' });
    const gbl = targets.find((t) => t.id === 'gbl.his.arc.azure.com:443');
    expect(gbl).toEqual({
      id: 'gbl.his.arc.azure.com:443',
      host: 'gbl.his.arc.azure.com',
      port: 443,
      transport: 'tcp',
      protocol: 'https',
      entryIds: ['servers.azurecloud.his', 'bridge.his'],
      hostPattern: '*.his.arc.azure.com',
      requirement: 'always',
      mustBePrivate: true,
      privateLink: 'private',
      inspection: 'not-tolerated',
      genuineCa: 'microsoft',
      agents: ['connected-machine', 'resource-bridge'],
      scenarios: ['servers', 'resource-bridge'],
      purpose:
        'Metadata and hybrid identity services; Managed Identity: Required to pull system-assigned Managed Identity certificates.',
      serviceTags: ['AzureArcInfrastructure'],
      httpPath: '/',
    });
    // Installation-time for the agent, always for the bridge: the stronger requirement wins.
    const packages = targets.find((t) => t.host === 'packages.microsoft.com');
    expect(packages).toMatchObject({
      entryIds: ['servers.azurecloud.packages-microsoft', 'bridge.packages-microsoft'],
      requirement: 'always',
      privateLink: 'public',
      inspection: 'not-tolerated',
    });
    expect(targets.filter((t) => t.host === 'packages.microsoft.com')).toHaveLength(1);
  });

  it('merges skipped rows that share a pattern, keeping every entry id', () => {
    const { skipped } = expandTargets(SEED_CATALOG, { cloud: 'AzureCloud', region: 'eastus', scenarios: 'all' });
    const blob = skipped.filter((s) => s.hostPattern === '*.blob.core.windows.net');
    expect(blob).toHaveLength(1);
    expect(blob[0]).toMatchObject({
      entryId: 'servers.azurecloud.blob',
      entryIds: ['servers.azurecloud.blob', 'bridge.image-blob'],
      requirement: 'always',
      agents: ['connected-machine', 'resource-bridge'],
      scenarios: ['servers', 'resource-bridge', 'extensions'],
    });
  });

  it('keeps a user endpoint on another port as its own target, and merges one on the same port', () => {
    const custom = (id: string, port: number): CatalogEntry => ({
      id,
      agent: 'custom',
      cloud: 'AzureCloud',
      hostPattern: 'login.microsoftonline.com',
      port,
      transport: 'tcp',
      protocol: 'https',
      purpose: 'Our sign-in check',
      requirement: 'optional',
      requirementText: 'set in test',
      privateLink: 'public',
      machines: [],
      serviceTags: [],
      scenarios: [],
      inspection: 'tolerated',
      genuineCa: 'public',
      source: { document: 'user' },
      httpPath: '/common/discovery/instance',
    });
    const { targets } = expandTargets([...CATALOG, custom('a', 443), custom('b', 8443)], {
      cloud: 'AzureCloud',
      region: 'eastus',
      scenarios: ['servers'],
    });
    const login = targets.filter((t) => t.host === 'login.microsoftonline.com');
    expect(login.map((t) => [t.id, t.entryIds, t.requirement, t.agents, t.httpPath])).toEqual([
      [
        'login.microsoftonline.com:443',
        ['servers.azurecloud.login-microsoftonline', 'a'],
        'always',
        ['connected-machine', 'custom'],
        '/common/discovery/instance',
      ],
      ['login.microsoftonline.com:8443', ['b'], 'optional', ['custom'], '/common/discovery/instance'],
    ]);
  });
});

describe('scenario selection', () => {
  it('by default (servers) probes the day-to-day rows and leaves out installation and connect rows', () => {
    const selection = resolveScenarios([]);
    expect(selection).toEqual(['servers']);
    const { targets, skipped } = expandTargets(CATALOG, {
      cloud: 'AzureCloud',
      region: 'eastus',
      scenarios: selection,
    });
    expect(targets.map((t) => t.host)).toEqual([
      'agentserviceapi.guestconfiguration.azure.com',
      'eastus-gas.guestconfiguration.azure.com',
      // Beyond the seeds: the current page requires <region>.login.microsoft.com always.
      'eastus.login.microsoft.com',
      'eus.his.arc.azure.com',
      'gbl.his.arc.azure.com',
      'guestnotificationservice.azure.com',
      'login.microsoftonline.com',
      'login.windows.net',
      'pas.windows.net',
    ]);
    expect(skipped.map((s) => s.hostPattern)).toEqual([
      '*.guestnotificationservice.azure.com',
      'azgn*.servicebus.windows.net',
      '*.blob.core.windows.net',
    ]);
  });

  it.each(CLOUDS)('with "all" accounts for every %s row (as a target or as skipped), and only that cloud', (cloud) => {
    const { targets, skipped } = expandTargets(CATALOG, {
      cloud,
      region: 'eastus',
      scenarios: resolveScenarios(['all']),
    });
    const seen = new Set([...targets.flatMap((t) => t.entryIds), ...skipped.flatMap((s) => s.entryIds ?? [])]);
    expect([...seen].sort()).toEqual(
      CATALOG.filter((e) => e.cloud === cloud)
        .map((e) => e.id)
        .sort(),
    );
  });

  it('probes NTP over UDP 123', () => {
    const { targets } = expandTargets(CATALOG, {
      cloud: 'AzureCloud',
      region: 'eastus',
      scenarios: ['resource-bridge'],
    });
    expect(targets.filter((t) => t.transport === 'udp')).toMatchObject([
      {
        id: 'time.windows.com:123/udp',
        host: 'time.windows.com',
        port: 123,
        protocol: 'ntp',
        requirement: 'conditional',
      },
    ]);
  });

  it.each([
    [['onboarding'], ['aka.ms', 'download.microsoft.com', 'management.azure.com', 'packages.microsoft.com']],
    [['optional'], ['dc.services.visualstudio.com']],
    [
      ['ssh-admin-center', 'optional'],
      ['contoso-relay.servicebus.windows.net', 'dc.services.visualstudio.com'],
    ],
    [
      ['extensions'],
      [
        'agentserviceapi.guestconfiguration.azure.com',
        'eastus-gas.guestconfiguration.azure.com',
        'guestnotificationservice.azure.com',
      ],
    ],
  ])('%j selects exactly its rows', (names, hosts) => {
    const { targets } = expandTargets(CATALOG, {
      cloud: 'AzureCloud',
      region: 'eastus',
      scenarios: resolveScenarios(names),
      wildcards: { serviceBusNamespaces: ['contoso-relay'] },
    });
    expect(targets.map((t) => t.host).sort()).toEqual(hosts);
  });

  it('orders targets by requirement strength, then host', () => {
    const { targets, skipped } = expandTargets(CATALOG, { cloud: 'AzureCloud', region: 'eastus', scenarios: 'all' });
    const rank = (t: { requirement: (typeof REQUIREMENTS)[number] }) => REQUIREMENTS.indexOf(t.requirement);
    for (const list of [
      targets.map((t) => ({ r: rank(t), k: t.host })),
      skipped.map((s) => ({ r: rank(s), k: s.hostPattern })),
    ]) {
      const sorted = [...list].sort((a, b) => a.r - b.r || (a.k < b.k ? -1 : 1));
      expect(list).toEqual(sorted);
    }
    const reversed = expandTargets([...CATALOG].reverse(), { cloud: 'AzureCloud', region: 'eastus', scenarios: 'all' });
    expect(reversed.targets.map((t) => t.id)).toEqual(targets.map((t) => t.id));
  });

  it('rejects an unknown scenario name and a malformed region', () => {
    expect(() => resolveScenarios(['servers', 'everything'])).toThrow(
      new RangeError(
        'unknown scenario everything; use servers, onboarding, resource-bridge, ssh-admin-center, extensions, optional, gateway, esu, sql, ama, defender, update-manager, wac, all',
      ),
    );
    expect(() => expandTargets(CATALOG, { cloud: 'AzureCloud', region: 'East US', scenarios: 'all' })).toThrow(
      new RangeError('region must be a lower-case Azure region name such as eastus, got "East US"'),
    );
  });
});
