import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTableStore, startAzurite, type AzuriteHandle } from '../../lib/store';
import { uniqueTablePrefix } from '../helpers/azurite';
import { cycleReport, manyTargets, outcomeOf } from '../store/fixtures';
import { tallyHistory } from './tally';

/**
 * Azurite goes down in the middle of a cycle's write (stopped while transactions are in flight) and comes back:
 * the batches it never acknowledged stay in the spool and are written by the next cycle, each result once.
 */

let dir: string;
let azurite: AzuriteHandle;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'arcmon-azurite-killed-'));
  azurite = await startAzurite({ port: 0, location: join(dir, 'azurite') });
});
afterAll(async () => {
  await azurite?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('Azurite stopped in the middle of a batch', () => {
  it('loses and doubles nothing once it is back', async () => {
    let batches = 0;
    let stopping: Promise<void> | undefined;
    const store = createTableStore({
      connectionString: azurite.connectionString,
      prefix: uniqueTablePrefix(),
      spoolDir: join(dir, 'spool'),
      concurrency: 2,
      retry: { attempts: 2, baseDelayMs: 20, timeoutMs: 3000 },
      onRequest: (info) => {
        if (info.path.includes('$batch') && ++batches === 4) stopping = azurite.stop();
      },
    });
    await store.init();
    const targets = manyTargets(1000);
    const cut = cycleReport('hub-killed', '2026-03-01T10:00:00.000Z', targets);
    const during = await store.writeCycle(cut, outcomeOf(cut));
    await stopping;
    expect(during.spooled.entities).toBeGreaterThan(0);
    expect(during.entities + during.spooled.entities).toBe(2000);

    await azurite.restart();
    const next = cycleReport('hub-killed', '2026-03-01T10:05:00.000Z', targets);
    const after = await store.writeCycle(next, outcomeOf(next));
    expect(after).toMatchObject({ pendingSpoolBatches: 0, rejectedSpoolBatches: 0, spooled: { entities: 0 } });

    const history = TableClient.fromConnectionString(azurite.connectionString, store.tables.history, {
      allowInsecureConnection: true,
    });
    const tally = await tallyHistory(history, [cut, next], 'Azurite stopped mid-batch and restarted');
    expect(tally).toEqual({ expected: 2000, lost: 0, duplicated: 0 });
  });
});
