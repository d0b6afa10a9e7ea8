/**
 * The deployment as the real Bicep compiler evaluates it (`bicep snapshot`), for every parameter file the project
 * ships and for azd's: the app settings it gives the function app must be settings the monitor accepts, through the
 * same parseSettings the function runs at start. Runtime values only Azure knows (storage endpoints, identity ids,
 * the connection string) come from test/infra/bicep.ts's small model of the control plane, in each cloud.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HOST_OWNED_SETTINGS, parseSettings } from '../../lib/config/settings';
import { createAzureLikePki } from '../helpers/pki';
import {
  appSettingsOf,
  azdParameters,
  bicepparamOf,
  compiled,
  evaluator,
  resourcesOf,
  runBicep,
  snapshot,
  type CloudName,
  type Snapshot,
} from './bicep';
import { APP_INSIGHTS_TABLES } from './appInsightsSchema';
import { INFRA_DIR } from './infraSource';
import { resultColumns } from './kusto';

const CLOUDS: CloudName[] = ['AzureCloud', 'AzureUSGovernment', 'AzureChinaCloud'];

/** Splits what the template sets into the host's settings and the monitor's, and parses the monitor's. */
function monitorSettingsOf(settings: Record<string, string>) {
  const host = new Set<string>(HOST_OWNED_SETTINGS);
  const monitorEnv = Object.fromEntries(Object.entries(settings).filter(([k]) => !host.has(k)));
  return { monitorEnv, parsed: parseSettings(monitorEnv) };
}

const AZD_ENV = {
  AZURE_ENV_NAME: 'arcmon-trial',
  AZURE_LOCATION: 'westeurope',
  ARCMON_ALERT_EMAIL: 'ops@contoso.com',
};

interface Case {
  name: string;
  params: () => string;
  secure: Record<string, string>;
}

let rootsPem = '';
const SPOKE_SUBSCRIPTION = '11111111-2222-3333-4444-555555555555';

const cases: Case[] = [
  {
    name: 'existing-vnet.bicepparam',
    params: () => readFileSync(join(INFRA_DIR, 'existing-vnet.bicepparam'), 'utf8'),
    secure: { proxyUrl: '' },
  },
  {
    name: 'azd (main.parameters.json)',
    params: () => bicepparamOf(azdParameters(AZD_ENV)),
    secure: { proxyUrl: '' },
  },
  {
    name: 'existing VNet in another subscription, DNS managed elsewhere',
    params: () =>
      bicepparamOf({
        environmentName: 'arcmon-spoke',
        arcRegion: 'westeurope',
        siteName: 'spoke-westeurope',
        network: {
          mode: 'existing',
          virtualNetworkName: 'vnet-spoke',
          virtualNetworkResourceGroupName: 'rg-network',
          virtualNetworkSubscriptionId: SPOKE_SUBSCRIPTION,
          functionSubnetName: 'snet-arcmon-func',
          privateEndpointSubnetName: 'snet-arcmon-pe',
        },
        privateDns: { mode: 'none' },
        alertEmailReceivers: [{ name: 'netops', emailAddress: 'netops@contoso.com' }],
      }),
    secure: { proxyUrl: '' },
  },
  {
    name: 'every optional setting given',
    params: () =>
      bicepparamOf({
        environmentName: 'arcmon-gov',
        arcCloud: 'AzureUSGovernment',
        arcRegion: 'usgovvirginia',
        siteName: 'hub-usgov',
        scenarios: ['all'],
        probeIntervalMinutes: 30,
        thresholds: {
          openAfter: 100,
          resolveAfter: 3,
          latencyRatio: '2.5',
          latencyFloorMs: 400,
          timeoutMs: 120000,
          concurrency: 8,
          slowMs: 5000,
          certExpiryDays: 30,
          clockSkewMs: 2000,
          retentionDays: 90,
        },
        privateLinkMode: true,
        dnsServer: '10.1.2.3:53',
        proxyUrl: 'http://proxy.contoso.com:3128',
        noProxy: '.contoso.com,10.0.0.0/8',
        expectedRootsPem: rootsPem,
        endpointsJson: JSON.stringify({
          endpoints: [{ host: 'proxy.contoso.com', port: 3128, protocol: 'tcp', purpose: 'Outbound proxy' }],
        }),
        alertEmailReceivers: [{ name: 'netops', emailAddress: 'netops@contoso.com' }],
        network: { mode: 'new', functionSubnetName: 'snet-monitor', privateEndpointSubnetName: 'snet-pe' },
      }),
    secure: { proxyUrl: 'http://proxy.contoso.com:3128' },
  },
];

