import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCheckArgs, runCheck } from '../../lib/cli/check';

const execFileP = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'arcmon-validation-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fails(args: string[]): Promise<string> {
  let err = '';
  let out = '';
  const code = await runCheck(args, {
    stdout: (s) => void (out += s),
    stderr: (s) => void (err += s),
    isTTY: false,
    env: {},
  });
  expect(code).toBe(2);
  expect(out).toBe('');
  return err.split('\n')[0] ?? '';
}

describe('arcmon check refuses what would look like an outage', () => {
  it.each([
    [
      ['--region', 'nowhere'],
      'arcmon: --region "nowhere" is not a region of AzureCloud; az account list-locations --query "[].name" lists them',
    ],
    [
      ['--region', 'westeurop'],
      'arcmon: --region "westeurop" is not a region of AzureCloud; did you mean "westeurope"?',
    ],
    [
      ['--cloud', 'AzureUSGovernment', '--region', 'eastus'],
      'arcmon: --region "eastus" is a region of AzureCloud, not of AzureUSGovernment; AzureUSGovernment regions: usdodcentral, usdodeast, usgovarizona, usgoviowa, usgovtexas, usgovvirginia',
    ],
    [
      ['--cloud', 'AzureChinaCloud', '--region', 'chinanorth9'],
      'arcmon: --region "chinanorth9" is not a region of AzureChinaCloud; did you mean "chinanorth"?',
    ],
    [
      ['--cloud', 'AzureUSGovernmnet'],
      'arcmon: --cloud must be one of AzureCloud, AzureUSGovernment, AzureChinaCloud, got "AzureUSGovernmnet"; did you mean "AzureUSGovernment"?',
    ],
    [
      ['--proxy', 'http://proxy.contoso.com:3128/path'],
      'arcmon: --proxy: "http://proxy.contoso.com:3128/path" has a path, query or fragment; a proxy is a host and port: give it as http://[user:pass@]host:port',
    ],
    [
      ['--proxy', 'https://proxy.contoso.com:3128'],
      'arcmon: --proxy: https:// proxy URLs are not supported; give the proxy as http://host:port (the tunnel to the endpoint is still TLS); give it as http://[user:pass@]host:port',
    ],
    [
      ['--proxy', 'http://exa mple:3128'],
      'arcmon: --proxy: "http://exa mple:3128" is not a URL; give it as http://[user:pass@]host:port',
    ],
    [['--output', 'yaml'], 'arcmon: --output must be one of table, json, jsonl, csv, got "yaml"'],
    [['--json', '--output', 'csv'], 'arcmon: --json and --output csv exclude each other'],
  ])('%j', async (args, message) => {
    expect(await fails(args)).toBe(message);
  });

  it('names HTTPS_PROXY only when the proxy came from it', async () => {
    let err = '';
    const code = await runCheck([], {
      stdout: () => undefined,
      stderr: (s) => void (err += s),
      isTTY: false,
      env: { HTTPS_PROXY: 'socks5://proxy:1080' },
    });
    expect(code).toBe(2);
    expect(err.split('\n')[0]).toBe(
      'arcmon: HTTPS_PROXY: unsupported proxy scheme socks5; only http:// proxies are supported',
    );
  });

  it('takes clouds in any letter case and regions as their display names', async () => {
    const a = await parseCheckArgs(['--cloud', 'azureusgovernment', '--region', 'USGov Virginia'], {});
    expect([a.inputs.cloud, a.inputs.region]).toEqual(['AzureUSGovernment', 'usgovvirginia']);
    const b = await parseCheckArgs(['--cloud', 'AZURECHINACLOUD', '--region', 'ChinaNorth3'], {});
    expect([b.inputs.cloud, b.inputs.region]).toEqual(['AzureChinaCloud', 'chinanorth3']);
  });
});

