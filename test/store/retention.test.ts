import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTableStore, type TableStore } from '../../lib/store';
import { sharedAzurite, uniqueTablePrefix } from '../helpers/azurite';
import { cycleReport, manyTargets, outcomeOf } from './fixtures';

const azurite = sharedAzurite({ inMemory: true });
let spoolRoot: string;
beforeAll(async () => {
  spoolRoot = await mkdtemp(join(tmpdir(), 'arcmon-retention-'));
});
afterAll(async () => {
  await rm(spoolRoot, { recursive: true, force: true });
});

async function storeWith(sites: string[], cyclesAt: string[], endpoints: number): Promise<TableStore> {
  const store = createTableStore({
    connectionString: azurite.handle.connectionString,
    prefix: uniqueTablePrefix(),
    spoolDir: await mkdtemp(join(spoolRoot, 'spool-')),
  });
  await store.init();
  for (const site of sites) {
    for (const at of cyclesAt) {
      const report = cycleReport(site, at, manyTargets(endpoints));
      await store.writeCycle(report, outcomeOf(report));
    }
  }
  return store;
}

async function historyBySite(store: TableStore): Promise<Record<string, number>> {
  const client = TableClient.fromConnectionString(azurite.handle.connectionString, store.tables.history, {
    allowInsecureConnection: true,
  });
  const count: Record<string, number> = {};
  for await (const row of client.listEntities<{ site: string }>()) count[row.site] = (count[row.site] ?? 0) + 1;
  return count;
}

describe('retention', () => {
  it('counts rows already gone (404 on delete) as done and deletes the rest', async () => {
    const store = await storeWith(['hub-weu'], ['2026-03-01T08:00:00.000Z'], 150);
    // A purge whose response was lost had already deleted part of the partition.
    const client = TableClient.fromConnectionString(azurite.handle.connectionString, store.tables.history, {
      allowInsecureConnection: true,
    });
    let removed = 0;
    for await (const row of client.listEntities()) {
      if (removed++ % 3 === 0) await client.deleteEntity(row.partitionKey as string, row.rowKey as string);
    }
    expect(await store.purgeHistory(new Date('2026-03-01T10:00:00.000Z'))).toBe(100);
    expect(await historyBySite(store)).toEqual({});
  });

  it('shares a limited run fairly across sites instead of starving the later ones', async () => {
    const sites = ['site-a', 'site-b', 'site-c', 'site-d'];
    const store = await storeWith(sites, ['2026-03-01T07:00:00.000Z', '2026-03-01T08:00:00.000Z'], 100);
    expect(await store.purgeHistory(new Date('2026-03-01T10:00:00.000Z'), { maxBatches: 4 })).toBe(400);
    expect(await historyBySite(store)).toEqual({ 'site-a': 100, 'site-b': 100, 'site-c': 100, 'site-d': 100 });
  });
});