const snapshots = new Map<string, Snapshot>();

beforeAll(async () => {
  const { root } = await createAzureLikePki();
  rootsPem = root.certPem;
  for (const c of cases) snapshots.set(c.name, snapshot(c.params()));
}, 120_000);

describe.each(cases)('the compiled deployment: $name', (c) => {
  it.each(CLOUDS)('gives the function app settings parseSettings accepts, deployed in %s', (cloud) => {
    const snap = snapshots.get(c.name);
    if (!snap) throw new Error('no snapshot');
    const settings = appSettingsOf(snap, cloud, c.secure);
    const { monitorEnv, parsed } = monitorSettingsOf(settings);
    expect(parsed.ARCMON_SITE).toBe(monitorEnv.ARCMON_SITE);
    expect(parsed.ARCMON_TABLE_ENDPOINT).toMatch(/^https:\/\/st[a-z0-9]+\.table\.core\./);
    // With no ARCMON_CLOUD parameter the monitor checks the cloud it is deployed in.
    if (c.name !== 'every optional setting given') expect(parsed.ARCMON_CLOUD).toBe(cloud);
    else expect(parsed.ARCMON_CLOUD).toBe('AzureUSGovernment');
  });
});

describe('what the compiled deployment sets', () => {
  const settingsOf = (name: string, cloud: CloudName = 'AzureCloud') => {
    const c = cases.find((x) => x.name === name);
    const snap = snapshots.get(name);
    if (!c || !snap) throw new Error(`no case ${name}`);
    return appSettingsOf(snap, cloud, c.secure);
  };

  it('passes every optional setting through, the roots as PEM text', () => {
    const { parsed, monitorEnv } = monitorSettingsOf(settingsOf('every optional setting given'));
    expect(monitorEnv.ARCMON_EXPECTED_ROOTS_PEM).toContain('-----BEGIN CERTIFICATE-----');
    expect(parsed.ARCMON_EXPECTED_ROOTS_PEM).toContain('-----BEGIN CERTIFICATE-----');
    expect(parsed.ARCMON_PROXY).toBe('http://proxy.contoso.com:3128');
    expect(parsed.ARCMON_PRIVATE_LINK).toBe(true);
    expect(parsed.PROBE_SCHEDULE).toBe('0 */30 * * * *');
    expect(parsed.ARCMON_OPEN_AFTER).toBe(100);
    expect(monitorEnv.ARCMON_DNS_SERVER).toBe('10.1.2.3:53');
  });

  it('leaves optional settings out when they are not given', () => {
    const settings = settingsOf('existing-vnet.bicepparam');
    for (const name of ['ARCMON_PROXY', 'ARCMON_DNS_SERVER', 'ARCMON_EXPECTED_ROOTS_PEM', 'ARCMON_ENDPOINTS_JSON'])
      expect(settings).not.toHaveProperty(name);
  });

  it('gives the host identity-based storage in the cloud it runs in, and no keys anywhere', () => {
    const settings = settingsOf('azd (main.parameters.json)', 'AzureChinaCloud');
    expect(settings.AzureWebJobsStorage__credential).toBe('managedidentity');
    expect(settings.AzureWebJobsStorage__blobServiceUri).toMatch(
      /^https:\/\/st[a-z0-9]+\.blob\.core\.chinacloudapi\.cn\/$/,
    );
    expect(settings.AzureWebJobsStorage__clientId).toBe(settings.AZURE_CLIENT_ID);
    expect(Object.keys(settings)).not.toContain('AzureWebJobsStorage');
    expect(JSON.stringify(settings)).not.toMatch(/AccountKey=|SharedAccessSignature=/);
  });

  it('fails the parse when the template and the schema drift apart (the check can fail)', () => {
    const settings = { ...settingsOf('existing-vnet.bicepparam'), ARCMON_OPEN_AFTR: '2' };
    expect(() => monitorSettingsOf(settings)).toThrow(/ARCMON_OPEN_AFTR: unknown setting/);
  });
});

