import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TableClient, odata } from '@azure/data-tables';
import type { StoreRequestInfo, TableStore } from '../../lib/store';
import { StoreUnavailableError, createTableStore, historyPartitionKey, invertedTicks } from '../../lib/store';
import { sharedAzurite, uniqueTablePrefix } from '../helpers/azurite';
import { cycleReport, manyTargets, openIncident, outcomeOf, statesOf, target } from './fixtures';

const azurite = sharedAzurite();
let spoolRoot: string;

beforeAll(async () => {
  spoolRoot = await mkdtemp(join(tmpdir(), 'arcmon-store-test-'));
});
afterAll(async () => {
  await rm(spoolRoot, { recursive: true, force: true });
});

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

async function freshStore(requests?: StoreRequestInfo[]): Promise<TableStore> {
  const store = createTableStore({
    connectionString: azurite.handle.connectionString,
    prefix: uniqueTablePrefix(),
    spoolDir: await mkdtemp(join(spoolRoot, 'spool-')),
    retry: { attempts: 2, baseDelayMs: 10, timeoutMs: 5000 },
    ...(requests ? { onRequest: (info: StoreRequestInfo) => requests.push(info) } : {}),
  });
  await store.init();
  return store;
}

function rawClient(table: string): TableClient {
  return TableClient.fromConnectionString(azurite.handle.connectionString, table, { allowInsecureConnection: true });
}

async function rows(table: string, filter?: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const query = filter ? { queryOptions: { filter } } : {};
  for await (const row of rawClient(table).listEntities<Record<string, unknown>>(query)) out.push(row);
  return out;
}

