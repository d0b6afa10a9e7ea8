/**
 * Table Storage write benchmark: one 1,000-endpoint cycle (history + state rows) written against a fresh
 * in-memory Azurite, once the store's way (transactions of 100 per partition) and once one request per entity.
 * Prints request counts (counted by a pipeline policy) and wall time. Run alone: `npx tsx test/bench/tables.ts`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import type { TableServiceClientOptions } from '@azure/data-tables';
import { startAzurite } from '../../lib/store/azurite';
import { historyEntity, stateEntity } from '../../lib/store/entities';
import { cycleInstant } from '../../lib/store/keys';
import { createTableStore } from '../../lib/store/tableStore';
import { cycleReport, manyTargets, outcomeOf } from '../store/fixtures';

const ENDPOINTS = 1000;
const PER_ENTITY_CONCURRENCY = 8;

type PipelinePolicy = NonNullable<TableServiceClientOptions['additionalPolicies']>[number]['policy'];

function counter(): { policy: PipelinePolicy; count: () => number } {
  let n = 0;
  return {
    policy: {
      name: 'benchRequestCounter',
      sendRequest: (request, next) => {
        n += 1;
        return next(request);
      },
    },
    count: () => n,
  };
}

export async function benchTables(): Promise<{ lines: string[] }> {
  const azurite = await startAzurite({ port: 0 });
  const spoolDir = await mkdtemp(join(tmpdir(), 'arcmon-bench-spool-'));
  try {
    const report = cycleReport('bench-site', '2026-03-01T10:05:00.000Z', manyTargets(ENDPOINTS));
    const outcome = outcomeOf(report);

    let batchedRequests = 0;
    const store = createTableStore({
      connectionString: azurite.connectionString,
      prefix: 'benchBatched',
      spoolDir,
      onRequest: () => (batchedRequests += 1),
    });
    await store.init();
    batchedRequests = 0;
    const batched = await store.writeCycle(report, outcome);

    const cycleStart = cycleInstant(report.cycleId, report.startedAt);
    const entities = [
      ...report.results.map((r) => ({ table: 'benchSingleHistory', entity: historyEntity(report, cycleStart, r) })),
      ...outcome.states.map((s) => ({ table: 'benchSingleState', entity: stateEntity(s) })),
    ];
    const requests = counter();
    const clients = new Map(
      ['benchSingleHistory', 'benchSingleState'].map((table) => [
        table,
        TableClient.fromConnectionString(azurite.connectionString, table, {
          allowInsecureConnection: true,
          additionalPolicies: [{ policy: requests.policy, position: 'perRetry' }],
        }),
      ]),
    );
    for (const c of clients.values()) await c.createTable();
    const before = requests.count();
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: PER_ENTITY_CONCURRENCY }, async () => {
        while (next < entities.length) {
          const item = entities[next++];
          if (item) await clients.get(item.table)?.upsertEntity(item.entity, 'Replace');
        }
      }),
    );
    const singleMs = performance.now() - started;
    const singleRequests = requests.count() - before;

    const ratio = singleRequests / batchedRequests;
    return {
      lines: [
        `tables: ${ENDPOINTS}-endpoint cycle, ${batched.entities} entities (history + state), Azurite ${azurite.tableEndpoint}`,
        `tables: batched (transactions of <=100): ${batchedRequests} requests, ${batched.durationMs.toFixed(0)} ms`,
        `tables: one upsert per entity (${PER_ENTITY_CONCURRENCY} in flight): ${singleRequests} requests, ${singleMs.toFixed(0)} ms`,
        `tables: ${ratio.toFixed(1)}x fewer requests (goal >= 20x), ${(singleMs / batched.durationMs).toFixed(1)}x less wall time`,
      ],
    };
  } finally {
    await azurite.stop();
    await rm(spoolDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && /bench[\\/]tables\.ts$/.test(process.argv[1])) {
  benchTables().then(
    ({ lines }) => console.log(lines.join('\n')),
    (e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
