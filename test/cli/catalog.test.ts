import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCatalog, type CatalogRow } from '../../lib/cli/catalog';
import { catalogSection, readmeSection } from '../../scripts/readme-catalog';

const execFileP = promisify(execFile);

function catalog(args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = runCatalog(args, { stdout: (s) => void (out += s), stderr: (s) => void (err += s) });
  return { code, out, err };
}

describe('arcmon catalog', () => {
  it('the README carries the current output of --scenario all --cloud AzureCloud --region eastus --markdown', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    expect(readmeSection(readme), 'regenerate with: npx tsx scripts/readme-catalog.ts').toBe(catalogSection());
  });

  it('shows the gateway set with the prefix given, and says what is missing without it', () => {
    const withPrefix = catalog(['--region', 'eastus', '--scenario', 'gateway', '--gateway-prefix', 'contoso']);
    expect(withPrefix.code).toBe(0);
    const hosts = withPrefix.out
      .trim()
      .split('\n')
      .slice(1)
      .flatMap((l) => (l.split(/\s{2,}/)[0] ?? '').split(', '));
    expect(hosts.sort()).toEqual([
      'contoso.gw.arc.azure.com',
      'download.microsoft.com',
      'eastus.login.microsoft.com',
      'eus.his.arc.azure.com',
      'gbl.his.arc.azure.com',
      'login.microsoftonline.com',
      'management.azure.com',
      'packages.microsoft.com',
    ]);
    const doc = JSON.parse(catalog(['--region', 'eastus', '--scenario', 'gateway', '--json']).out) as {
      rows: CatalogRow[];
    };
    expect(doc.rows.find((r) => r.id === 'gateway.url')).toMatchObject({
      hosts: [],
      status: 'current',
      skipped: { fix: expect.stringMatching(/^give --gateway-prefix/) as string },
    });
  });

  it('--json gives each row its status and source: seed, current from a dated page, retired with the removing commit', () => {
    const doc = JSON.parse(
      catalog(['--json', '--region', 'eastus', '--workspace-id', '00000000-1111-2222-3333-444444444444']).out,
    ) as {
      schema: string;
      rows: CatalogRow[];
    };
    expect(doc.schema).toBe('arcmon.catalog/v1');
    const row = (id: string) => doc.rows.find((r) => r.id === id);
    expect(row('servers.azurecloud.his')).toMatchObject({ status: 'seed', source: 'seed:000' });
    expect(row('servers.azurecloud.login-microsoft')).toMatchObject({
      status: 'current',
      hosts: ['eastus.login.microsoft.com'],
      source: 'servers/includes/network-requirements.md (2026-04-01)',
    });
    expect(row('ama.workspace')?.hosts).toEqual(['00000000-1111-2222-3333-444444444444.ods.opinsights.azure.com']);
    expect(row('servers.azurecloud.pkiops-http')).toMatchObject({
      port: 80,
      protocol: 'http',
      hosts: ['www.microsoft.com'],
    });
    expect(row('servers.azurecloud.aka-ms')).toMatchObject({
      status: 'retired',
      retired: { date: '2025-01-13', source: expect.stringContaining('commit 5c2ac4f') as string },
    });
    expect(row('servers.azurecloud.notification')?.differences?.[0]).toMatch(/the seed says Private$/);
  });

  it.each([
    [['--json', '--markdown'], '--json and --markdown exclude each other; give one'],
    [['--cloud', 'Mars'], '--cloud must be one of AzureCloud, AzureUSGovernment, AzureChinaCloud, got "Mars"'],
    [['--workspace-id', 'abc'], '--workspace-id must be a Log Analytics workspace id (a GUID), got "abc"'],
    [
      ['--scenario', 'gateways'],
      '--scenario: unknown scenario gateways; use servers, onboarding, resource-bridge, ssh-admin-center, extensions, optional, gateway, esu, sql, ama, defender, update-manager, wac, all',
    ],
  ])('rejects %j with exit status 2: %s', (args, message) => {
    const { code, err } = catalog(args);
    expect(err.split('\n')[0]).toBe(`arcmon catalog: ${message}`);
    expect(code).toBe(2);
  });

  it('runs from the built bundle (arcmon catalog) and prints the same Markdown', async () => {
    const args = ['--scenario', 'all', '--cloud', 'AzureCloud', '--region', 'eastus', '--markdown'];
    const { stdout } = await execFileP(process.execPath, ['bin/arcmon.js', 'catalog', ...args], { encoding: 'utf8' });
    expect(stdout).toBe(catalog(args).out);
  });
});
