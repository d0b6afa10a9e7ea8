/**
 * Retired rows: a row a later Microsoft page dropped is still probed and shown, but never counts as a required
 * endpoint blocked and never opens an incident; the output says why.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG, expandTargets } from '../../lib/catalog';
import { runCheck } from '../../lib/cli/check';
import { targetInfo } from '../../lib/monitor/cycle';
import { DEFAULT_REGRESSION_CONFIG, evaluateCycle } from '../../lib/monitor/regression';
import type { CycleReport, EndpointState, Incident } from '../../lib/monitor/types';
import { finding, settle } from '../../lib/probes/result';
import { startDnsServer, type DnsTestServer } from '../helpers/dnsServer';

describe('retired rows in the catalog', () => {
  it.each([
    ['servers.azurecloud.aka-ms', '2025-01-13'],
    ['servers.azurecloud.login-windows', '2024-10-31'],
    ['servers.azurecloud.blob', '2026-02-13'],
    ['bridge.azurearcfork8s', '2026-07-20'],
    ['bridge.adhs-telemetry', '2026-07-20'],
    ['bridge.kvamanagementoperator', '2026-07-20'],
    ['bridge.azurearcfork8sdev', '2024-04-18'],
  ])('%s stays in the catalog, retired on %s with the removing commit', (id, date) => {
    const entry = CATALOG.find((e) => e.id === id);
    expect(entry?.source.document).toMatch(/^seed:/);
    expect(entry?.retired?.date).toBe(date);
    expect(entry?.retired?.source).toMatch(
      /^MicrosoftDocs\/azure-management-docs articles\/azure-arc\/.+ \(commit [0-9a-f]{7}, /,
    );
  });

  it('retires a target only when every row behind it is retired', () => {
    const blob = (scenarios: 'all' | ['servers']) =>
      expandTargets(CATALOG, {
        cloud: 'AzureCloud',
        region: 'eastus',
        scenarios,
        wildcards: { blobAccounts: ['arcext'] },
      }).targets.find((t) => t.host === 'arcext.blob.core.windows.net');
    // Only the agent's (retired) row: retired. With the resource bridge, which still needs blob storage: counted.
    expect(blob(['servers'])?.retired).toMatch(/^retired 2026-02-13: /);
    expect(blob('all')?.entryIds).toContain('bridge.image-blob');
    expect(blob('all')?.retired).toBeUndefined();
  });
});

describe('a blocked retired row', () => {
  let dns: DnsTestServer;
  let dir: string;

  beforeAll(async () => {
    dns = await startDnsServer({}, { unknown: 'nxdomain' });
    dir = await mkdtemp(join(tmpdir(), 'arcmon-retired-'));
  });
  afterAll(async () => {
    await dns.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** `arcmon check` for the China tab's onboarding rows, keeping only `keep`; every name is NXDOMAIN. */
  async function checkOnly(keep: string) {
    const onboarding = CATALOG.filter((e) => e.cloud === 'AzureChinaCloud' && e.scenarios.includes('onboarding'));
    const file = join(dir, `${keep}.json`);
    const exclude = onboarding.filter((e) => e.id !== keep).map((e) => e.id);
    await writeFile(file, JSON.stringify({ version: 1, exclude }));
    let out = '';
    const code = await runCheck(
      [
        '--cloud',
        'AzureChinaCloud',
        '--scenario',
        'onboarding',
        '--endpoints',
        file,
        '--dns-server',
        dns.address,
        '--no-allowlist',
      ],
      { stdout: (s) => void (out += s), stderr: (s) => void (out += s), isTTY: false, env: {} },
    );
    return { code, out };
  }

  it('is probed and shown as blocked, says why it does not count, and leaves the exit status at 0', async () => {
    const { code, out } = await checkOnly('servers.azurechinacloud.aka-ms');
    expect(out).toMatch(/aka\.ms:443 .* BLOCKED +\d+\n +not counted \(retired 2025-01-13\); DNS_NXDOMAIN/);
    expect(out).toContain('DNS_NXDOMAIN');
    expect(out).toContain('1 blocked');
    // The only row is retired: nothing required was checked, and the summary says so rather than "all reachable".
    expect(out).toContain('no required endpoint was checked');
    expect(code).toBe(0);
  });

  it('while a current row blocked the same way sets exit status 1', async () => {
    const { code, out } = await checkOnly('servers.azurechinacloud.download-microsoft');
    expect(out).toContain('1 required endpoint(s) BLOCKED');
    expect(code).toBe(1);
  });

  it('never opens an incident, however long it stays blocked; a current row does', () => {
    const { targets } = expandTargets(CATALOG, { cloud: 'AzureChinaCloud', region: '', scenarios: ['onboarding'] });
    const aka = targets.find((t) => t.host === 'aka.ms');
    const download = targets.find((t) => t.host === 'download.microsoft.com');
    if (!aka || !download) throw new Error('onboarding targets missing');
    let states = new Map<string, EndpointState>();
    let open: Incident[] = [];
    for (let n = 1; n <= 5; n++) {
      const report: CycleReport = {
        cycleId: `2026-08-01T00:0${n}:00.000Z-test`,
        site: 'hq',
        cloud: 'AzureChinaCloud',
        region: '',
        startedAt: `2026-08-01T00:0${n}:00.000Z`,
        finishedAt: `2026-08-01T00:0${n}:01.000Z`,
        durationMs: 1000,
        counts: { reachable: 0, degraded: 0, blocked: 2, skipped: 0 },
        results: [aka, download].map((t) => ({
          target: targetInfo(t),
          result: settle({
            targetId: t.id,
            host: t.host,
            port: t.port,
            transport: 'tcp',
            findings: [finding('DNS_NXDOMAIN', `${t.host} does not exist`)],
            timings: { total: 1 },
            startedAt: `2026-08-01T00:0${n}:00.000Z`,
          }),
        })),
      };
      const outcome = evaluateCycle({
        previous: states,
        openIncidents: open,
        report,
        config: DEFAULT_REGRESSION_CONFIG,
      });
      states = new Map(outcome.states.map((s) => [s.targetId, s]));
      open = outcome.incidents.filter((i) => i.status === 'open');
    }
    expect(states.get(aka.id)?.consecutiveFailures).toBe(5);
    expect(open.map((i) => `${i.targetId} ${i.kind}`)).toEqual(['download.microsoft.com:443 blocked']);
  });
});