describe('the compiler is the gate', () => {
  it('rejects a parameter value outside the template types', () => {
    const run = (() => {
      try {
        snapshot(
          bicepparamOf({
            ...azdParameters(AZD_ENV),
            arcCloud: 'AzureGermanCloud',
          }),
        );
        return '';
      } catch (err) {
        return String(err);
      }
    })();
    expect(run).toMatch(/BCP\d+/);
    expect(run).toContain('AzureGermanCloud');
  });

  it('evaluates ARM expressions the way Azure would (the evaluator itself)', () => {
    const ev = evaluator('AzureCloud', { secret: 's3' });
    expect(
      ev.evaluate(
        "toObject(filter(createArray(createObject('key', 'A', 'value', ''), createObject('key', 'B', 'value', parameters('secret'))), lambda('s', not(empty(lambdaVariables('s').value)))), lambda('s', lambdaVariables('s').key), lambda('s', lambdaVariables('s').value))",
      ),
    ).toEqual({ B: 's3' });
    expect(ev.evaluate("format('privatelink.{0}.{1}', 'blob', environment().suffixes.storage)")).toBe(
      'privatelink.blob.core.windows.net',
    );
    expect(() => ev.evaluate("utcNow('u')")).toThrow('utcNow() is not implemented');
  });

  it('reports the compiler version it uses', () => {
    expect(runBicep(['--version']).output).toMatch(/Bicep CLI version 0\.49\.2/);
  });

  it('has every resource of the template in the snapshot', () => {
    const snap = snapshots.get('existing-vnet.bicepparam');
    if (!snap) throw new Error('no snapshot');
    expect(resourcesOf(snap, 'Microsoft.Web/sites')).toHaveLength(1);
    expect(resourcesOf(snap, 'Microsoft.Insights/scheduledQueryRules').length).toBeGreaterThanOrEqual(5);
  });
});

const snap = (name: string): Snapshot => {
  const found = snapshots.get(name);
  if (!found) throw new Error(`no snapshot ${name}`);
  return found;
};
const props = (r: { properties?: unknown }): Record<string, unknown> => (r.properties ?? {}) as Record<string, unknown>;

