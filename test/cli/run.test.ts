import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG, expandTargets } from '../../lib/catalog';
import { intervalFromSchedule } from '../../lib/cli/run';
import { EVENTS } from '../../lib/telemetry/names';
import { startFakeAzure, type FakeAzure, TEST_WILDCARDS } from '../helpers/fakeAzure';
import { startIngestionServer, type IngestionServer } from '../helpers/ingestionServer';
import { startTokenEndpoint, type TokenEndpoint } from '../telemetry/tokenEndpoint';

const execFileP = promisify(execFile);

/** `npm start` is `arcmon run`: the monitor on its schedule, here, with an embedded Azurite. */

let fake: FakeAzure;
let dir: string;
let endpointsFile: string;

beforeAll(async () => {
  const targets = expandTargets(CATALOG, {
    cloud: 'AzureCloud',
    region: 'eastus',
    scenarios: ['servers'],
    wildcards: TEST_WILDCARDS,
  }).targets;
  fake = await startFakeAzure(targets, { addressBase: 60 });
  dir = await mkdtemp(join(tmpdir(), 'arcmon-run-'));
  endpointsFile = join(dir, 'endpoints.json');
  await writeFile(endpointsFile, JSON.stringify({ version: 1, wildcards: TEST_WILDCARDS }));
});

