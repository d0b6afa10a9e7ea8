import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG, expandTargets } from '../../lib/catalog';
import type { Target } from '../../lib/catalog/types';
import { runCheck } from '../../lib/cli/check';
import { createRoot, createLeaf, createIntermediate } from '../helpers/pki';
import { realStatusFor, startFakeAzure, type FakeAzure, TEST_WILDCARDS } from '../helpers/fakeAzure';

const execFileP = promisify(execFile);

interface JsonResult {
  target: { id: string; host: string; requirement: string };
  verdict: string;
  failure?: { code: string; phase: string; severity: string; message: string };
  findings: { code: string }[];
  http?: { status: number };
  tls?: { root: { genuine: boolean }; interceptedBy?: string; protocol: string };
  ntp?: { offsetMs: number };
  dns?: { addresses: { address: string; scope: string }[] };
}
interface JsonDoc {
  schema: string;
  summary: {
    reachable: number;
    degraded: number;
    blocked: number;
    skipped: number;
    total: number;
    requiredBlocked: number;
  };
  results: JsonResult[];
}

let fake: FakeAzure;
let dir: string;
let endpointsFile: string;
let targets: Target[];

async function check(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCheck(args, {
    stdout: (s) => void (out += s),
    stderr: (s) => void (err += s),
    isTTY: false,
    env,
  });
  return { code, out, err };
}

const base = () => [
  '--region',
  'eastus',
  '--dns-server',
  fake.dns.address,
  '--expected-roots',
  fake.expectedRootsFile,
  '--endpoints',
  endpointsFile,
  '--timeout-ms',
  '3000',
];

function byHost(doc: JsonDoc, host: string): JsonResult {
  const r = doc.results.find((x) => x.target.host === host);
  if (!r) throw new Error(`no result for ${host}`);
  return r;
}

/*
 * Azure on loopback serves the seeds' catalog (HTTPS on 443, NTP on 123); the rows beyond the seeds need other
 * protocols (plain HTTP on 80, DNS on 53, WebSocket, HTTP/2) and are tested against their own servers
 * (test/probes/protocols.test.ts), so this file's configuration excludes them.
 */
const BEYOND_SEEDS = CATALOG.filter((e) => e.source.document === 'page').map((e) => e.id);

beforeAll(async () => {
  targets = expandTargets(
    CATALOG.filter((e) => e.source.document !== 'page'),
    {
      cloud: 'AzureCloud',
      region: 'eastus',
      scenarios: 'all',
      wildcards: TEST_WILDCARDS,
    },
  ).targets;
  fake = await startFakeAzure(targets);
  dir = await mkdtemp(join(tmpdir(), 'arcmon-cli-'));
  endpointsFile = join(dir, 'endpoints.json');
  await writeFile(endpointsFile, JSON.stringify({ version: 1, wildcards: TEST_WILDCARDS, exclude: BEYOND_SEEDS }));
});

