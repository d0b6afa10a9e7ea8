import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordCycle } from '../../lib/monitor/monitor';
import { noopTelemetry } from '../../lib/telemetry/sink';
import { createTableStore, type TableStore } from '../../lib/store';
import { incidentEntity, stateEntity } from '../../lib/store/entities';
import { sharedAzurite, uniqueTablePrefix } from '../helpers/azurite';
import { cycleReport, manyTargets, openIncident, statesOf } from '../store/fixtures';
import { faultConfig, tallyHistory } from './tally';

/**
 * A newer runner of the same site (or a version rolled back under it) left rows this version does not know: a verdict,
 * a failure code, an incident kind. Cycles must go on with transitions, the rows must stay as they are, and each must
 * be reported; the status view must still answer.
 */

const SITE = 'hub-newer';
const azurite = sharedAzurite({ inMemory: true });
let spoolRoot: string;
beforeAll(async () => {
  spoolRoot = await mkdtemp(join(tmpdir(), 'arcmon-newer-'));
});
afterAll(async () => {
  await rm(spoolRoot, { recursive: true, force: true });
});

const cfg = faultConfig(SITE);

describe('rows from a newer version in the tables', () => {
  it('are kept and reported, and cycles still judge transitions from the stored state', async () => {
    const prefix = uniqueTablePrefix();
    const reports: string[] = [];
    const open = (): TableStore =>
      createTableStore({
        connectionString: azurite.handle.connectionString,
        prefix,
        spoolDir: join(spoolRoot, 'spool'),
        onUnreadableRow: (m) => reports.push(m),
      });
    const setup = open();
    await setup.init();
    const raw = (table: string) =>
      TableClient.fromConnectionString(azurite.handle.connectionString, table, { allowInsecureConnection: true });

    // host-3 is refused every cycle; host-0..2 answer. The newer version wrote rows for host-0, host-1 and host-2.
    const targets = manyTargets(4);
    const seed = cycleReport(SITE, '2026-03-01T09:55:00.000Z', targets);
    const [s0, s1] = statesOf(seed);
    await raw(setup.tables.state).upsertEntity({ ...stateEntity(s0!), verdict: 'flapping' }, 'Replace');
    await raw(setup.tables.state).upsertEntity(
      {
        ...stateEntity(s1!),
        failureCode: 'QUIC_BLOCKED',
        conditions: JSON.stringify({ 'quic-blocked': { failing: 5, passing: 0, firstFailingCycleId: 'c0' } }),
      },
      'Replace',
    );
    const foreignIncident = {
      ...incidentEntity(openIncident(SITE, 'host-2.example.test:443', 'c0')),
      kind: 'quic-blocked',
    };
    await raw(setup.tables.incidents).upsertEntity(foreignIncident, 'Replace');

    const first = cycleReport(SITE, '2026-03-01T10:00:00.000Z', targets);
    const one = await recordCycle(cfg, { store: open(), telemetry: noopTelemetry, log: () => undefined }, first, {
      pastDue: false,
    });
    expect(one.outcome.states.map((s) => s.targetId)).toHaveLength(4);
    // A fresh store each cycle: the counters come back from the table, firstFailingCycleId included.
    const second = cycleReport(SITE, '2026-03-01T10:05:00.000Z', targets);
    const two = await recordCycle(cfg, { store: open(), telemetry: noopTelemetry, log: () => undefined }, second, {
      pastDue: false,
    });
    const opened = two.outcome.transitions.filter((t) => t.type === 'opened').map((t) => t.incident);
    expect(opened.map((i) => [i.targetId, i.kind, i.firstFailingCycleId])).toEqual([
      ['host-3.example.test:443', 'blocked', first.cycleId],
    ]);

    const row0 = await raw(setup.tables.state).getEntity<Record<string, unknown>>(SITE, 'host-0.example.test:443');
    expect(row0.verdict).toBe('flapping');
    const row1 = await raw(setup.tables.state).getEntity<Record<string, unknown>>(SITE, 'host-1.example.test:443');
    expect(JSON.parse(row1.conditions as string)).toMatchObject({ 'quic-blocked': { failing: 5 } });
    expect(row1.lastCycleId).toBe(second.cycleId);
    const incident = await raw(setup.tables.incidents).getEntity<Record<string, unknown>>(
      foreignIncident.partitionKey,
      foreignIncident.rowKey,
    );
    expect(incident.kind).toBe('quic-blocked');

    const view = await open().latest(SITE);
    expect(view.states.map((s) => s.targetId).sort()).toEqual([
      'host-1.example.test:443',
      'host-2.example.test:443',
      'host-3.example.test:443',
    ]);
    expect(view.unreadable).toEqual([
      `kept a row this version cannot read (a newer version wrote it?): ${setup.tables.state} row ${SITE}/host-0.example.test:443: verdict "flapping" is not one of reachable, degraded, blocked, skipped`,
      `kept a row this version cannot read (a newer version wrote it?): ${setup.tables.incidents} row ${SITE}/${foreignIncident.rowKey}: kind "quic-blocked" is not one of blocked, tls-intercepted, private-link-bypassed, latency, cert-near-expiry, clock-skew`,
    ]);
    expect(reports.length).toBeGreaterThanOrEqual(2);

    const tally = await tallyHistory(raw(setup.tables.history), [first, second], 'rows of a newer version');
    expect(tally).toEqual({ expected: 8, lost: 0, duplicated: 0 });
  });
});
