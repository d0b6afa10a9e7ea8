import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordCycle } from '../../lib/monitor/monitor';
import type { CycleReport, Transition } from '../../lib/monitor/types';
import { createTableStore } from '../../lib/store';
import { noopTelemetry } from '../../lib/telemetry/sink';
import { sharedAzurite, uniqueTablePrefix } from '../helpers/azurite';
import { manyTargets, probeResult } from '../store/fixtures';
import { faultConfig, tallyHistory } from './tally';

/**
 * Several runners of one site at once (the timer beside the portal's "Run now", or two local runners by mistake),
 * each with its own store instance and spool, against one Azurite. An endpoint fails for three rounds and recovers for
 * three: across all runners there must be one incident, one "opened" and one "resolved".
 */

const SITE = 'hub-concurrent';
const azurite = sharedAzurite({ inMemory: true });
let spoolRoot: string;
beforeAll(async () => {
  spoolRoot = await mkdtemp(join(tmpdir(), 'arcmon-concurrent-'));
});
afterAll(async () => {
  await rm(spoolRoot, { recursive: true, force: true });
});

const cfg = faultConfig(SITE);

const targets = manyTargets(3);

function report(startedAt: string, runner: number, failing: boolean): CycleReport {
  const results = targets.map((t, i) => ({
    target: t,
    result: probeResult(t, i === 2 && failing ? 'refused' : 'ok', startedAt),
  }));
  return {
    cycleId: `${startedAt}-runner${runner}`,
    site: SITE,
    cloud: 'AzureCloud',
    region: 'westeurope',
    startedAt,
    finishedAt: startedAt,
    durationMs: 10,
    results,
    counts: {
      reachable: results.filter((r) => r.result.verdict === 'reachable').length,
      degraded: 0,
      blocked: results.filter((r) => r.result.verdict === 'blocked').length,
      skipped: 0,
    },
  };
}

describe.each([2, 5])('%i runners of one site at the same time', (runners) => {
  it('open one incident and report each transition once', async () => {
    const prefix = uniqueTablePrefix();
    const stores = Array.from({ length: runners }, (_, i) =>
      createTableStore({
        connectionString: azurite.handle.connectionString,
        prefix,
        spoolDir: join(spoolRoot, `${runners}-${i}`),
      }),
    );
    await stores[0]!.init();
    const transitions: Transition[] = [];
    const reports: CycleReport[] = [];
    for (let round = 0; round < 6; round++) {
      const startedAt = new Date(Date.UTC(2026, 2, 1, 10, round * 5)).toISOString();
      const outcomes = await Promise.all(
        stores.map((store, i) => {
          const r = report(startedAt, i, round < 3);
          reports.push(r);
          return recordCycle(cfg, { store, telemetry: noopTelemetry, log: () => undefined }, r, { pastDue: false });
        }),
      );
      for (const o of outcomes) transitions.push(...o.outcome.transitions);
    }
    const kinds = transitions.map((t) => `${t.type} ${t.incident.targetId}`);
    console.log(`[fault] ${runners} runners: transitions ${JSON.stringify(kinds)}`);
    expect(kinds).toEqual(['opened host-2.example.test:443', 'resolved host-2.example.test:443']);

    const incidents = TableClient.fromConnectionString(azurite.handle.connectionString, stores[0]!.tables.incidents, {
      allowInsecureConnection: true,
    });
    const rows: Record<string, unknown>[] = [];
    for await (const row of incidents.listEntities<Record<string, unknown>>()) rows.push(row);
    expect(rows.map((r) => [r.targetId, r.status])).toEqual([['host-2.example.test:443', 'resolved']]);

    const history = TableClient.fromConnectionString(azurite.handle.connectionString, stores[0]!.tables.history, {
      allowInsecureConnection: true,
    });
    const tally = await tallyHistory(history, reports, `${runners} concurrent runners`);
    expect(tally).toEqual({ expected: runners * 6 * 3, lost: 0, duplicated: 0 });
  });
});