afterAll(async () => {
  await fake?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('arcmon check against Azure on loopback', () => {
  it('finds every endpoint of every scenario reachable, layer by layer, and exits 0', async () => {
    const { code, out } = await check([...base(), '--scenario', 'all', '--json']);
    const doc = JSON.parse(out) as JsonDoc;
    expect(doc.schema).toBe('arcmon.check/v1');
    expect(doc.results.map((r) => r.target.host).sort()).toEqual(targets.map((t) => t.host).sort());
    for (const r of doc.results) {
      expect({ id: r.target.id, verdict: r.verdict, failure: r.failure }).toEqual({
        id: r.target.id,
        verdict: 'reachable',
        failure: undefined,
      });
      if (r.ntp) continue;
      expect(r.http?.status, r.target.id).toBe(realStatusFor(r.target.host));
      expect(r.tls?.root.genuine, r.target.id).toBe(true);
      expect(r.dns?.addresses[0]?.address).toBe(fake.addresses.get(r.target.host));
    }
    expect(byHost(doc, 'time.windows.com').ntp?.offsetMs).toEqual(expect.any(Number));
    expect(doc.summary).toMatchObject({ blocked: 0, skipped: 0, requiredBlocked: 0, total: targets.length });
    expect(code).toBe(0);
  });

  it('prints a table a person reads at a glance, with a summary line', async () => {
    const { code, out } = await check([...base()]);
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^ENDPOINT\s+REQUIRED\s+DNS\s+TCP\s+TLS\s+HTTP\s+VERDICT\s+MS\s+REASON$/);
    expect(out).toMatch(/^gbl\.his\.arc\.azure\.com:443\s+always\s+ok\s+ok\s+ok\s+400\s+REACHABLE/m);
    expect(lines.at(-1)).toMatch(
      /^\d+ endpoints: \d+ reachable, 0 degraded, 0 blocked, 0 skipped — all required endpoints reachable \(AzureCloud eastus, \d+ ms\)$/,
    );
    expect(code).toBe(0);
  });

  it('says why a required endpoint is blocked, per layer, and exits 1', async () => {
    fake.dns.set('login.microsoftonline.com', 'nxdomain');
    await fake.replace('management.azure.com', { behaviour: 'hang-after-accept' });
    try {
      const { code, out } = await check([...base(), '--scenario', 'servers,onboarding', '--json']);
      const doc = JSON.parse(out) as JsonDoc;
      expect(byHost(doc, 'login.microsoftonline.com').failure).toMatchObject({ code: 'DNS_NXDOMAIN', phase: 'dns' });
      expect(byHost(doc, 'management.azure.com').failure).toMatchObject({ code: 'TLS_TIMEOUT', phase: 'tls' });
      expect(byHost(doc, 'pas.windows.net').verdict).toBe('reachable');
      expect(doc.summary.requiredBlocked).toBe(2);
      expect(code).toBe(1);
    } finally {
      fake.dns.set('login.microsoftonline.com', { A: [fake.addresses.get('login.microsoftonline.com') as string] });
      await fake.replace('management.azure.com', { behaviour: 'normal' });
    }
  });

  it('names the CA of a TLS inspection: degraded for the agent, blocked for the resource bridge', async () => {
    const inspector = await createRoot('Contoso Inspection CA');
    const issuing = await createIntermediate(inspector, 'Contoso Inspection Issuing');
    const inspectedPem = join(dir, 'inspector.pem');
    await writeFile(inspectedPem, inspector.certPem);
    const bridgeHost = 'eastus.dp.prod.appliances.azure.com';
    for (const host of ['gbl.his.arc.azure.com', 'agentserviceapi.guestconfiguration.azure.com']) {
      await fake.replace(host, { identity: { leaf: await createLeaf(issuing, [host]), intermediates: [issuing] } });
    }
    await fake.replace(bridgeHost, {
      identity: { leaf: await createLeaf(issuing, [bridgeHost]), intermediates: [issuing] },
    });
    try {
      // The machine trusts the inspection CA (as it must for the agent to work through it), but it is not genuine.
      const trusted = await check([...base(), '--scenario', 'servers,resource-bridge', '--json'], {
        NODE_EXTRA_CA_CERTS: inspectedPem,
      });
      const doc = JSON.parse(trusted.out) as JsonDoc;
      const agentOnly = byHost(doc, 'agentserviceapi.guestconfiguration.azure.com');
      expect(agentOnly.verdict).toBe('degraded');
      expect(agentOnly.failure).toMatchObject({ code: 'TLS_INTERCEPTED', phase: 'tls', severity: 'degrading' });
      expect(agentOnly.tls?.interceptedBy).toContain('Contoso Inspection CA');
      // gbl.his serves the agent and the resource bridge (its managed identity): the bridge does not tolerate it.
      const his = byHost(doc, 'gbl.his.arc.azure.com');
      expect(his.verdict).toBe('blocked');
      expect(his.failure).toMatchObject({ code: 'TLS_INTERCEPTED', phase: 'tls', severity: 'blocking' });
      expect(his.http?.status).toBe(400);
      const bridge = byHost(doc, bridgeHost);
      expect(bridge.verdict).toBe('blocked');
      expect(bridge.failure).toMatchObject({ code: 'TLS_INTERCEPTED', severity: 'blocking' });
      expect(bridge.failure?.message).toContain('Contoso Inspection CA');
      expect(byHost(doc, 'eastus-gas.guestconfiguration.azure.com').verdict).toBe('reachable');
      expect(trusted.code).toBe(1);

      // A machine that does not trust it: the chain is untrusted, and the report still names the inspector.
      const untrusted = JSON.parse((await check([...base(), '--json'])).out) as JsonDoc;
      const his2 = byHost(untrusted, 'gbl.his.arc.azure.com');
      expect(his2.failure?.code).toBe('CERT_UNTRUSTED');
      expect(his2.findings.map((f) => f.code)).toContain('TLS_INTERCEPTED');
      expect(his2.tls?.interceptedBy).toContain('Contoso Inspection CA');
    } finally {
      const { intermediate } = fake;
      for (const host of ['gbl.his.arc.azure.com', 'agentserviceapi.guestconfiguration.azure.com']) {
        await fake.replace(host, {
          identity: { leaf: await createLeaf(intermediate, [host]), intermediates: [intermediate] },
        });
      }
      await fake.replace(bridgeHost, {
        identity: { leaf: await createLeaf(intermediate, [bridgeHost]), intermediates: [intermediate] },
      });
    }
  });
});

describe('arcmon check: usage and configuration', () => {
  it.each([
    [
      ['--cloud', 'AzureMoon'],
      '--cloud must be one of AzureCloud, AzureUSGovernment, AzureChinaCloud, got "AzureMoon"',
    ],
    [['--timeout-ms', 'soon'], '--timeout-ms must be a whole number from 100 to 120000, got "soon"'],
    [['--concurrency', '0'], '--concurrency must be a whole number from 1 to 1024, got 0'],
    [['--region', 'eastuss'], '--region "eastuss" is not a region of AzureCloud; did you mean "eastus"?'],
    [['--scenario', 'everything'], 'unknown scenario'],
    [['--endpoints', '/nonexistent/endpoints.json'], '--endpoints: cannot read /nonexistent/endpoints.json (ENOENT)'],
    [['--dns-server', 'dns.contoso.com'], '--dns-server "dns.contoso.com" is not an IP address'],
    [['--bogus'], "Unknown option '--bogus'"],
  ])('%j exits 2 and says what to fix', async (args, message) => {
    const { code, err, out } = await check(args);
    expect(err).toContain(message);
    expect(out).toBe('');
    expect(code).toBe(2);
  });

  it('reports every problem of a bad endpoints file with its path, and probes nothing', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(
      bad,
      JSON.stringify({ version: 1, endpoints: [{ host: 'a.contoso.com', port: 70000 }], colour: 'red' }),
    );
    const before = fake.dns.queries.length;
    const { code, err } = await check(['--endpoints', bad, '--dns-server', fake.dns.address]);
    expect(err).toContain('endpoints[0].port');
    expect(err).toContain('endpoints[0].purpose');
    expect(err).toContain('colour');
    expect(fake.dns.queries.length).toBe(before);
    expect(code).toBe(2);
  });

  it('lists wildcards it cannot make concrete as skipped, with the setting that fixes them', async () => {
    const { out } = await check([
      '--dns-server',
      fake.dns.address,
      '--expected-roots',
      fake.expectedRootsFile,
      '--no-allowlist',
      '--json',
    ]);
    const doc = JSON.parse(out) as JsonDoc;
    const skipped = doc.results.filter((r) => r.verdict === 'skipped');
    expect(skipped.map((r) => r.target.id).sort()).toEqual(
      expect.arrayContaining(['*.blob.core.windows.net:443', 'azgn*.servicebus.windows.net:443']),
    );
    for (const r of skipped) {
      expect(r.failure?.code).toBe('WILDCARD_UNRESOLVED');
      expect(r.failure?.message).toMatch(/fix: /);
    }
    // Without --region the regional hosts are skipped too, naming --region.
    expect(skipped.some((r) => /--region/.test(r.failure?.message ?? ''))).toBe(true);
  });
});

