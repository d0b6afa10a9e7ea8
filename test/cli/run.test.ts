import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG, expandTargets } from '../../lib/catalog';
import { intervalFromSchedule } from '../../lib/cli/run';
import { startFakeAzure, type FakeAzure, TEST_WILDCARDS } from '../helpers/fakeAzure';

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

function start(extra: string[]) {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, TMPDIR: dir };
  if (process.env.NODE_EXTRA_CA_CERTS) env.NODE_EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS;
  const child = spawn(
    process.execPath,
    [
      'dist/cli.js',
      'run',
      '--site',
      'lab',
      '--region',
      'eastus',
      '--dns-server',
      fake.dns.address,
      '--expected-roots',
      fake.expectedRootsFile,
      '--endpoints',
      endpointsFile,
      ...extra,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
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
        /site=lab: 11 endpoints, 11 reachable, 0 degraded, 0 blocked, 0 skipped in \d+ ms; stored 22 entities/,
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
      expect(await run.exited).toBe(0);
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
    expect(run.errors()).toContain('--interval-s must be a whole number of seconds');
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
