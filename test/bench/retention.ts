/**
 * Retention benchmark against an in-memory Azurite: rows deleted per second by `purgeHistory`, and the largest
 * history that 20 sites probing every endpoint of `--scenario all` every 5 minutes leave behind when the hourly
 * retention run follows them (time compressed: a 2-hour retention window over 5 simulated hours).
 * Run alone: `npx tsx test/bench/retention.ts`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { CATALOG, expandTargets } from '../../lib/catalog';
import { startAzurite } from '../../lib/store/azurite';
import { createTableStore } from '../../lib/store/tableStore';
import { cycleReport, manyTargets, outcomeOf } from '../store/fixtures';

const SITES = 20;
const HOUR = 3_600_000;

export async function benchRetention(): Promise<{ lines: string[] }> {
  const azurite = await startAzurite({ port: 0 });
  const spoolDir = await mkdtemp(join(tmpdir(), 'arcmon-bench-retention-'));
  const lines: string[] = [];
  try {
    const sites = Array.from({ length: SITES }, (_, i) => `site-${String(i).padStart(2, '0')}`);
    // 1. Throughput: 20 sites × 500 expired rows.
    const store = createTableStore({ connectionString: azurite.connectionString, prefix: 'benchPurge', spoolDir });
    await store.init();
    for (const site of sites) {
      const report = cycleReport(site, '2026-03-01T08:00:00.000Z', manyTargets(500));
      await store.writeCycle(report, outcomeOf(report));
    }
    const started = performance.now();
    const deleted = await store.purgeHistory(new Date('2026-03-01T10:00:00.000Z'));
    const seconds = (performance.now() - started) / 1000;
    lines.push(
      `retention throughput: ${deleted} rows of ${SITES} sites deleted in ${seconds.toFixed(2)} s = ${Math.round(deleted / seconds)} rows/s`,
    );

    // 2. A day of 20 sites at --scenario all, compressed: the history must stay bounded by window + one hour.
    const expanded = expandTargets(CATALOG, { cloud: 'AzureCloud', region: 'westeurope', scenarios: 'all' });
    const endpoints = expanded.targets.length + expanded.skipped.length;
    const day = createTableStore({ connectionString: azurite.connectionString, prefix: 'benchDay', spoolDir });
    await day.init();
    const history = TableClient.fromConnectionString(azurite.connectionString, day.tables.history, {
      allowInsecureConnection: true,
    });
    const countRows = async () => {
      let n = 0;
      for await (const page of history.listEntities({ queryOptions: { select: ['RowKey'] } }).byPage())
        n += page.length;
      return n;
    };
    const windowHours = 2;
    const hours = 5;
    const t0 = Date.parse('2026-03-01T00:00:00.000Z');
    let peak = 0;
    let purgeSeconds = 0;
    for (let h = 0; h < hours; h++) {
      for (let m = 0; m < 60; m += 5) {
        const at = new Date(t0 + h * HOUR + m * 60_000).toISOString();
        await Promise.all(
          sites.map((site) => {
            const report = cycleReport(site, at, manyTargets(endpoints));
            return day.writeCycle(report, outcomeOf(report));
          }),
        );
      }
      const purgeStart = performance.now();
      await day.purgeHistory(new Date(t0 + (h + 1) * HOUR - windowHours * HOUR));
      purgeSeconds += (performance.now() - purgeStart) / 1000;
      peak = Math.max(peak, await countRows());
    }
    const perHour = SITES * endpoints * 12;
    lines.push(
      `history under hourly retention: ${SITES} sites × ${endpoints} endpoints (--scenario all) every 5 min = ${perHour} rows/hour; ` +
        `largest history after retention ${peak} rows with a ${windowHours} h window (bound ${perHour * windowHours}), over ${hours} h; ` +
        `retention took ${purgeSeconds.toFixed(1)} s of every ${hours} h`,
    );
    const perDay = perHour * 24;
    lines.push(
      `a day of ${SITES} sites at --scenario all writes ${perDay} rows; at the measured rate retention removes it in ${Math.round(perDay / (deleted / seconds))} s, run hourly (${Math.round(perHour / (deleted / seconds))} s a run), so history stays at ARCMON_RETENTION_DAYS × ${perDay} rows + one hour`,
    );
    return { lines };
  } finally {
    await azurite.stop();
    await rm(spoolDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchRetention().then(
    ({ lines }) => {
      for (const line of lines) console.log(line);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