describe('arcmon check: honest about what it did not check', () => {
  const noWildcards = () => [
    '--dns-server',
    fake.dns.address,
    '--expected-roots',
    fake.expectedRootsFile,
    '--no-allowlist',
    '--timeout-ms',
    '3000',
  ];

  it('counts and names skipped required endpoints, and --require-all makes them fail the run (exit 3)', async () => {
    const plain = await check(noWildcards());
    const summary = plain.out.trim().split('\n').slice(-2);
    expect(summary[0]).not.toContain('all required endpoints reachable');
    expect(summary[0]).toMatch(
      / skipped — the \d+ required endpoint\(s\) checked are reachable \(AzureCloud, \d+ ms\)$/,
    );
    expect(summary[1]).toMatch(/^\d+ required endpoints not checked \(.*\*\.his\.arc\.azure\.com:443.*\): .*--region/);
    expect(plain.code).toBe(0);
    const strict = await check([...noWildcards(), '--require-all', '--quiet']);
    const noMs = (l: string) => l.replace(/\d+ ms\)/, 'N ms)');
    expect(strict.out.trim().split('\n').map(noMs)).toEqual(summary.map(noMs));
    expect(strict.code).toBe(3);
  });

  it('gives skipped rows no severity and keeps their purpose, in json and jsonl', async () => {
    const doc = JSON.parse((await check([...noWildcards(), '--output', 'json'])).out) as JsonDoc & {
      summary: { requiredNotChecked: number };
    };
    const lines = (await check([...noWildcards(), '--output', 'jsonl'])).out.trim().split('\n');
    expect(lines).toHaveLength(doc.results.length);
    const skipped = lines
      .map((l) => JSON.parse(l) as JsonResult & { target: { purpose: string } })
      .filter((r) => r.verdict === 'skipped');
    expect(skipped.length).toBe(doc.summary.skipped);
    expect(doc.summary.requiredNotChecked).toBeGreaterThan(0);
    for (const r of skipped) {
      expect(r.failure).not.toHaveProperty('severity');
      expect(r.findings.every((f) => !('severity' in f))).toBe(true);
      expect(r.target.purpose).not.toMatch(/no region was given|no concrete host/);
    }
    const his = skipped.find((r) => r.target.id === '*.his.arc.azure.com:443');
    expect(his?.target.purpose).toMatch(/metadata|Azure Arc|hybrid/i);
  });
});