describe('Table Storage store', () => {
  it('creates its three tables and can be initialised again', async () => {
    const store = await freshStore();
    await store.init();
    expect(store.tables.history).toMatch(/^t[0-9a-f]{10}History$/);
    for (const table of Object.values(store.tables)) expect(await rows(table)).toEqual([]);
  });

  it('reads back exactly the states and incidents it wrote', async () => {
    const store = await freshStore();
    const report = cycleReport('hub-weu', '2026-03-01T10:05:00.000Z', manyTargets(30));
    const incidents = [openIncident('hub-weu', 'host-3.example.test:443', report.cycleId)];
    const resolved = {
      ...openIncident('hub-weu', 'host-7.example.test:443', report.cycleId),
      status: 'resolved' as const,
    };
    resolved.resolvedAt = '2026-03-01T10:05:02.000Z';
    resolved.resolvedCycleId = report.cycleId;
    await store.writeCycle(report, outcomeOf(report, [...incidents, resolved]));

    const states = await store.loadStates('hub-weu');
    expect(states).toEqual(new Map(statesOf(report).map((s) => [s.targetId, s])));
    expect(await store.loadOpenIncidents('hub-weu')).toEqual(incidents);
    const incidentRows = await rows(store.tables.incidents);
    const stored = incidentRows.find((r) => r.incidentId === resolved.incidentId);
    expect(stored).toMatchObject({ status: 'resolved', resolvedAt: resolved.resolvedAt });

    const latest = await store.latest('hub-weu');
    expect(latest.states).toHaveLength(30);
    expect(latest.openIncidents).toEqual(incidents);
    expect(await store.loadStates('another-site')).toEqual(new Map());
  });

  it('stores every result fact in the history row, numbers as numbers', async () => {
    const store = await freshStore();
    const report = cycleReport('hub-weu', '2026-03-01T10:05:00.000Z', [
      target('gbl.his.arc.azure.com', 443),
      target('login.microsoftonline.com', 443),
      target('time.windows.com', 123, 'udp'),
      target('blocked.example.test', 443), // every fourth target is refused
      target('x1.example.test', 443),
      target('x2.example.test', 443),
      target('inspected.example.test', 443), // every seventh is intercepted
    ]);
    await store.writeCycle(report, outcomeOf(report));
    const history = await rows(store.tables.history);
    const byTarget = new Map(history.map((r) => [r.targetId, r]));
    expect(byTarget.get('gbl.his.arc.azure.com:443')).toMatchObject({
      site: 'hub-weu',
      cycleId: report.cycleId,
      host: 'gbl.his.arc.azure.com',
      port: 443,
      requirement: 'always',
      verdict: 'reachable',
      dnsMs: 2.5,
      connectMs: 10,
      tlsMs: 21.125,
      firstByteMs: 40,
      totalMs: 75.5,
      tlsProtocol: 'TLSv1.3',
      tlsCipher: 'TLS_AES_256_GCM_SHA384',
      leafSubject: 'CN=gbl.his.arc.azure.com',
      leafIssuer: 'CN=Microsoft Azure RSA TLS Issuing CA 03',
      leafValidTo: '2026-12-31T00:00:00.000Z',
      rootGenuine: true,
      httpStatus: 404,
    });
    expect(JSON.parse(byTarget.get('gbl.his.arc.azure.com:443')?.addresses as string)).toEqual([
      { address: '10.0.0.4', family: 4, scope: 'private' },
      { address: 'fd00::4', family: 6, scope: 'private' },
    ]);
    expect(byTarget.get('blocked.example.test:443')).toMatchObject({
      verdict: 'blocked',
      failureCode: 'TCP_REFUSED',
      phase: 'connect',
      message: 'refused by 10.0.0.4:443',
    });
    expect(byTarget.get('time.windows.com:123/udp')).toMatchObject({ ntpOffsetMs: -3.75, ntpStratum: 2 });
    expect(byTarget.get('inspected.example.test:443')).toMatchObject({
      verdict: 'degraded',
      failureCode: 'TLS_INTERCEPTED',
      rootGenuine: false,
      interceptedBy: 'CN=Contoso Inspection CA',
    });
    const values = history.flatMap((r) => Object.values(r));
    expect(values.some((v) => typeof v === 'bigint')).toBe(false);
  });

  it('never hands out BigInt, even for a row someone wrote with Int64 values', async () => {
    const store = await freshStore();
    const report = cycleReport('hub-weu', '2026-03-01T10:05:00.000Z', manyTargets(1));
    await store.writeCycle(report, outcomeOf(report));
    const [row] = await rows(store.tables.state);
    await rawClient(store.tables.state).upsertEntity(
      {
        ...row,
        partitionKey: row?.partitionKey as string,
        rowKey: row?.rowKey as string,
        consecutiveSuccesses: 9_000_000_000n,
      },
      'Merge',
    );
    const states = await store.loadStates('hub-weu');
    const state = states.get('host-0.example.test:443');
    expect(state?.consecutiveSuccesses).toBe(9_000_000_000);
    expect(() => JSON.stringify([...states.values()])).not.toThrow();
  });

  it('truncates an overlong message safely instead of failing the write', async () => {
    const store = await freshStore();
    const report = cycleReport('hub-weu', '2026-03-01T10:05:00.000Z', manyTargets(4));
    const huge = `${'x'.repeat(8190)}😀${'y'.repeat(100_000)}`;
    const blocked = report.results[3];
    if (!blocked?.result.failure) throw new Error('fixture: the fourth target is refused');
    blocked.result.failure.message = huge;
    blocked.result.findings = [{ ...blocked.result.failure }];
    const outcome = outcomeOf(report);
    const state = outcome.states[3];
    if (state) state.message = huge;

    const stats = await store.writeCycle(report, outcome);
    expect(stats.spooled.entities).toBe(0);
    const loaded = (await store.loadStates('hub-weu')).get('host-3.example.test:443');
    expect(loaded?.message?.length).toBeLessThanOrEqual(8192);
    expect(loaded?.message?.endsWith('…')).toBe(true);
    expect(LONE_SURROGATE.test(loaded?.message ?? '')).toBe(false);
    const [historyRow] = await rows(store.tables.history, odata`targetId eq ${'host-3.example.test:443'}`);
    expect((historyRow?.message as string).length).toBeLessThanOrEqual(8192);
    expect(JSON.parse(historyRow?.findings as string)).toHaveLength(1);
  });

  it('lists a history partition newest cycle first', async () => {
    const store = await freshStore();
    const targets = manyTargets(5);
    for (const at of ['2026-03-01T10:10:00.000Z', '2026-03-01T10:20:00.000Z', '2026-03-01T10:05:00.000Z']) {
      const report = cycleReport('hub-weu', at, targets);
      await store.writeCycle(report, outcomeOf(report));
    }
    const other = cycleReport('branch-7', '2026-03-01T10:30:00.000Z', targets);
    await store.writeCycle(other, outcomeOf(other));

    const partition = historyPartitionKey('hub-weu', new Date('2026-03-01T10:00:00.000Z'));
    const history = await rows(store.tables.history, odata`PartitionKey eq ${partition}`);
    expect(history).toHaveLength(15);
    expect(history[0]?.cycleStartedAt).toBe('2026-03-01T10:20:00.000Z');
    expect(history.map((r) => r.cycleStartedAt)).toEqual([
      ...Array<string>(5).fill('2026-03-01T10:20:00.000Z'),
      ...Array<string>(5).fill('2026-03-01T10:10:00.000Z'),
      ...Array<string>(5).fill('2026-03-01T10:05:00.000Z'),
    ]);
    expect((history[0]?.rowKey as string).startsWith(invertedTicks(new Date('2026-03-01T10:20:00.000Z')))).toBe(true);
  });

  it('writes nothing twice when a cycle is written again or a half-written cycle is retried', async () => {
    const store = await freshStore();
    const report = cycleReport('hub-weu', '2026-03-01T10:05:00.000Z', manyTargets(250));
    const half = { ...report, results: report.results.slice(0, 130) };
    await store.writeCycle(half, { ...outcomeOf(half), incidents: [] });
    expect(await rows(store.tables.history)).toHaveLength(130);

    const incidents = [openIncident('hub-weu', 'host-3.example.test:443', report.cycleId)];
    await store.writeCycle(report, outcomeOf(report, incidents));
    await store.writeCycle(report, outcomeOf(report, incidents));
    const history = await rows(store.tables.history);
    expect(history).toHaveLength(250);
    expect(new Set(history.map((r) => r.targetId)).size).toBe(250);
    expect(await rows(store.tables.state)).toHaveLength(250);
    expect(await rows(store.tables.incidents)).toHaveLength(1);
  });

  it('writes a 1,000-endpoint cycle in transactions of 100: requests at most 10% of entities', async () => {
    const requests: StoreRequestInfo[] = [];
    const store = await freshStore(requests);
    requests.length = 0;
    const report = cycleReport('hub-weu', '2026-03-01T10:05:00.000Z', manyTargets(1000));
    const stats = await store.writeCycle(report, outcomeOf(report));

    expect(stats.entities).toBe(2000);
    expect(stats.batches).toBe(20);
    expect(stats.requests).toBe(requests.length);
    expect(requests.length).toBeLessThanOrEqual(stats.entities / 10);
    expect(requests.every((r) => r.method === 'POST' && r.path.endsWith('/$batch') && r.status === 202)).toBe(true);
    expect(await rows(store.tables.history)).toHaveLength(1000);
  });

  it.each([
    ['an NTP target', 'time.windows.com', 123, 'udp' as const, 'time.windows.com:123/udp'],
    ['an IPv6 literal', '[::1]', 443, 'tcp' as const, '[::1]:443'],
    ['characters keys forbid', 'odd#host?x\\y', 443, 'tcp' as const, 'odd#host?x\\y:443'],
  ])('keys %s safely and reads it back under its own id', async (_name, host, port, transport, id) => {
    const store = await freshStore();
    const report = cycleReport('hub-weu', '2026-03-01T10:05:00.000Z', [target(host, port, transport)]);
    const stats = await store.writeCycle(report, outcomeOf(report));
    expect(stats.spooled.entities).toBe(0);
    expect([...(await store.loadStates('hub-weu')).keys()]).toEqual([id]);
    const [row] = await rows(store.tables.history);
    expect(row?.targetId).toBe(id);
    expect(row?.rowKey as string).not.toMatch(/[/\\#?]/);
  });

  it('purges only history partitions that ended before the cutoff, for every site', async () => {
    const store = await freshStore();
    const targets = manyTargets(120);
    for (const site of ['hub-weu', 'branch-7']) {
      for (const at of ['2026-03-01T08:30:00.000Z', '2026-03-01T09:59:00.000Z', '2026-03-01T10:00:00.000Z']) {
        const report = cycleReport(site, at, targets);
        await store.writeCycle(report, outcomeOf(report));
      }
    }
    expect(await rows(store.tables.history)).toHaveLength(720);

    const limited = await store.purgeHistory(new Date('2026-03-01T10:15:00.000Z'), { maxBatches: 1 });
    expect(limited).toBe(100);
    const deleted = await store.purgeHistory(new Date('2026-03-01T10:15:00.000Z'));
    expect(deleted).toBe(480 - 100);

    const left = await rows(store.tables.history);
    expect(left).toHaveLength(240);
    expect(new Set(left.map((r) => r.cycleStartedAt))).toEqual(new Set(['2026-03-01T10:00:00.000Z']));
    expect(await store.loadStates('branch-7')).toHaveProperty('size', 120);
    expect(await store.purgeHistory(new Date('2026-03-01T10:15:00.000Z'))).toBe(0);
  });

  it('keeps a cycle on disk when storage refuses the identity, and writes it once access works', async () => {
    const spoolDir = await mkdtemp(join(spoolRoot, 'spool-'));
    const prefix = uniqueTablePrefix();
    const wrongKey = azurite.handle.connectionString.replace(
      /AccountKey=[^;]+/,
      `AccountKey=${Buffer.from('not the key').toString('base64')}`,
    );
    const denied = createTableStore({
      connectionString: wrongKey,
      prefix,
      spoolDir,
      retry: { attempts: 2, baseDelayMs: 10 },
    });
    const report = cycleReport('hub-weu', '2026-03-01T10:05:00.000Z', manyTargets(10));

    const stats = await denied.writeCycle(report, outcomeOf(report));
    expect(stats).toMatchObject({
      entities: 0,
      spooled: { batches: 2, entities: 20 },
      pendingSpoolBatches: 2,
    });
    expect(stats.error).toMatch(/^HTTP 403: /);
    // A refused identity is not retried: at most one request per batch.
    expect(stats.requests).toBeLessThanOrEqual(2);

    const allowed = createTableStore({ connectionString: azurite.handle.connectionString, prefix, spoolDir });
    await allowed.init();
    expect(await allowed.flushSpool()).toMatchObject({ batches: 2, entities: 20, pending: 0, rejected: 0 });
    expect(await rows(allowed.tables.history)).toHaveLength(10);
  });

  it('gives up on a storage endpoint that accepts connections but never answers, and spools', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const store = createTableStore({
        connectionString: azurite.handle.connectionString.replace(`:${azurite.handle.port}/`, `:${port}/`),
        prefix: uniqueTablePrefix(),
        spoolDir: await mkdtemp(join(spoolRoot, 'spool-')),
        concurrency: 1,
        retry: { attempts: 2, baseDelayMs: 10, timeoutMs: 200 },
      });
      const report = cycleReport('hub-weu', '2026-03-01T10:05:00.000Z', manyTargets(3));
      const stats = await store.writeCycle(report, outcomeOf(report));
      expect(stats).toMatchObject({ entities: 0, requests: 2, spooled: { batches: 2, entities: 6 } });
      expect(stats.error).toMatch(/^AbortError: /);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('recreates a table that disappeared instead of losing the write', async () => {
    const store = await freshStore();
    await rawClient(store.tables.state).deleteTable();
    const report = cycleReport('hub-weu', '2026-03-01T10:05:00.000Z', manyTargets(3));
    const stats = await store.writeCycle(report, outcomeOf(report));
    expect(stats).toMatchObject({ entities: 6, spooled: { batches: 0, entities: 0 } });
    expect((await store.loadStates('hub-weu')).size).toBe(3);
  });

  it('sets an unreadable spool file aside and writes the rest', async () => {
    const spoolDir = await mkdtemp(join(spoolRoot, 'spool-'));
    await mkdir(join(spoolDir, 'hub-weu'));
    await writeFile(join(spoolDir, 'hub-weu', '2026-03-01T10_00_00.000Z-x.0.00000.json'), '{"format":');
    const store = createTableStore({
      connectionString: azurite.handle.connectionString,
      prefix: uniqueTablePrefix(),
      spoolDir,
    });
    await store.init();
    const report = cycleReport('hub-weu', '2026-03-01T10:05:00.000Z', manyTargets(3));
    const stats = await store.writeCycle(report, outcomeOf(report));
    expect(stats).toMatchObject({ entities: 6, rejectedSpoolBatches: 1, pendingSpoolBatches: 0 });
    expect((await readdir(join(spoolDir, 'hub-weu'))).sort()).toEqual([
      '2026-03-01T10_00_00.000Z-x.0.00000.json.rejected',
      'rejected.log',
    ]);
    const why = JSON.parse(await readFile(join(spoolDir, 'hub-weu', 'rejected.log'), 'utf8')) as { reason: string };
    expect(why.reason).toMatch(/2026-03-01T10_00_00\.000Z-x\.0\.00000\.json: not valid JSON$/);
  });

  it.each([
    ['nothing', {}],
    ['an endpoint without a credential', { tableEndpoint: 'https://contoso.table.core.windows.net' }],
  ])('refuses to start with %s to connect to', (_name, where) => {
    expect(() => createTableStore({ prefix: 'arcmon', ...where })).toThrow(
      'Table store: pass tableEndpoint with a credential (managed identity), or a connectionString (Azurite, on-premises)',
    );
  });

  it('says the store is unavailable when it cannot read states and knows none', async () => {
    const store = createTableStore({
      connectionString: azurite.handle.connectionString.replace(`:${azurite.handle.port}/`, ':1/'),
      prefix: uniqueTablePrefix(),
      spoolDir: await mkdtemp(join(spoolRoot, 'spool-')),
      retry: { attempts: 2, baseDelayMs: 10 },
    });
    const failure = store.loadStates('hub-weu');
    await expect(failure).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(failure).rejects.toThrow(/^Table store: cannot load the states of site hub-weu: ECONNREFUSED/);
  });
});