describe("hub and spoke: private DNS modes and the VNet's own subscription", () => {
  const dnsOf = (name: string) => {
    const s = snap(name);
    const groups = resourcesOf(s, 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups').map((g) =>
      JSON.stringify(evaluator('AzureCloud', {}).resolve(g.properties)),
    );
    return {
      zones: resourcesOf(s, 'Microsoft.Network/privateDnsZones').length,
      links: resourcesOf(s, 'Microsoft.Network/privateDnsZones/virtualNetworkLinks').length,
      groups,
      endpoints: resourcesOf(s, 'Microsoft.Network/privateEndpoints').map((e) =>
        JSON.stringify(evaluator('AzureCloud', {}).resolve(e.properties)),
      ),
    };
  };

  it('creates zones and links them for a new VNet (create, the trial default)', () => {
    const dns = dnsOf('azd (main.parameters.json)');
    expect([dns.zones, dns.links, dns.groups.length]).toEqual([3, 3, 3]);
  });

  it("uses the hub's zones and creates none for an existing VNet (existing)", () => {
    const dns = dnsOf('existing-vnet.bicepparam');
    expect([dns.zones, dns.links]).toEqual([0, 0]);
    expect(dns.groups).toHaveLength(3);
    for (const service of ['blob', 'table', 'queue'])
      expect(
        dns.groups.some((g) =>
          g.includes(`/rg-hub-dns/providers/Microsoft.Network/privateDnsZones/privatelink.${service}.`),
        ),
      ).toBe(true);
  });

  it("creates no zone and no zone group when DNS is managed elsewhere (none), in the VNet's own subscription", () => {
    const dns = dnsOf('existing VNet in another subscription, DNS managed elsewhere');
    expect([dns.zones, dns.links, dns.groups.length]).toEqual([0, 0, 0]);
    expect(dns.endpoints).toHaveLength(3);
    const subnet = `/subscriptions/${SPOKE_SUBSCRIPTION}/resourceGroups/rg-network/providers/Microsoft.Network/virtualNetworks/vnet-spoke/subnets/snet-arcmon-pe`;
    for (const e of dns.endpoints) expect(e).toContain(subnet);
    const site = resourcesOf(
      snap('existing VNet in another subscription, DNS managed elsewhere'),
      'Microsoft.Web/sites',
    )[0];
    expect(JSON.stringify(props(site ?? {}))).toContain(
      `/subscriptions/${SPOKE_SUBSCRIPTION}/resourceGroups/rg-network/providers/Microsoft.Network/virtualNetworks/vnet-spoke/subnets/snet-arcmon-func`,
    );
  });

  it('touches nothing of an existing VNet: no VNet, subnet, NSG or route table in the deployment', () => {
    for (const name of ['existing-vnet.bicepparam', 'existing VNet in another subscription, DNS managed elsewhere']) {
      const types = snap(name).predictedResources.map((r) => r.type);
      expect(
        types.filter(
          (t) => /virtualNetworks|networkSecurityGroups|routeTables/i.test(t) && !/virtualNetworkLinks/.test(t),
        ),
      ).toEqual([]);
    }
  });

  it("sends the function app's and the storage account's logs and metrics to the workspace", () => {
    const settings = resourcesOf(snap('existing-vnet.bicepparam'), 'Microsoft.Insights/diagnosticSettings');
    const scopes = settings.map((d) => JSON.stringify(d.scope ?? d.id));
    expect(settings).toHaveLength(5);
    for (const part of [
      '/sites/',
      '/storageAccounts/',
      '/tableServices/default',
      '/blobServices/default',
      '/queueServices/default',
    ])
      expect(scopes.some((sc) => sc.includes(part))).toBe(true);
    for (const d of settings)
      expect(JSON.stringify(d.properties)).toContain('/Microsoft.OperationalInsights/workspaces/');
  });

  it('names nested deployments per environment, so two environments in one resource group do not collide', () => {
    const main = compiled('main.bicep');
    const resources = Array.isArray(main.resources) ? main.resources : Object.values(main.resources);
    const names = resources.filter((r) => r.type === 'Microsoft.Resources/deployments').map((r) => String(r.name));
    expect(names.length).toBeGreaterThanOrEqual(10);
    for (const n of names) expect(n).toMatch(/^\[format\('\{0\}-[A-Za-z{}0-9-]+', variables\('deploymentPrefix'\)/);
    expect(String(main.variables.deploymentPrefix)).toContain("variables('resourceToken')");
    expect(String(main.variables.resourceToken)).toContain("parameters('environmentName')");
  });
});

describe('alerts that reach a person', () => {
  it('mails at least one person, and refuses a deployment that would notify no one', () => {
    const groups = resourcesOf(snap('existing-vnet.bicepparam'), 'Microsoft.Insights/actionGroups');
    expect(JSON.stringify(groups[0]?.properties)).toContain('netops@contoso.com');
    let error = '';
    try {
      snapshot(bicepparamOf({ ...azdParameters(AZD_ENV), alertEmailReceivers: [] }));
    } catch (err) {
      error = String(err);
    }
    expect(error).toContain(
      "The provided value for the template parameter 'alertEmailReceivers' is not valid. Length of the value should be greater than or equal to '1'.",
    );
  });

  it.each(cases.map((c) => c.name))('names only columns its queries return as alert dimensions (%s)', (name) => {
    for (const rule of resourcesOf(snap(name), 'Microsoft.Insights/scheduledQueryRules')) {
      const criteria = (props(rule).criteria as { allOf: { query: string; dimensions?: { name: string }[] }[] }).allOf;
      for (const c of criteria) {
        const columns = resultColumns(c.query, APP_INSIGHTS_TABLES);
        expect(
          (c.dimensions ?? []).map((d) => d.name).filter((d) => !columns.includes(d)),
          rule.name,
        ).toEqual([]);
      }
    }
  });

  it('mails each regression once: window = frequency, no mute, one alert per incident', () => {
    const rule = resourcesOf(snap('existing-vnet.bicepparam'), 'Microsoft.Insights/scheduledQueryRules').find((r) =>
      r.name.endsWith('-regression-event'),
    );
    const p = props(rule ?? {});
    expect(p.windowSize).toBe(p.evaluationFrequency);
    expect(p).not.toHaveProperty('muteActionsDuration');
    expect(p.autoMitigate).toBe(false);
    const dims = (p.criteria as { allOf: { dimensions: { name: string }[] }[] }).allOf[0]?.dimensions.map(
      (d) => d.name,
    );
    expect(dims).toContain('incidentId');
  });

  it('can fire the blocked-endpoint alert for every allowed probe interval and ARCMON_OPEN_AFTER', () => {
    const main = compiled('main.bicep');
    const intervals = (main.parameters.probeIntervalMinutes?.allowedValues ?? []) as number[];
    expect(intervals).toContain(30);
    const alerts = compiled('modules/alerts.bicep');
    const logAlertWindows = [
      'PT5M',
      'PT10M',
      'PT15M',
      'PT30M',
      'PT45M',
      'PT1H',
      'PT2H',
      'PT3H',
      'PT4H',
      'PT5H',
      'PT6H',
      'P1D',
      'P2D',
    ];
    const minutes = (iso: string) =>
      /^PT(\d+)M$/.exec(iso)
        ? Number(/\d+/.exec(iso)?.[0])
        : /^PT(\d+)H$/.exec(iso)
          ? Number(/\d+/.exec(iso)?.[0]) * 60
          : Number(/\d+/.exec(iso)?.[0]) * 1440;
    for (const interval of intervals) {
      const ev = evaluator('AzureCloud', { probeIntervalMinutes: interval }, undefined, alerts.variables);
      const window = ev.evaluate("variables('blockedWindow')");
      expect(logAlertWindows, `interval ${interval}`).toContain(window);
      // The window holds the latest result whatever the schedule; ARCMON_OPEN_AFTER is compared with the
      // monitor's own count on that result, so no threshold needs a longer window.
      expect(minutes(typeof window === 'string' ? window : ''), `interval ${interval}`).toBeGreaterThanOrEqual(
        2 * interval,
      );
    }
    const blocked = resourcesOf(snap('every optional setting given'), 'Microsoft.Insights/scheduledQueryRules').find(
      (r) => r.name.endsWith('-required-endpoint-blocked'),
    );
    const query = (props(blocked ?? {}).criteria as { allOf: { query: string }[] }).allOf[0]?.query ?? '';
    expect(query).toContain('let consecutive = 100;');
    expect(query).toContain('blockedCycles >= consecutive');
    expect(props(blocked ?? {}).windowSize).toBe('PT1H');
  });
});