describe('arcmon check when nothing answers', () => {
  it('finishes in about one timeout and says, per endpoint, that DNS did not answer', async () => {
    const { startDnsServer } = await import('../helpers/dnsServer');
    const silent = await startDnsServer({}, { unknown: 'silent' });
    try {
      const started = Date.now();
      const { code, out } = await check([
        '--region',
        'eastus',
        '--dns-server',
        silent.address,
        '--no-allowlist',
        '--timeout-ms',
        '1000',
        '--scenario',
        'all',
        '--json',
      ]);
      const elapsed = Date.now() - started;
      const doc = JSON.parse(out) as JsonDoc;
      const probed = doc.results.filter((r) => r.verdict !== 'skipped');
      expect(probed.length).toBeGreaterThan(25);
      for (const r of probed) {
        expect(r.failure?.code, r.target.id).toBe('DNS_TIMEOUT');
        expect(r.failure?.message).toContain(r.target.host);
      }
      // The deadline is per target and targets run concurrently: the cycle is bounded by about one deadline.
      expect(elapsed).toBeLessThan(1000 * 3);
      expect(code).toBe(1);
    } finally {
      await silent.close();
    }
  });
});

describe('the arcmon binary', () => {
  it('runs from the built bundle with --json and exits with the check status', async () => {
    const run = execFileP(process.execPath, ['bin/arcmon.js', 'check', ...base(), '--json'], { encoding: 'utf8' });
    const { stdout } = await run;
    const doc = JSON.parse(stdout) as JsonDoc;
    expect(doc.summary.requiredBlocked).toBe(0);
    const failed = await execFileP(process.execPath, ['bin/arcmon.js', 'check', '--cloud', 'nope']).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(failed).toMatchObject({ code: 2 });
    expect((failed as { stderr: string }).stderr).toContain('--cloud must be one of');
  });
});
