import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTableStore } from '../../lib/store';
import { defaultSpoolRoot } from '../../lib/store/spool';
import { sharedAzurite, uniqueTablePrefix } from '../helpers/azurite';
import { cycleReport, manyTargets, openIncident, outcomeOf } from '../store/fixtures';
import { tallyHistory } from './tally';

const SITE = 'hub-replay';
const azurite = sharedAzurite({ inMemory: true });
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'arcmon-replay-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const unreachable = () => azurite.handle.connectionString.replace(`:${azurite.handle.port}/`, ':1/');

describe('a spool replayed late', () => {
  it('writes its history but never overwrites newer state nor reopens a resolved incident', async () => {
    const prefix = uniqueTablePrefix();
    const spoolDir = join(root, 'instance-a');
    const targets = manyTargets(4);
    // Instance A loses storage and spools a cycle with an incident it opened.
    const cut = createTableStore({ connectionString: unreachable(), prefix, spoolDir, retry: { attempts: 1 } });
    const old = cycleReport(SITE, '2026-03-01T10:00:00.000Z', targets);
    const incident = openIncident(SITE, 'host-3.example.test:443', old.cycleId);
    const spooled = await cut.writeCycle(old, outcomeOf(old, [incident]));
    expect(spooled.spooled.entities).toBe(4 + 4 + 1);

    // Instance B, healthy, writes a later cycle and resolves the incident.
    const healthy = createTableStore({
      connectionString: azurite.handle.connectionString,
      prefix,
      spoolDir: join(root, 'instance-b'),
    });
    await healthy.init();
    const later = cycleReport(SITE, '2026-03-01T10:05:00.000Z', targets);
    const resolved = {
      ...incident,
      status: 'resolved' as const,
      resolvedAt: later.finishedAt,
      resolvedCycleId: later.cycleId,
    };
    await healthy.writeCycle(later, outcomeOf(later, [resolved]));

    // A gets storage back and replays its spool.
    const back = createTableStore({ connectionString: azurite.handle.connectionString, prefix, spoolDir });
    const flushed = await back.flushSpool();
    expect(flushed).toMatchObject({ pending: 0, rejected: 0, skippedOlder: 4 + 1 });

    const states = await healthy.loadStates(SITE);
    expect([...states.values()].map((s) => s.lastCycleId)).toEqual(targets.map(() => later.cycleId));
    const view = await healthy.latest(SITE);
    expect(view.openIncidents).toEqual([]);
    const history = TableClient.fromConnectionString(azurite.handle.connectionString, healthy.tables.history, {
      allowInsecureConnection: true,
    });
    const tally = await tallyHistory(history, [old, later], 'spool replayed after a newer cycle');
    expect(tally).toEqual({ expected: 8, lost: 0, duplicated: 0 });
  });
});

describe('the spool directory', () => {
  it('is private to this user and to one store, one directory per site', async () => {
    const a = defaultSpoolRoot('https://a.table.core.windows.net|arcmon');
    expect(a).toMatch(new RegExp(`^${tmpdir()}/arcmon-spool-${process.getuid?.() ?? ''}-[0-9a-f]{12}$`));
    expect(defaultSpoolRoot('https://b.table.core.windows.net|arcmon')).not.toBe(a);

    const spoolDir = join(root, 'private');
    const store = createTableStore({ connectionString: unreachable(), prefix: 'p', spoolDir, retry: { attempts: 1 } });
    const report = cycleReport(SITE, '2026-03-01T10:00:00.000Z', manyTargets(1));
    await store.writeCycle(report, outcomeOf(report));
    expect((await stat(spoolDir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(spoolDir, SITE))).mode & 0o777).toBe(0o700);
  });

  it('refuses a spool directory others can read', async () => {
    const spoolDir = join(root, 'shared');
    await mkdir(spoolDir);
    await chmod(spoolDir, 0o755);
    const store = createTableStore({ connectionString: unreachable(), prefix: 'p', spoolDir, retry: { attempts: 1 } });
    const report = cycleReport(SITE, '2026-03-01T10:00:00.000Z', manyTargets(1));
    await expect(store.writeCycle(report, outcomeOf(report))).rejects.toThrow(
      `spool directory ${spoolDir} is not private (owner ${process.getuid?.() ?? ''}, mode 755): it must belong to this user (uid ${process.getuid?.() ?? ''}) with mode 700; remove it or choose another directory`,
    );
  });
});