afterAll(async () => {
  await fake?.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * `arcmon run` against the fake Azure. `opts.env` is added to a bare environment; `opts.expectedRoots` replaces
 * the fake Azure's root file (`--expected-roots FILE`), `null` leaves the flag out.
 */
let runs = 0;
function start(
  extra: string[],
  opts: { env?: Record<string, string>; expectedRoots?: string | null; dataDir?: string; site?: string } = {},
) {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, TMPDIR: dir, ...opts.env };
  if (process.env.NODE_EXTRA_CA_CERTS) env.NODE_EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS;
  const expectedRoots = opts.expectedRoots === undefined ? fake.expectedRootsFile : opts.expectedRoots;
  const child = spawn(
    process.execPath,
    [
      'dist/cli.js',
      'run',
      '--site',
      opts.site ?? 'lab',
      '--data-dir',
      opts.dataDir ?? join(dir, `data-${++runs}`),
      '--region',
      'eastus',
      '--dns-server',
      fake.dns.address,
      ...(expectedRoots === null ? [] : ['--expected-roots', expectedRoots]),
      '--endpoints',
      endpointsFile,
      ...extra,
    ],
    // Its own process group, as a shell gives a foreground job: Ctrl-C is a SIGINT to the whole group.
    { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => out, errors: () => err };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

describe('arcmon run (npm start)', () => {
  it('runs cycles on its schedule against an embedded Azurite and stops it on exit', async () => {
    const run = start(['--cycles', '2', '--interval-s', '1']);
    expect(await run.exited).toBe(0);
    const out = run.output();
    const azurite = /embedded Azurite at http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
    expect(azurite).not.toBeNull();
    const cycles = out.split('\n').filter((l) => l.startsWith('cycle '));
    expect(cycles).toHaveLength(2);
    for (const line of cycles)
      expect(line).toMatch(
        /site=lab: 12 endpoints, 12 reachable, 0 degraded, 0 blocked, 0 skipped in \d+ ms; stored 24 entities/,
      );
    expect(await portOpen(Number(azurite?.[1]))).toBe(false);
  });

  it('prints transitions as they happen and stops cleanly on Ctrl-C between cycles', async () => {
    fake.dns.set('pas.windows.net', 'servfail');
    const run = start(['--interval-s', '1']);
    try {
      const deadline = Date.now() + 20_000;
      while (!run.output().includes('INCIDENT OPENED') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(run.output()).toMatch(/INCIDENT OPENED \[high\] blocked pas\.windows\.net:443: DNS_SERVFAIL/);
      run.child.kill('SIGINT');
      expect(await run.exited).toBe(130);
      expect(run.output().trim().split('\n').at(-1)).toBe('stopped');
      expect(run.errors()).toBe('');
    } finally {
      run.child.kill('SIGKILL');
      fake.dns.set('pas.windows.net', { A: [fake.addresses.get('pas.windows.net') as string] });
    }
  });

  it('says which setting is wrong and exits 2', async () => {
    const run = start(['--cycles', '1', '--interval-s', 'soon']);
    expect(await run.exited).toBe(2);
    expect(run.errors()).toBe('arcmon: --interval-s must be a whole number from 1 to 86400, got "soon"\n');
    expect(run.output()).toBe('');
  });

  it.each([
    [
      ['--region', 'nowhere'],
      {},
      'arcmon: --region "nowhere" is not a region of AzureCloud; az account list-locations --query "[].name" lists them',
    ],
    [
      ['--cloud', 'azurechinacloud', '--region', 'eastus'],
      {},
      'arcmon: --region "eastus" is a region of AzureCloud, not of AzureChinaCloud; AzureChinaCloud regions: chinaeast, chinaeast2, chinaeast3, chinanorth, chinanorth2, chinanorth3',
    ],
    [
      ['--proxy', 'http://proxy.contoso.com:3128/x'],
      {},
      'arcmon: --proxy: "http://proxy.contoso.com:3128/x" has a path, query or fragment; a proxy is a host and port: give it as http://[user:pass@]host:port',
    ],
    [['--cycles', '0'], {}, 'arcmon: --cycles must be a whole number from 1 to 1000000, got 0'],
  ])('%j: refused before anything starts, naming the flag', async (args, env, message) => {
    const run = start(['--cycles', '1', ...args], { env });
    expect(await run.exited).toBe(2);
    expect(run.errors()).toBe(message + '\n');
    expect(run.output()).toBe('');
  });

  it('names ARCMON_CLOUD when the cloud came from the environment', async () => {
    const run = start(['--cycles', '1'], { env: { ARCMON_CLOUD: 'AzureMoon' } });
    expect(await run.exited).toBe(2);
    expect(run.errors()).toBe(
      'arcmon: ARCMON_CLOUD must be one of AzureCloud, AzureUSGovernment, AzureChinaCloud, got "AzureMoon"\n',
    );
  });
});

describe('arcmon run: a runner you can leave running', () => {
  async function waitFor(run: ReturnType<typeof start>, re: RegExp, ms = 20_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = re.exec(run.output());
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`no ${String(re)} in: ${run.output()}${run.errors()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  async function closedWithin(port: number, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (!(await portOpen(port))) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  it('Ctrl-C in the middle of a cycle: the cycle is stored, Azurite stopped in order, exit 130', async () => {
    await fake.replace('gbl.his.arc.azure.com', { behaviour: 'hang-after-accept' });
    const data = join(dir, 'sigint');
    const run = start(['--interval-s', '60'], { dataDir: data, env: { ARCMON_TIMEOUT_MS: '2000' } });
    try {
      const port = Number((await waitFor(run, /embedded Azurite at http:\/\/127\.0\.0\.1:(\d+)\//))[1]);
      await waitFor(run, /^monitoring site lab/m);
      await new Promise((r) => setTimeout(r, 300));
      // What a terminal does on Ctrl-C: SIGINT to the foreground process group (the runner's; Azurite has its own).
      process.kill(-(run.child.pid as number), 'SIGINT');
      expect(await run.exited).toBe(130);
      expect(run.output()).toMatch(
        /^cycle .* site=lab: 12 endpoints, 11 reachable, 0 degraded, 1 blocked, 0 skipped in \d+ ms; stored 24 entities/m,
      );
      expect(run.output().trim().split('\n').at(-1)).toBe('stopped');
      expect(run.errors()).toBe('');
      expect(await portOpen(port)).toBe(false);
      // Nothing had to be spooled, and the site's data lives under the data directory.
      expect(await readdir(join(data, 'sites', 'lab'))).toEqual(expect.arrayContaining(['azurite']));
    } finally {
      run.child.kill('SIGKILL');
      await fake.replace('gbl.his.arc.azure.com', { behaviour: 'normal' });
    }
  });

  it('kill -9 of the runner: Azurite notices and is gone within a few seconds', async () => {
    const run = start(['--interval-s', '60']);
    try {
      const port = Number((await waitFor(run, /embedded Azurite at http:\/\/127\.0\.0\.1:(\d+)\//))[1]);
      await waitFor(run, /^cycle /m);
      expect(await portOpen(port)).toBe(true);
      run.child.kill('SIGKILL');
      await run.exited;
      expect(await closedWithin(port, 5000)).toBe(true);
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('keeps history across restarts: the second run opens the incident the first one started counting', async () => {
    const data = join(dir, 'restart');
    fake.dns.set('pas.windows.net', 'servfail');
    try {
      const first = start(['--cycles', '1'], { dataDir: data });
      expect(await first.exited).toBe(0);
      expect(first.output()).not.toContain('INCIDENT OPENED');
      const second = start(['--cycles', '1'], { dataDir: data });
      expect(await second.exited).toBe(0);
      expect(second.output()).toMatch(/INCIDENT OPENED \[high\] blocked pas\.windows\.net:443: DNS_SERVFAIL/);

      // What is stored, seen without Azure: the latest state and the open incident, and the endpoint's history.
      const cli = (args: string[]) =>
        execFileP(process.execPath, ['dist/cli.js', ...args, '--data-dir', data], { env: { PATH: process.env.PATH } });
      const status = (await cli(['status'])).stdout.split('\n');
      expect(status[0]).toMatch(/^SITE\s+ENDPOINT\s+VERDICT\s+MS\s+SINCE$/);
      expect(status).toContainEqual(expect.stringMatching(/^lab\s+pas\.windows\.net:443\s+BLOCKED\s/));
      expect(status).toContainEqual(expect.stringMatching(/^lab\s+gbl\.his\.arc\.azure\.com:443\s+REACHABLE\s/));
      expect(status.filter((l) => /^lab\s/.test(l))).toHaveLength(12);
      expect(status).toContain('1 open incident(s):');
      expect(status.join(' ').replace(/\s+/g, ' ')).toMatch(
        /\[high\] blocked pas\.windows\.net:443 at lab since \S+ DNS_SERVFAIL/,
      );
      const history = (await cli(['history', 'pas.windows.net', '--since', '1h'])).stdout.trim().split('\n');
      expect(history[0]).toMatch(/^pas\.windows\.net:443 since .*: 2 result\(s\)$/);
      expect(history.filter((l) => / lab BLOCKED \d+ ms DNS_SERVFAIL: /.test(l))).toHaveLength(2);
      expect(history.at(-1)).toBe('availability 0.0% over 2 cycle(s)');
      const json = JSON.parse((await cli(['history', 'gbl.his.arc.azure.com:443', '--output', 'json'])).stdout) as {
        points: { verdict: string }[];
      };
      expect(json.points.map((p) => p.verdict)).toEqual(['reachable', 'reachable']);
    } finally {
      fake.dns.set('pas.windows.net', { A: [fake.addresses.get('pas.windows.net') as string] });
    }
  });

  it("never touches another site's spool", async () => {
    const data = join(dir, 'two-sites');
    const otherSpool = join(data, 'sites', 'other', 'spool', 'other');
    await mkdir(otherSpool, { recursive: true });
    const pending = join(otherSpool, 'pending.json');
    await writeFile(pending, 'a batch of site other, waiting for its own store');
    const run = start(['--cycles', '1'], { dataDir: data });
    expect(await run.exited).toBe(0);
    expect(run.errors()).toBe('');
    expect(await readFile(pending, 'utf8')).toBe('a batch of site other, waiting for its own store');
  });
});

describe('arcmon run --http: the local status page, in headless Chromium', () => {
  it('shows the site, the blocked endpoint by layer, the open incident and a chart per endpoint', async () => {
    const { chromium } = await import('playwright-core');
    fake.dns.set('pas.windows.net', 'servfail');
    const run = start(['--interval-s', '1', '--http', '127.0.0.1:0'], { site: 'branch-lyon' });
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    try {
      const deadline = Date.now() + 20_000;
      while (!run.output().includes('INCIDENT OPENED') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      const url = /^status page: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(run.output())?.[1];
      expect(url, run.output() + run.errors()).toBeDefined();
      const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
      const outside: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith(url as string)) outside.push(r.url());
      });
      await page.goto(url as string);
      await page.waitForSelector('#endpoints tbody tr[data-target]');
      expect(await page.textContent('#summary')).toMatch(
        /^site branch-lyon: 12 endpoints — 11 reachable, 0 degraded, 1 blocked, 0 skipped — 1 open incident\(s\)/,
      );
      const pas = page.locator('tr[data-target="pas.windows.net:443"] td');
      expect(await pas.allTextContents()).toEqual(
        expect.arrayContaining(['branch-lyon', 'pas.windows.net:443', 'FAIL', 'BLOCKED', '0.0%']),
      );
      expect(await page.locator('tr[data-target="pas.windows.net:443"] td.fail').count()).toBe(1);
      expect(
        await page.locator('tr[data-target="pas.windows.net:443"] svg rect.failure').count(),
      ).toBeGreaterThanOrEqual(2);
      expect(await page.locator('tr[data-target="gbl.his.arc.azure.com:443"] td.availability').textContent()).toBe(
        '100.0%',
      );
      expect(await page.locator('tr[data-target="gbl.his.arc.azure.com:443"] svg polyline').count()).toBe(1);
      expect(await page.textContent('#incidents')).toMatch(
        /\[high\] blocked pas\.windows\.net:443 since .*DNS_SERVFAIL/,
      );
      expect(await page.locator('tr[data-target]').count()).toBe(12);
      expect(outside).toEqual([]);
      await page.screenshot({ path: join(__dirname, '..', '..', 'docs', 'status-page.png'), fullPage: true });
    } finally {
      await browser.close();
      run.child.kill('SIGINT');
      await run.exited;
      fake.dns.set('pas.windows.net', { A: [fake.addresses.get('pas.windows.net') as string] });
    }
  });
});

describe('arcmon run: the roots that count as genuine', () => {
  const cycleLine = /^cycle .* site=lab: 12 endpoints, 12 reachable, 0 degraded, 0 blocked, 0 skipped/m;

  it('takes ARCMON_EXPECTED_ROOTS_PEM as the PEM text of the roots, as the Functions app does', async () => {
    const run = start(['--cycles', '1'], {
      expectedRoots: null,
      env: { ARCMON_EXPECTED_ROOTS_PEM: fake.root.certPem },
    });
    expect(await run.exited).toBe(0);
    expect(run.output()).toMatch(cycleLine);
  });

  it('refuses a file path in ARCMON_EXPECTED_ROOTS_PEM and says what the setting must hold', async () => {
    const run = start(['--cycles', '1'], {
      expectedRoots: null,
      env: { ARCMON_EXPECTED_ROOTS_PEM: fake.expectedRootsFile },
    });
    expect(await run.exited).toBe(2);
    expect(run.errors()).toBe(
      'arcmon: Invalid monitor settings:\n' +
        '  - ARCMON_EXPECTED_ROOTS_PEM must hold the PEM text of the root certificates, not a file path; set it to the contents of the PEM file (one or more -----BEGIN CERTIFICATE----- blocks), or give arcmon run the file with --expected-roots FILE\n',
    );
    expect(run.output()).not.toMatch(/^cycle /m);
  });

  it('refuses an --expected-roots file without certificates, naming the file', async () => {
    const notPem = join(dir, 'roots.txt');
    await writeFile(notPem, '/etc/ssl/certs/contoso-root.pem\n');
    const run = start(['--cycles', '1'], { expectedRoots: notPem });
    expect(await run.exited).toBe(2);
    expect(run.errors()).toBe(
      `arcmon: --expected-roots: ${notPem} holds no certificate (expected -----BEGIN CERTIFICATE----- blocks)\n`,
    );
  });
});

describe('arcmon run: telemetry from outside Azure', () => {
  let ingestion: IngestionServer;
  let identity: TokenEndpoint;

  beforeAll(async () => {
    ingestion = await startIngestionServer();
    identity = await startTokenEndpoint();
  });

  afterAll(async () => {
    await ingestion?.close();
    await identity?.close();
  });

  it('sends with a Microsoft Entra ID token of the machine identity, without AZURE_CLIENT_ID', async () => {
    // The machine's identity is an App Service-style endpoint on loopback (IDENTITY_ENDPOINT + IDENTITY_HEADER),
    // which DefaultAzureCredential finds on its own; the ingestion endpoint is the local one, over TLS.
    const run = start(['--cycles', '1'], {
      env: { APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString, ...identity.env },
    });
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain('telemetry to Application Insights (Microsoft Entra ID token)');
    expect(run.output()).toMatch(/^cycle .* site=lab: 12 endpoints, 12 reachable/m);
    expect(run.output()).not.toContain('warning');

    expect(ingestion.requests.length).toBeGreaterThan(0);
    expect(new Set(ingestion.requests.map((r) => r.authorization))).toEqual(new Set([`Bearer ${identity.tokenFor()}`]));
    // One token per exporter (events and availability; metrics), asked for at once.
    expect(identity.requests.length).toBeGreaterThan(0);
    expect(new Set(identity.requests.map((r) => JSON.stringify(r)))).toEqual(
      new Set([JSON.stringify({ resource: 'https://monitor.azure.com', clientId: null, secretOk: true, status: 200 })]),
    );
    const cycles = ingestion
      .byBaseType('EventData')
      .filter(
        (e) =>
          e.data.baseData.name === EVENTS.cycle &&
          (e.data.baseData.properties as Record<string, string>).site === 'lab',
      );
    expect(cycles).toHaveLength(1);
    expect(ingestion.byBaseType('AvailabilityData')).toHaveLength(12);
  });
});

describe('schedule to interval', () => {
  it.each([
    ['0 */5 * * * *', 300],
    ['30 */15 * * * *', 900],
    ['0 * * * * *', 60],
    ['*/20 * * * * *', 20],
    ['0 0 * * * *', undefined],
    ['0 */5 * * *', undefined],
  ])('%s → %s s', (schedule, seconds) => {
    expect(intervalFromSchedule(schedule)).toBe(seconds);
  });
});