describe('the endpoints file', () => {
  it.each([
    [
      'an entry without an id next to a bad one',
      '{"version":1,"endpoints":[{"host":"a.contoso.com","purpose":"x"},{"host":"b.contoso.com","port":0,"purpose":"y"}]}',
      ['FILE: endpoints[1].port: must be a whole number from 1 to 65535'],
    ],
    ['garbage', 'garbage', ["FILE: not valid JSON: Unexpected token 'g' at line 1, column 1"]],
    [
      'garbage after a key',
      '{\n  "version": 1,\n  "x": nope\n}',
      ["FILE: not valid JSON: Unexpected token 'o' at line 3, column 9"],
    ],
    [
      'an exclude that names nothing',
      '{"version":1,"exclude":["nothing.contoso.com"]}',
      ['FILE: exclude[0]: "nothing.contoso.com" matches no catalog id, host pattern or concrete host of the catalog'],
    ],
  ])('%s: the exact problems', async (_name, text, problems) => {
    const file = join(dir, `bad-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, text);
    let err = '';
    const code = await runCheck(['--endpoints', file, '--region', 'eastus', '--no-allowlist'], {
      stdout: () => undefined,
      stderr: (s) => void (err += s),
      isTTY: false,
      env: {},
    });
    expect(code).toBe(2);
    expect(err.trim().split('\n').slice(1)).toEqual(problems.map((p) => '  - ' + p.replace('FILE', file)));
  });

  it('refuses a file over 1 MiB, and more than 1000 endpoints, before parsing them', async () => {
    const huge = join(dir, 'huge.json');
    const endpoints = Array.from({ length: 100_000 }, (_, i) => ({ host: `h${i}.contoso.com`, purpose: 'p' }));
    await writeFile(huge, JSON.stringify({ version: 1, endpoints }));
    expect(await fails(['--endpoints', huge])).toMatch(
      new RegExp(`^arcmon: --endpoints: ${huge} is \\d+\\.\\d MiB; the limit is 1 MiB \\(at most 1000 endpoints\\)$`),
    );
    const many = join(dir, 'many.json');
    await writeFile(many, JSON.stringify({ version: 1, endpoints: endpoints.slice(0, 1001) }));
    expect(await fails(['--endpoints', many])).toBe(
      `arcmon: --endpoints: ${many} lists 1001 endpoints; the limit is 1000`,
    );
  });

  it('excludes the concrete hosts the table prints, with or without the port', async () => {
    const file = join(dir, 'exclude.json');
    await writeFile(
      file,
      JSON.stringify({ version: 1, exclude: ['eastus-gas.guestconfiguration.azure.com', 'gbl.his.arc.azure.com:443'] }),
    );
    const { prepareCycle } = await import('../../lib/monitor/setup');
    const args = await parseCheckArgs(['--endpoints', file, '--region', 'eastus', '--no-allowlist'], {});
    const ids = (await prepareCycle(args.inputs)).expanded.targets.map((t) => t.id);
    expect(ids).not.toContain('eastus-gas.guestconfiguration.azure.com:443');
    expect(ids).not.toContain('gbl.his.arc.azure.com:443');
    expect(ids).toContain('agentserviceapi.guestconfiguration.azure.com:443');
  });
});

describe('the arcmon command line', () => {
  it('prints its version', async () => {
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default as {
      version: string;
    };
    const { stdout } = await execFileP(process.execPath, ['bin/arcmon.js', '--version']);
    expect(stdout).toBe(`arcmon ${version}\n`);
  });

  it('stops quietly when the reader closes the pipe (arcmon check --output jsonl | head -1)', async () => {
    const child = spawn(
      process.execPath,
      [
        'bin/arcmon.js',
        'check',
        '--output',
        'jsonl',
        '--region',
        'eastus',
        '--no-allowlist',
        '--dns-server',
        '127.0.0.1:9',
        '--timeout-ms',
        '300',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(err).toBe('');
    expect(code).toBe(1);
  });
});
