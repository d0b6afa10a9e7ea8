import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TableClient } from '@azure/data-tables';
import type { AzuriteHandle, TableStore } from '../../lib/store';
import { createTableStore, startAzurite } from '../../lib/store';
import { uniqueTablePrefix } from '../helpers/azurite';
import { cycleReport, manyTargets, openIncident, outcomeOf, statesOf } from './fixtures';

// Data must survive the restart, so this file runs its own Azurite on disk.
let workDir: string;
let azurite: AzuriteHandle;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'arcmon-outage-test-'));
  azurite = await startAzurite({ port: 0, location: join(workDir, 'azurite') });
});
afterAll(async () => {
  await azurite?.stop();
  await rm(workDir, { recursive: true, force: true });
});

async function freshStore(onRequest?: () => void): Promise<{ store: TableStore; spoolDir: string }> {
  const spoolDir = await mkdtemp(join(workDir, 'spool-'));
  const store = createTableStore({
    connectionString: azurite.connectionString,
    prefix: uniqueTablePrefix(),
    spoolDir,
    concurrency: 1,
    retry: { attempts: 2, baseDelayMs: 20, timeoutMs: 3000 },
    ...(onRequest ? { onRequest } : {}),
  });
  await store.init();
  return { store, spoolDir };
}

async function historyRows(store: TableStore): Promise<Record<string, unknown>[]> {
  const client = TableClient.fromConnectionString(azurite.connectionString, store.tables.history, {
    allowInsecureConnection: true,
  });
  const rows: Record<string, unknown>[] = [];
  for await (const row of client.listEntities<Record<string, unknown>>()) rows.push(row);
  return rows;
}

/** Rows per `cycleId|targetId`: every value must be 1 for "present exactly once". */
function copies(rows: Record<string, unknown>[]): Map<string, number> {
  const count = new Map<string, number>();
  for (const r of rows) {
    const key = `${String(r.cycleId)}|${String(r.targetId)}`;
    count.set(key, (count.get(key) ?? 0) + 1);
  }
  return count;
}

async function spooledFiles(spoolDir: string): Promise<string[]> {
  const sites = await readdir(spoolDir).catch(() => []);
  const files = await Promise.all(sites.map((s) => readdir(join(spoolDir, s))));
  return files.flat().filter((f) => f.endsWith('.json'));
}

describe('Table store during a storage outage', () => {
  it('spools a cycle while storage is down and writes it once storage is back', async () => {
    const { store, spoolDir } = await freshStore();
    const targets = manyTargets(150);
    const first = cycleReport('hub-weu', '2026-03-01T10:00:00.000Z', targets);
    await store.writeCycle(first, outcomeOf(first));

    await azurite.stop();
    const second = cycleReport('hub-weu', '2026-03-01T10:05:00.000Z', targets);
    const incident = openIncident('hub-weu', 'host-3.example.test:443', second.cycleId);
    const down = await store.writeCycle(second, outcomeOf(second, [incident]));
    expect(down).toMatchObject({
      entities: 0,
      batches: 0,
      spooled: { batches: 5, entities: 301 },
      pendingSpoolBatches: 5,
    });
    expect(down.error).toMatch(/ECONNREFUSED/);
    expect(await spooledFiles(spoolDir)).toHaveLength(5);
    // The next cycle still sees what it would have read from the table.
    expect(await store.loadStates('hub-weu')).toEqual(new Map(statesOf(second).map((s) => [s.targetId, s])));
    expect(await store.loadOpenIncidents('hub-weu')).toEqual([incident]);

    await azurite.restart();
    const third = cycleReport('hub-weu', '2026-03-01T10:10:00.000Z', targets);
    const up = await store.writeCycle(third, outcomeOf(third, [incident]));
    expect(up).toMatchObject({
      flushed: { batches: 5, entities: 301 },
      spooled: { batches: 0, entities: 0 },
      pendingSpoolBatches: 0,
      entities: 301,
    });
    expect(up.error).toBeUndefined();
    expect(await spooledFiles(spoolDir)).toEqual([]);

    const rows = await historyRows(store);
    expect(rows).toHaveLength(450);
    expect([...copies(rows).values()].every((n) => n === 1)).toBe(true);
  });

  it('keeps every result exactly once when storage stops in the middle of a write', async () => {
    let armed = false;
    let answered = 0;
    let stopping: Promise<void> | undefined;
    const { store, spoolDir } = await freshStore(() => {
      if (!armed) return;
      answered += 1;
      // Two transactions of the cycle are written: take storage down under the rest.
      if (answered === 2) stopping = azurite.stop();
    });
    const report = cycleReport('hub-weu', '2026-03-01T11:00:00.000Z', manyTargets(1000));
    armed = true;
    const during = await store.writeCycle(report, outcomeOf(report));
    await stopping;

    expect(during.batches).toBeGreaterThanOrEqual(2);
    expect(during.spooled.batches).toBeGreaterThan(0);
    expect(during.batches + during.spooled.batches).toBe(20);
    expect(during.entities + during.spooled.entities).toBe(2000);

    await azurite.restart();
    const flushed = await store.flushSpool();
    expect(flushed).toMatchObject({ pending: 0, rejected: 0, batches: during.spooled.batches });
    expect(await spooledFiles(spoolDir)).toEqual([]);

    const rows = await historyRows(store);
    expect(rows).toHaveLength(1000);
    expect([...copies(rows).values()].every((n) => n === 1)).toBe(true);
    expect((await store.loadStates('hub-weu')).size).toBe(1000);
  });
});
