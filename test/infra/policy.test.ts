import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  allResources,
  bicepFiles,
  decoratedDeclarations,
  infraFiles,
  INFRA_DIR,
  readInfra,
  REPO_DIR,
  resourceBlocks,
  stripBicepComments,
  type ResourceBlock,
} from './infraSource';

const files = bicepFiles();
const resources = allResources();
const declarations = files.map(decoratedDeclarations);
const params = declarations.flatMap((d) => d.params);
const ofType = (type: string): ResourceBlock[] => resources.filter((r) => r.type === type && !r.existing);
/** Every template and parameter file, for checks that also cover example values. */
const templatesAndParameters = infraFiles((n) => /\.(bicep|bicepparam)$|parameters\.json$/.test(n));

describe('secrets: no keys, no connection strings with keys', () => {
  it.each(templatesAndParameters.map((f) => [f.path, f.text] as const))('%s', (_path, text) => {
    const code = stripBicepComments(text);
    expect(code).not.toMatch(/\blist(Keys|AccountSas|ServiceSas|ConnectionStrings|Secrets)\s*\(/i);
    expect(code).not.toMatch(/AccountKey|SharedAccessSignature|SharedAccessKey|DefaultEndpointsProtocol/i);
    expect(code).not.toMatch(/InstrumentationKey\s*=/);
    expect(code).not.toMatch(/AzureWebJobsStorage'?\s*:/);
    expect(code).not.toMatch(/ARCMON_STORAGE_CONNECTION_STRING/);
  });

  it('marks parameters that can carry credentials @secure()', () => {
    const sensitive = params.filter((p) =>
      /password|secret|credential|token|connectionString|key$|proxyUrl/i.test(p.name),
    );
    expect(sensitive.map((p) => `${p.file}:${p.name}`)).toContain('main.bicep:proxyUrl');
    const unsecured = sensitive.filter((p) => !p.decorators.some((d) => d.startsWith('@secure()')));
    expect(unsecured.map((p) => `${p.file}:${p.name}`)).toEqual([]);
  });

  it('gives secure parameters no default other than empty', () => {
    const secure = params.filter((p) => p.decorators.some((d) => d.startsWith('@secure()')));
    expect(secure.length).toBeGreaterThan(0);
    expect(secure.filter((p) => p.defaultText !== '' && p.defaultText.trim() !== "''").map((p) => p.name)).toEqual([]);
  });
});

describe('every parameter and type property is described', () => {
  it.each(files.map((f) => [f.path] as const))('%s', (path) => {
    const d = declarations[files.findIndex((f) => f.path === path)];
    const undescribed = [...(d?.params ?? []), ...(d?.typeProperties ?? [])]
      .filter((p) => !p.decorators.some((dec) => /^@(sys\.)?description\(/.test(dec)))
      .map((p) => p.name);
    expect(undescribed).toEqual([]);
  });

  it('reads decorators the way the check assumes', () => {
    const main = declarations[files.findIndex((f) => f.path === 'main.bicep')];
    const region = main?.params.find((p) => p.name === 'arcRegion');
    expect(region?.decorators).toEqual([expect.stringMatching(/^@description\('ARCMON_REGION/), '@minLength(2)']);
    expect(main?.params.length).toBeGreaterThan(15);
  });
});

describe('storage: shared keys off, TLS 1.2, HTTPS only, no public access', () => {
  const accounts = ofType('Microsoft.Storage/storageAccounts');

  it('declares one storage account', () => {
    expect(accounts).toHaveLength(1);
  });

  it.each([
    ['allowSharedKeyAccess: false'],
    ["minimumTlsVersion: 'TLS1_2'"],
    ['allowBlobPublicAccess: false'],
    ["publicNetworkAccess: 'Disabled'"],
    ['supportsHttpsTrafficOnly: true'],
    ["defaultAction: 'Deny'"],
  ])('%s', (setting) => {
    for (const account of accounts) expect(account.body).toContain(setting);
  });

  it('creates the deployment container and the three tables the monitor uses', () => {
    const storage = readInfra('modules/storage.bicep');
    expect(storage).toMatch(/blobServices\/containers@/);
    expect(storage).toMatch(/tableServices\/tables@[^']*' = \[\s*for tableName in tableNames:/);
    expect(readInfra('main.bicep')).toMatch(
      /var tableNames = \[\s*'\$\{tablePrefix\}History'\s*'\$\{tablePrefix\}State'\s*'\$\{tablePrefix\}Incidents'\s*\]/,
    );
    expect(readInfra('main.bicep')).toMatch(/param tablePrefix string = 'arcmon'/);
  });

  it('reaches blob, table and queue through private endpoints with DNS zone groups', () => {
    const main = readInfra('main.bicep');
    expect(main).toMatch(/var storageServices = \[\s*'blob'\s*'table'\s*'queue'\s*\]/);
    expect(main).toMatch(
      /module privateEndpoints 'modules\/privateEndpoint.bicep' = \[\s*for \(service, i\) in storageServices/,
    );
    expect(ofType('Microsoft.Network/privateEndpoints/privateDnsZoneGroups')).toHaveLength(1);
    expect(main).toContain("'privatelink.${service}.${environment().suffixes.storage}'");
  });
});

describe('the function app: Flex Consumption, HTTPS only, TLS 1.2, identity everywhere', () => {
  const [site] = ofType('Microsoft.Web/sites');
  const [plan] = ofType('Microsoft.Web/serverfarms');

  it.each([
    ['httpsOnly: true'],
    ["minTlsVersion: '1.2'"],
    ["ftpsState: 'Disabled'"],
    ["kind: 'functionapp,linux'"],
    ['virtualNetworkSubnetId: functionSubnetId'],
    ["type: 'UserAssigned'"],
    ["type: 'blobContainer'"],
    ["type: 'UserAssignedIdentity'"],
    ["name: 'node'"],
    ["version: '22'"],
    ['scaleAndConcurrency: {'],
  ])('site: %s', (setting) => {
    expect(site?.body).toContain(setting);
  });

  it('runs on the FC1 / FlexConsumption plan, Linux', () => {
    expect(plan?.body).toMatch(/name: 'FC1'\s*tier: 'FlexConsumption'/);
    expect(plan?.body).toContain('reserved: true');
  });

  it('turns off basic publishing credentials (FTP and SCM)', () => {
    const policies = ofType('Microsoft.Web/sites/basicPublishingCredentialsPolicies');
    expect(policies.map((p) => /name: '(\w+)'/.exec(p.body)?.[1]).sort()).toEqual(['ftp', 'scm']);
    for (const p of policies) expect(p.body).toContain('allow: false');
  });

  it.each([
    'FUNCTIONS_WORKER_RUNTIME',
    'FUNCTIONS_EXTENSION_VERSION',
    'WEBSITE_RUN_FROM_PACKAGE',
    'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
    'WEBSITE_CONTENTSHARE',
    'WEBSITE_NODE_DEFAULT_VERSION',
    'SCM_DO_BUILD_DURING_DEPLOYMENT',
    'ENABLE_ORYX_BUILD',
  ])('does not set %s (not allowed on Flex Consumption)', (setting) => {
    for (const f of templatesAndParameters) expect(stripBicepComments(f.text)).not.toContain(setting);
  });
});

describe('network', () => {
  const network = readInfra('modules/network.bicep');

  it('delegates the function subnet to Microsoft.App/environments and keeps private endpoints apart', () => {
    expect(network).toMatch(/name: config\.functionSubnetName[\s\S]*serviceName: 'Microsoft.App\/environments'/);
    expect(network).toMatch(/name: config\.privateEndpointSubnetName/);
    expect(readInfra('main.bicep')).toContain('subnetId: vnet.outputs.privateEndpointSubnetId');
  });

  const subnetNames = (): [string, string][] => {
    const found: [string, string][] = [];
    for (const f of templatesAndParameters) {
      for (const m of f.text.matchAll(/"?(functionSubnetName|privateEndpointSubnetName)"?\s*:\s*["']([^"']+)["']/g)) {
        found.push([`${f.path} ${m[1] ?? ''}`, m[2] ?? '']);
      }
    }
    return found;
  };

  it('finds the subnet names in the defaults and parameter files', () => {
    expect(subnetNames().length).toBeGreaterThanOrEqual(6);
  });

  it('uses no underscore in a subnet name (Flex Consumption VNet integration refuses one)', () => {
    expect(subnetNames().filter(([, name]) => name.includes('_'))).toEqual([]);
  });

  it('offers both an existing VNet (the common case) and a new one', () => {
    expect(readInfra('types.bicep')).toMatch(/mode: 'new' \| 'existing'/);
    expect(readInfra('existing-vnet.bicepparam')).toMatch(/mode: 'existing'/);
  });
});

describe('identity and roles', () => {
  const assignments = ofType('Microsoft.Authorization/roleAssignments');

  it('names every role assignment with guid()', () => {
    expect(assignments.length).toBeGreaterThanOrEqual(2);
    for (const a of assignments) expect(a.body).toMatch(/^\{\s*(for [^:]+:\s*\{\s*)?name: guid\(/);
  });

  it('assigns to the service principal of the managed identity', () => {
    for (const a of assignments) expect(a.body).toContain("principalType: 'ServicePrincipal'");
  });

  it('grants exactly the least-privilege roles', () => {
    const roles = readInfra('modules/roles.bicep');
    const ids = [...roles.matchAll(/= '([0-9a-f-]{36})'/g)].map((m) => m[1]);
    expect(ids.sort()).toEqual(
      [
        'b7e6dc6d-f1e8-4753-8033-0f276bb0955b', // Storage Blob Data Owner
        '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3', // Storage Table Data Contributor
        '974c5e8b-45b9-4653-ba55-5f855dd0fb88', // Storage Queue Data Contributor
        '3913510d-42f4-4e42-8a64-420c390055eb', // Monitoring Metrics Publisher
      ].sort(),
    );
  });
});

describe('monitoring and alerts', () => {
  it('turns local authentication off on Application Insights and the workspace', () => {
    expect(ofType('Microsoft.Insights/components')[0]?.body).toContain('DisableLocalAuth: true');
    expect(ofType('Microsoft.OperationalInsights/workspaces')[0]?.body).toContain('disableLocalAuth: true');
  });

  const rules = ofType('Microsoft.Insights/scheduledQueryRules');

  it('declares the five log alert rules on API 2026-03-01', () => {
    expect(rules.map((r) => r.symbol).sort()).toEqual(
      [
        'certificateExpiry',
        'monitorSilentAll',
        'monitorSilentSite',
        'regressionEvent',
        'requiredEndpointBlocked',
      ].sort(),
    );
    for (const r of rules) expect(r.apiVersion).toBe('2026-03-01');
  });

  it('alerts once per endpoint and site on a blocked required endpoint, and resolves by itself', () => {
    const blocked = rules.find((r) => r.symbol === 'requiredEndpointBlocked');
    expect(blocked?.body).toContain('autoMitigate: true');
    expect([...(blocked?.body ?? '').matchAll(/name: '(\w+)'\s*operator: 'Include'/g)].map((m) => m[1])).toEqual([
      'endpoint',
      'site',
    ]);
    expect(readInfra('queries/alert-required-endpoint-blocked.kql')).toMatch(/\| project endpoint, site,/);
  });

  it('sends every rule to the action group, which emails with the common alert schema', () => {
    for (const r of rules) expect(r.body).toContain('actionGroup.id');
    const group = ofType('Microsoft.Insights/actionGroups')[0];
    expect(group?.body).toContain('useCommonAlertSchema: true');
    expect(group?.body).toContain("location: 'global'");
  });

  it('makes the dead-man switch wait the configured number of schedule intervals', () => {
    const alerts = readInfra('modules/alerts.bicep');
    expect(alerts).toContain('var silentMinutes = probeIntervalMinutes * silentAfterIntervals');
    expect(readInfra('main.bicep')).toMatch(/param silentAfterIntervals int = 3/);
  });
});

describe('template hygiene', () => {
  it('uses only local modules (the build works offline), each of which exists', () => {
    for (const f of files) {
      for (const m of stripBicepComments(f.text).matchAll(/^module\s+\w+\s+'([^']+)'/gm)) {
        expect(m[1], f.path).not.toMatch(/^(br|ts)[:/]/);
        expect(existsSync(join(INFRA_DIR, m[1] ?? '')), `${f.path}: ${m[1]}`).toBe(true);
      }
    }
  });

  it.each(files.filter((f) => f.path.startsWith('modules/')).map((f) => [f.path, f.text] as const))(
    '%s outputs name and resourceId',
    (_path, text) => {
      expect(text).toMatch(/^output name string = /m);
      expect(text).toMatch(/^output resourceId string = /m);
    },
  );

  it('names outputs of main.bicep in UPPER_SNAKE for azd', () => {
    const outputs = [...readInfra('main.bicep').matchAll(/^output (\w+) /gm)].map((m) => m[1] ?? '');
    expect(outputs.length).toBeGreaterThan(5);
    expect(outputs.filter((o) => !/^[A-Z][A-Z0-9_]*$/.test(o))).toEqual([]);
  });

  it('uses stable (non-preview) API versions, but for diagnostic settings (whose only GA version lacks metric categories)', () => {
    expect(
      resources
        .filter((r) => /preview/i.test(r.apiVersion) && r.type !== 'Microsoft.Insights/diagnosticSettings')
        .map((r) => `${r.file} ${r.type}`),
    ).toEqual([]);
  });

  it('names resources from the resource token and the abbreviation table', () => {
    const abbreviations = JSON.parse(readInfra('abbreviations.json')) as Record<string, string>;
    const main = readInfra('main.bicep');
    expect(main).toContain(
      'var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName, location))',
    );
    const used = [...main.matchAll(/\$\{abbrs\.(\w+)\}/g)].map((m) => m[1] ?? '');
    expect(used.length).toBeGreaterThan(8);
    expect(used.filter((u) => !(u in abbreviations))).toEqual([]);
  });

  it('finds every resource block (the reader works)', () => {
    expect(resourceBlocks({ path: 'x.bicep', text: "resource a 'A.B/c@2024-01-01' = {\n  name: '}'\n}\n" })).toEqual([
      expect.objectContaining({ symbol: 'a', type: 'A.B/c', apiVersion: '2024-01-01', body: "{\n  name: '}'\n}" }),
    ]);
    expect(resources.length).toBeGreaterThan(20);
  });
});

describe('azd', () => {
  const azureYaml = readFileSync(join(REPO_DIR, 'azure.yaml'), 'utf8');

  it('deploys the monitor service as a JavaScript function app from the project root', () => {
    expect(azureYaml).toMatch(/^services:\n {2}monitor:\n(?: {4}.*\n)*? {4}project: \.\n/m);
    expect(azureYaml).toMatch(/^ {4}language: js$/m);
    expect(azureYaml).toMatch(/^ {4}host: function$/m);
    expect(azureYaml).toMatch(/run: npm run package/);
    expect(readInfra('modules/functionApp.bicep')).toContain("'azd-service-name': serviceName");
    expect(readInfra('main.bicep')).toContain("serviceName: 'monitor'");
  });

  it('gives azd a parameters file that names only parameters of main.bicep', () => {
    const parameters = JSON.parse(readInfra('main.parameters.json')) as { parameters: Record<string, unknown> };
    const declared = params.filter((p) => p.file === 'main.bicep').map((p) => p.name);
    expect(Object.keys(parameters.parameters).filter((k) => !declared.includes(k))).toEqual([]);
    // A parameter without a default is required, unless its type is nullable (`type?`).
    const required = params
      .filter((p) => p.file === 'main.bicep' && p.defaultText === '' && !p.declaration.trim().endsWith('?'))
      .map((p) => p.name);
    expect(required.sort()).toEqual(['alertEmailReceivers', 'arcRegion', 'environmentName', 'siteName']);
    expect(required.filter((r) => !(r in parameters.parameters))).toEqual([]);
  });
});
