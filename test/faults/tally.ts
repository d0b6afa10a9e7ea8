import type { TableClient } from '@azure/data-tables';
import type { MonitorConfig } from '../../lib/monitor/monitor';
import { DEFAULT_THRESHOLDS } from '../../lib/monitor/setup';
import type { CycleReport } from '../../lib/monitor/types';

/** Results lost and duplicated: what every fault-injection test prints and requires to be 0 and 0. */
export interface Tally {
  expected: number;
  lost: number;
  duplicated: number;
}

/** Reads the whole history table and counts, for the given cycles, results missing and results stored twice. */
export async function tallyHistory(client: TableClient, cycles: readonly CycleReport[], label: string): Promise<Tally> {
  const seen = new Map<string, number>();
  for await (const row of client.listEntities<Record<string, unknown>>()) {
    const key = `${String(row.cycleId)}|${String(row.targetId)}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  let expected = 0;
  let lost = 0;
  let duplicated = 0;
  for (const cycle of cycles) {
    for (const r of cycle.results) {
      expected += 1;
      const n = seen.get(`${cycle.cycleId}|${r.target.id}`) ?? 0;
      if (n === 0) lost += 1;
      if (n > 1) duplicated += n - 1;
    }
  }
  console.log(`[fault] ${label}: ${expected} results, lost ${lost}, duplicated ${duplicated}`);
  return { expected, lost, duplicated };
}

/** The monitor configuration the fault tests record cycles with: open and resolve after 2 cycles. */
export function faultConfig(site: string): MonitorConfig {
  return {
    site,
    concurrency: 4,
    regression: { openAfter: 2, resolveAfter: 2, latencyRatio: 3, latencyFloorMs: 250 },
    inputs: {
      cloud: 'AzureCloud',
      region: 'westeurope',
      scenarios: ['servers'],
      privateLink: false,
      extraCaPem: [],
      timeoutMs: 1000,
      thresholds: DEFAULT_THRESHOLDS,
      fetchAllowlist: false,
    },
  };
}
