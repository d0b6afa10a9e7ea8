import { describe, expect, it } from 'vitest';
import { HOST_OWNED_SETTINGS, KNOWN_SETTINGS, parseSettings, SettingsError } from '../../lib/config/settings';
import { decoratedDeclarations, readInfra, resourceBlocks, settingNamesOf } from './infraSource';

const functionAppPath = 'modules/functionApp.bicep';
const functionApp = readInfra(functionAppPath);

/** App setting names the template sets: keys of the variables the appsettings resource's properties combine. */
function templateSettingNames(): string[] {
  const config = resourceBlocks({ path: functionAppPath, text: functionApp }).find(
    (r) => r.type === 'Microsoft.Web/sites/config' && /name:\s*'appsettings'/.test(r.body),
  );
  if (!config) throw new Error('functionApp.bicep has no sites/config appsettings resource');
  const properties = /properties:\s*(.*)/.exec(config.body)?.[1] ?? '';
  return settingNamesOf(functionApp, properties);
}

/** Settings the schema refuses to do without, found by parsing an environment that lacks them. */
function requiredSettings(): string[] {
  const examples: Record<string, string> = {
    ARCMON_REGION: 'eastus',
    ARCMON_SITE: 'hub-westeurope',
    ARCMON_TABLE_ENDPOINT: 'https://account.table.core.windows.net',
  };
  const required: string[] = [];
  const env: Record<string, string> = {};
  for (let round = 0; round < 10; round++) {
    try {
      parseSettings(env);
      return required;
    } catch (err) {
      if (!(err instanceof SettingsError)) throw err;
      const missing = err.problems.map((p) => /^([A-Za-z][A-Za-z0-9_]*)/.exec(p)?.[1] ?? p);
      for (const name of missing) {
        const example = examples[name];
        if (example === undefined) throw new Error(`the schema requires ${name}: give the test an example value`);
        required.push(name);
        env[name] = example;
      }
    }
  }
  throw new Error('settings never parsed');
}

describe('the function app sets exactly what the settings schema reads', () => {
  const names = templateSettingNames();

  it('finds the settings in the template (host, monitor and optional groups)', () => {
    expect(names).toEqual(
      expect.arrayContaining(['ARCMON_REGION', 'AzureWebJobsStorage__credential', 'ARCMON_PROXY', 'PROBE_SCHEDULE']),
    );
  });

  it('sets every setting the schema requires in Azure', () => {
    const required = requiredSettings();
    expect(required).toEqual(expect.arrayContaining(['ARCMON_REGION', 'ARCMON_SITE', 'ARCMON_TABLE_ENDPOINT']));
    expect(required.filter((r) => !names.includes(r))).toEqual([]);
  });

  it('sets no setting that is unknown to the schema or the host', () => {
    const known = new Set<string>([...KNOWN_SETTINGS, ...HOST_OWNED_SETTINGS]);
    expect(names.filter((n) => !known.has(n))).toEqual([]);
  });

  it('can set every ARCMON_* setting except the storage connection string (shared keys are off)', () => {
    const monitorSettings = KNOWN_SETTINGS.filter((k) => k.startsWith('ARCMON_'));
    expect(monitorSettings.filter((k) => !names.includes(k))).toEqual(['ARCMON_STORAGE_CONNECTION_STRING']);
    expect(names).not.toContain('ARCMON_STORAGE_CONNECTION_STRING');
  });

  it('sets each setting once', () => {
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it('uses identity-based host storage and Entra ID auth for the host logs', () => {
    expect(names).toEqual(
      expect.arrayContaining([
        'AzureWebJobsStorage__credential',
        'AzureWebJobsStorage__clientId',
        'AzureWebJobsStorage__blobServiceUri',
        'AzureWebJobsStorage__queueServiceUri',
        'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
        'AZURE_CLIENT_ID',
        'APPLICATIONINSIGHTS_CONNECTION_STRING',
      ]),
    );
    expect(names).not.toContain('AzureWebJobsStorage');
    expect(functionApp).toMatch(/AzureWebJobsStorage__credential: 'managedidentity'/);
    expect(functionApp).toMatch(
      /APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=\$\{identityClientId\};Authorization=AAD'/,
    );
  });

  it('writes booleans as the schema spells them (string(true) would be "True")', () => {
    expect(functionApp).toMatch(/ARCMON_PRIVATE_LINK: privateLinkMode \? 'true' : 'false'/);
    expect(parseSettings(azureEnv({ ARCMON_PRIVATE_LINK: 'true' })).ARCMON_PRIVATE_LINK).toBe(true);
    expect(() => parseSettings(azureEnv({ ARCMON_PRIVATE_LINK: 'True' }))).toThrow(
      'ARCMON_PRIVATE_LINK must be true or false',
    );
  });

  it('produces a PROBE_SCHEDULE the schema accepts for every allowed interval', () => {
    const schedule = /PROBE_SCHEDULE: '([^']*)'/.exec(functionApp)?.[1];
    expect(schedule).toBe('0 */${probeIntervalMinutes} * * * *');
    const main = decoratedDeclarations({ path: 'main.bicep', text: readInfra('main.bicep') }).params.find(
      (p) => p.name === 'probeIntervalMinutes',
    );
    const allowed =
      /@allowed\(\[([^\]]*)\]\)/
        .exec(main?.decorators.join(' ') ?? '')?.[1]
        ?.trim()
        .split(/\s+/) ?? [];
    expect(allowed).toContain('5');
    for (const minutes of allowed) {
      const value = (schedule ?? '').replace('${probeIntervalMinutes}', minutes);
      expect(parseSettings(azureEnv({ PROBE_SCHEDULE: value })).PROBE_SCHEDULE).toBe(value);
    }
  });
});

function azureEnv(extra: Record<string, string>): Record<string, string> {
  return {
    ARCMON_REGION: 'eastus',
    ARCMON_SITE: 'hub-westeurope',
    ARCMON_TABLE_ENDPOINT: 'https://account.table.core.windows.net/',
    ...extra,
  };
}
