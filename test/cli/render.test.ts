import { describe, expect, it } from 'vitest';
import { CATALOG, expandTargets } from '../../lib/catalog';
import type { Cloud, Target } from '../../lib/catalog/types';
import { legend, renderCsv, requirementLabel, renderTable, summaryLines } from '../../lib/cli/render';
import { runCycle } from '../../lib/monitor/cycle';
import type { CycleReport } from '../../lib/monitor/types';
import { finding, settle } from '../../lib/probes/result';
import type { ProbeContext } from '../../lib/probes/types';
import { TEST_WILDCARDS } from '../helpers/fakeAzure';

/** Every catalog target of a cloud in its region with the longest name; the longest hosts blocked with a long reason. */
async function reportFor(cloud: Cloud, region: string, wildcards = TEST_WILDCARDS): Promise<CycleReport> {
  const expanded = expandTargets(CATALOG, { cloud, region, scenarios: 'all', wildcards });
  const longest = [...expanded.targets].sort((a, b) => b.id.length - a.id.length).slice(0, 3);
  const probe = (t: Target) =>
    Promise.resolve(
      settle({
        targetId: t.id,
        host: t.host,
        port: t.port,
        transport: t.transport,
        findings: longest.includes(t)
          ? [
              finding(
                'TCP_TIMEOUT',
                `${t.host}: no answer from 203.0.113.10:${t.port} within 10000 ms; a firewall drops the connection attempt; fix: allow ${t.host} on TCP ${t.port} or the service tag ${t.serviceTags[0] ?? 'AzureArcInfrastructure'}`,
              ),
            ]
          : [],
        timings: { dns: 3, connect: 12, total: 41 },
        startedAt: new Date(0).toISOString(),
      }),
    );
  return runCycle(expanded, {
    site: 'cli',
    cloud,
    region,
    concurrency: 8,
    timeoutMs: 1000,
    probe,
    ctx: { now: () => new Date(0) } as unknown as ProbeContext,
  });
}

describe('the table fits the terminal', () => {
  it.each([
    ['AzureUSGovernment', 'usgovvirginia', 80],
    ['AzureUSGovernment', 'usgovvirginia', 200],
    ['AzureCloud', 'germanywestcentral', 80],
    ['AzureCloud', 'germanywestcentral', 200],
    ['AzureChinaCloud', 'chinanorth3', 80],
  ] as const)(
    '%s %s at %d columns: no line too long, every host:port whole, every fix shown',
    async (cloud, region, width) => {
      const report = await reportFor(cloud, region);
      const table = renderTable(report, { width });
      const lines = table.split('\n');
      for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(width);
      const flat = lines.join(' ').replace(/\s+/g, ' ');
      for (const r of report.results) {
        // The endpoint stands whole at the start of a line, port included.
        expect(
          lines.some((l) => l === r.target.id || l.startsWith(r.target.id + ' ')),
          r.target.id,
        ).toBe(true);
        if (r.result.failure) {
          // The reason, with its fix, is all there (wrapped lines joined).
          const reason = `${r.result.failure.code}: ${r.result.failure.message}`.replace(/\s+/g, ' ');
          expect(flat).toContain(reason);
          expect(reason).toMatch(/fix: /);
        }
      }
    },
  );

  it('puts the long reason of a blocked endpoint on its own indented lines at 80 columns', async () => {
    const report = await reportFor('AzureUSGovernment', 'usgovvirginia');
    const lines = renderTable(report, { width: 80 }).split('\n');
    const blocked = report.results.find((r) => r.result.verdict === 'blocked');
    const at = lines.findIndex((l) => l.startsWith(blocked?.target.id ?? '?'));
    const rowAndReason = lines.slice(at, at + 4).join('\n');
    expect(rowAndReason).toMatch(/BLOCKED\s+41\n( {4}TCP_TIMEOUT: .*\n| {4}.*\n)/);
    expect(lines[0]).toMatch(/^ENDPOINT\s+REQUIRED DNS\s+TCP\s+TLS\s+HTTP VERDICT\s+MS\s+REASON$/);
  });

  it('elides only the middle of a host longer than the whole width, keeping the port', async () => {
    const host = `${'a'.repeat(60)}.${'b'.repeat(60)}.contoso.com`;
    const expanded = expandTargets(CATALOG, {
      cloud: 'AzureCloud',
      region: 'eastus',
      scenarios: ['servers'],
      wildcards: TEST_WILDCARDS,
    });
    const report = await reportFor('AzureCloud', 'eastus');
    const first = report.results[0];
    if (!first || !expanded.targets[0]) throw new Error('no targets');
    first.target = { ...first.target, id: `${host}:8443`, host, port: 8443 };
    const lines = renderTable(report, { width: 80 }).split('\n');
    const line = lines.find((l) => l.endsWith(':8443'));
    expect(line).toBe(`${'a'.repeat(37)}…${'b'.repeat(25)}.contoso.com:8443`);
  });

  it('explains every requirement label it uses, and the layer marks', async () => {
    const report = await reportFor('AzureCloud', 'eastus');
    const text = legend(report, 80);
    const used = new Set(report.results.map((r) => requirementLabel(r.target.requirement)));
    expect(used.size).toBeGreaterThanOrEqual(4);
    for (const label of used) expect(text.replace(/\n/g, ' ')).toContain(`${label} = `);
    expect(text).toContain('FAIL broke here');
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('writes CSV with a header and RFC 4180 quoting', async () => {
    const report = await reportFor('AzureCloud', 'eastus');
    const rows = renderCsv(report).trimEnd().split('\r\n');
    expect(rows[0]).toBe(
      'endpoint,host,port,transport,requirement,verdict,code,phase,dns,tcp,tls,http,ms,reason,purpose',
    );
    expect(rows).toHaveLength(report.results.length + 1);
    const blocked = rows.find((r) => r.includes(',blocked,TCP_TIMEOUT,connect,'));
    expect(blocked).toMatch(/,"?TCP_TIMEOUT: [^,]*/);
  });
});

describe('an honest summary', () => {
  it('never says "all reachable" when required endpoints were skipped, and names them with the fix', async () => {
    const report = await reportFor('AzureCloud', '', {} as typeof TEST_WILDCARDS);
    const lines = summaryLines(report);
    expect(lines[0]).not.toContain('all required endpoints reachable');
    expect(lines[1]).toMatch(/^\d+ required endpoints not checked \(.*\*\.his\.arc\.azure\.com:443.*\): .*--region/);
  });

  it('says no required endpoint was checked when every one was skipped', async () => {
    const expanded = expandTargets(CATALOG, { cloud: 'AzureCloud', region: '', scenarios: ['servers'], wildcards: {} });
    const report = await runCycle(
      { targets: [], skipped: expanded.skipped },
      {
        site: 'cli',
        cloud: 'AzureCloud',
        region: '',
        concurrency: 1,
        timeoutMs: 1000,
        probe: () => Promise.reject(new Error('nothing is probed')),
        ctx: { now: () => new Date(0) } as unknown as ProbeContext,
      },
    );
    expect(summaryLines(report)[0]).toMatch(/ skipped — no required endpoint was checked \(AzureCloud, \d+ ms\)$/);
  });
});
