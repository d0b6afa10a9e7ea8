import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { odata, RestError, TableClient } from '@azure/data-tables';
import type { TableServiceClientOptions, TransactionAction } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import type { CycleReport, EndpointState, Incident, RegressionOutcome } from '../monitor/types';
import type { StoredEntity } from './entities';
import {
  entityWireBytes,
  historyEntity,
  incidentEntity,
  incidentFromRow,
  rowFromStored,
  stateEntity,
  stateFromRow,
} from './entities';
import { cycleInstant, encodeKeyPart, historyPartitionKey, hourBucket } from './keys';
import type { PendingBatch, SpoolEntry, TableRole } from './spool';
import { Spool, SpoolFileError, TABLE_ROLES } from './spool';
import type { FlushStats, LatestView, MonitorStore, StoreRequestInfo, WriteStats } from './types';
import { StoreUnavailableError } from './types';

/** Bounded retry of transient failures (connection refused/reset, timeouts, 408, 429, 5xx). */
export interface StoreRetryOptions {
  /** Attempts per request, the first included. Default 4. */
  attempts?: number;
  /** Backoff before the second attempt; doubles each time, with jitter. Default 250 ms. */
  baseDelayMs?: number;
  /** Cap on one backoff. Default 4000 ms. */
  maxDelayMs?: number;
  /** Time limit of one attempt (one request, or one page of a query). Default 15000 ms. */
  timeoutMs?: number;
}

export interface TableStoreOptions {
  /** `https://<account>.table.core.windows.net`; used with `credential` (managed identity in Azure). */
  tableEndpoint?: string;
  /** For Azurite or on-premises storage only (shared keys are disabled in Azure). */
  connectionString?: string;
  /** Entra ID credential for `tableEndpoint`: the managed identity (role Storage Table Data Contributor). */
  credential?: TokenCredential;
  /** Table name prefix: tables are `<prefix>History`, `<prefix>State`, `<prefix>Incidents`. */
  prefix: string;
  retry?: StoreRetryOptions;
  /** Root of the outage spool; batches go to `<spoolDir>/<site>/`. Default `<os tmpdir>/arcmon-spool`. */
  spoolDir?: string;
  /** Size at which the spool starts dropping its oldest history batches. Default 512 MiB. */
  spoolLimitBytes?: number;
  /** Transactions in flight at once during a write (different partitions). Default 4. */
  concurrency?: number;
  /** Called after every HTTP request the store sends (retries included). */
  onRequest?: (info: StoreRequestInfo) => void;
}

/** A {@link MonitorStore} on Azure Table Storage (or Azurite). */
/** One endpoint's result in one cycle, as `arcmon history` shows it. */
export interface HistoryPoint {
  cycleStartedAt: string;
  verdict: string;
  totalMs: number;
  failureCode?: string;
  phase?: string;
  message?: string;
}

export interface TableStore extends MonitorStore {
  /** The three table names. */
  readonly tables: Readonly<Record<TableRole, string>>;
  /** Results of one target of a site since `since`, oldest first (one query per hour partition). */
  history(site: string, targetId: string, since: Date, until?: Date): Promise<HistoryPoint[]>;
  /** HTTP requests sent so far by this store. */
  requestCount(): number;
}

const MAX_BATCH_ENTITIES = 100;
/** The service limit is 4 MiB per transaction; stay well under it. */
const MAX_BATCH_BYTES = 3 * 1024 * 1024;

/** How a failure is handled: retried, treated as the store being unavailable, or thrown (a bug). */
export type StoreErrorKind = 'transient' | 'unavailable' | 'fatal';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  RestError.REQUEST_SEND_ERROR,
]);

/**
 * Classifies a failure of a table operation. Transient: network errors, timeouts, 408, 429, 5xx (retried, then
 * the store counts as unavailable). Unavailable: 401/403 (identity or role missing: retrying will not help, but
 * data is kept). Anything else is fatal: a request the service rejects as invalid is a bug.
 */
export function classifyStoreError(error: unknown): StoreErrorKind {
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) return 'transient';
  if (error instanceof RestError) {
    const status = error.statusCode;
    if (status === undefined) return error.code && NETWORK_CODES.has(error.code) ? 'transient' : 'unavailable';
    if (status === 408 || status === 429 || status >= 500) return 'transient';
    if (status === 401 || status === 403) return 'unavailable';
    return 'fatal';
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'transient';
  return 'fatal';
}

function describe(error: unknown): string {
  if (error instanceof RestError) {
    const head = error.statusCode !== undefined ? `HTTP ${error.statusCode}` : (error.code ?? 'no response');
    return `${head}: ${error.message.split('\n')[0]?.slice(0, 300) ?? ''}`;
  }
  return error instanceof Error ? `${error.name}: ${error.message.slice(0, 300)}` : String(error);
}

function isTableNotFound(error: unknown): boolean {
  if (!(error instanceof RestError) || error.statusCode !== 404) return false;
  // A transaction reports it in `code`, a single operation in `details.errorCode`.
  const details = error.details as { errorCode?: unknown } | undefined;
  return error.code === 'TableNotFound' || details?.errorCode === 'TableNotFound';
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Groups entities by partition (keeping the last of duplicate row keys) and cuts transactions. */
function toBatches(role: TableRole, entities: readonly StoredEntity[]): PendingBatch[] {
  const partitions = new Map<string, Map<string, StoredEntity>>();
  for (const e of entities) {
    let rows = partitions.get(e.partitionKey);
    if (!rows) partitions.set(e.partitionKey, (rows = new Map<string, StoredEntity>()));
    rows.set(e.rowKey, e);
  }
  const batches: PendingBatch[] = [];
  for (const [partitionKey, rows] of partitions) {
    let current: StoredEntity[] = [];
    let bytes = 0;
    for (const e of rows.values()) {
      const size = entityWireBytes(e);
      if (current.length === MAX_BATCH_ENTITIES || (current.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
        batches.push({ role, partitionKey, entities: current });
        current = [];
        bytes = 0;
      }
      current.push(e);
      bytes += size;
    }
    if (current.length > 0) batches.push({ role, partitionKey, entities: current });
  }
  return batches;
}

/**
 * Creates the Table Storage store. In Azure pass `tableEndpoint` and the managed identity `credential`;
 * locally pass an Azurite `connectionString` (http is allowed for connection strings). Given both, the endpoint
 * and credential are used. Nothing is sent until the first call.
 */
export function createTableStore(opts: TableStoreOptions): TableStore {
  const retry = {
    attempts: Math.max(1, opts.retry?.attempts ?? 4),
    baseDelayMs: opts.retry?.baseDelayMs ?? 250,
    maxDelayMs: opts.retry?.maxDelayMs ?? 4000,
    timeoutMs: opts.retry?.timeoutMs ?? 15_000,
  };
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  const spool = new Spool(opts.spoolDir ?? join(tmpdir(), 'arcmon-spool'));
  const spoolLimitBytes = opts.spoolLimitBytes ?? 512 * 1024 * 1024;
  const tables: Record<TableRole, string> = {
    history: `${opts.prefix}History`,
    state: `${opts.prefix}State`,
    incidents: `${opts.prefix}Incidents`,
  };

  let requests = 0;
  const clientOptions = (table: string): TableServiceClientOptions => ({
    // Retries are ours (bounded, with a per-attempt timeout); the SDK's would multiply them.
    retryOptions: { maxRetries: 0 },
    additionalPolicies: [
      {
        position: 'perRetry',
        policy: {
          name: 'arcmonRequestCounter',
          async sendRequest(request, next) {
            const started = performance.now();
            const url = new URL(request.url);
            const base = { table, method: request.method, path: url.pathname + url.search };
            requests += 1;
            let response: Awaited<ReturnType<typeof next>>;
            try {
              response = await next(request);
            } catch (e) {
              const error = e instanceof RestError ? (e.code ?? 'error') : e instanceof Error ? e.name : 'error';
              opts.onRequest?.({ ...base, error, durationMs: performance.now() - started });
              throw e;
            }
            opts.onRequest?.({ ...base, status: response.status, durationMs: performance.now() - started });
            return response;
          },
        },
      },
    ],
  });

  const makeClient = (table: string): TableClient => {
    if (opts.tableEndpoint && opts.credential) {
      return new TableClient(opts.tableEndpoint, table, opts.credential, {
        ...clientOptions(table),
        allowInsecureConnection: opts.tableEndpoint.startsWith('http://'),
      });
    }
    if (opts.connectionString) {
      return TableClient.fromConnectionString(opts.connectionString, table, {
        ...clientOptions(table),
        allowInsecureConnection: true,
      });
    }
    throw new Error(
      'Table store: pass tableEndpoint with a credential (managed identity), or a connectionString (Azurite, on-premises)',
    );
  };
  const clients: Record<TableRole, TableClient> = {
    history: makeClient(tables.history),
    state: makeClient(tables.state),
    incidents: makeClient(tables.incidents),
  };

  /** Last states and open incidents this instance read or wrote, per site: the fallback while the store is down. */
  const known = {
    states: new Map<string, Map<string, EndpointState>>(),
    incidents: new Map<string, Map<string, Incident>>(),
  };

  async function withRetry<T>(op: (signal: AbortSignal) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await op(AbortSignal.timeout(retry.timeoutMs));
      } catch (e) {
        if (attempt >= retry.attempts || classifyStoreError(e) !== 'transient') throw e;
        const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
        await sleep(ceiling / 2 + (Math.random() * ceiling) / 2);
      }
    }
  }

  async function submit(batch: PendingBatch): Promise<void> {
    const client = clients[batch.role];
    const actions: TransactionAction[] = batch.entities.map((e) => ['upsert', e, 'Replace']);
    try {
      await withRetry((abortSignal) => client.submitTransaction(actions, { abortSignal }));
    } catch (e) {
      if (!isTableNotFound(e)) throw e;
      // The table vanished (or init never ran): create it and write once more.
      await withRetry((abortSignal) => client.createTable({ abortSignal }));
      await withRetry((abortSignal) => client.submitTransaction(actions, { abortSignal }));
    }
  }

  async function* pages(role: TableRole, filter?: string, select?: string[]) {
    const client = clients[role];
    let continuationToken: string | undefined;
    do {
      const token = continuationToken;
      const page = await withRetry(async (abortSignal) => {
        const iterator = client
          .listEntities<Record<string, unknown>>({
            abortSignal,
            queryOptions: { ...(filter ? { filter } : {}), ...(select ? { select } : {}) },
          })
          .byPage({ maxPageSize: 1000, ...(token ? { continuationToken: token } : {}) });
        const next = await iterator.next();
        return next.done ? undefined : next.value;
      });
      if (!page) return;
      yield page;
      continuationToken = page.continuationToken;
    } while (continuationToken);
  }

  async function queryAll(role: TableRole, filter?: string): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = [];
    for await (const page of pages(role, filter)) rows.push(...page);
    return rows;
  }

  /** Spooled entities of one table for one site, oldest first: newer than what the table holds. */
  async function spooledRows(role: TableRole, site: string): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = [];
    for (const entry of await spool.list(site)) {
      if (entry.role !== role) continue;
      try {
        const batch = await spool.read(entry);
        for (const e of batch.entities) if (e.site === site) rows.push(rowFromStored(e));
      } catch (e) {
        if (!(e instanceof SpoolFileError)) throw e;
      }
    }
    return rows;
  }

  async function flushSpool(): Promise<FlushStats> {
    const before = requests;
    const stats: FlushStats = { batches: 0, entities: 0, requests: 0, pending: 0, rejected: 0 };
    const entries = await spool.list();
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as SpoolEntry;
      let batch: PendingBatch;
      try {
        batch = await spool.read(entry);
      } catch (e) {
        if (!(e instanceof SpoolFileError)) throw e;
        await spool.reject(entry);
        stats.rejected += 1;
        continue;
      }
      try {
        await submit(batch);
      } catch (e) {
        const kind = classifyStoreError(e);
        if (kind === 'fatal') {
          await spool.reject(entry);
          stats.rejected += 1;
          stats.error = describe(e);
          continue;
        }
        // Stop at the first unavailability: order is kept, the rest waits for the next flush.
        stats.pending = entries.length - i;
        stats.error = describe(e);
        break;
      }
      await spool.remove(entry);
      stats.batches += 1;
      stats.entities += batch.entities.length;
    }
    stats.requests = requests - before;
    return stats;
  }

  function remember(outcome: RegressionOutcome): void {
    for (const s of outcome.states) {
      let states = known.states.get(s.site);
      if (!states) known.states.set(s.site, (states = new Map<string, EndpointState>()));
      states.set(s.targetId, s);
    }
    for (const incident of outcome.incidents) {
      let open = known.incidents.get(incident.site);
      if (!open) known.incidents.set(incident.site, (open = new Map<string, Incident>()));
      if (incident.status === 'open') open.set(incident.incidentId, incident);
      else open.delete(incident.incidentId);
    }
  }

  async function writeCycle(report: CycleReport, outcome: RegressionOutcome): Promise<WriteStats> {
    const started = performance.now();
    const before = requests;
    const flushed = await flushSpool();
    const cycleStart = cycleInstant(report.cycleId, report.startedAt);
    const perRole: Record<TableRole, StoredEntity[]> = {
      history: report.results.map((r) => historyEntity(report, cycleStart, r)),
      state: outcome.states.map(stateEntity),
      incidents: outcome.incidents.map(incidentEntity),
    };
    const batches = TABLE_ROLES.flatMap((role) => toBatches(role, perRole[role]));
    const indexInRole = new Map<PendingBatch, number>();
    const counters: Partial<Record<TableRole, number>> = {};
    for (const b of batches) {
      const n = counters[b.role] ?? 0;
      indexInRole.set(b, n);
      counters[b.role] = n + 1;
    }

    const stats: WriteStats = {
      entities: 0,
      requests: 0,
      batches: 0,
      durationMs: 0,
      spooled: { batches: 0, entities: 0 },
      flushed: { batches: flushed.batches, entities: flushed.entities },
      pendingSpoolBatches: 0,
      rejectedSpoolBatches: flushed.rejected,
      droppedEntities: 0,
      ...(flushed.pending > 0 && flushed.error ? { error: flushed.error } : {}),
    };
    // Older batches still waiting means the store is down: spool behind them, keeping their order.
    let storeDown = flushed.pending > 0;
    const keep = async (batch: PendingBatch) => {
      await spool.put(report.site, report.cycleId, indexInRole.get(batch) ?? 0, batch);
      stats.spooled.batches += 1;
      stats.spooled.entities += batch.entities.length;
    };

    await eachLimited(batches, concurrency, async (batch) => {
      if (storeDown) return keep(batch);
      try {
        await submit(batch);
        stats.batches += 1;
        stats.entities += batch.entities.length;
      } catch (e) {
        if (classifyStoreError(e) === 'fatal') throw e;
        storeDown = true;
        stats.error ??= describe(e);
        await keep(batch);
      }
    });

    remember(outcome);
    if (stats.spooled.batches > 0) stats.droppedEntities = await spool.enforceLimit(spoolLimitBytes);
    stats.pendingSpoolBatches = (await spool.list()).length;
    stats.requests = requests - before;
    stats.durationMs = performance.now() - started;
    return stats;
  }

  async function loadStates(site: string): Promise<Map<string, EndpointState>> {
    let states: Map<string, EndpointState>;
    try {
      const rows = await queryAll('state', odata`PartitionKey eq ${encodeKeyPart(site)}`);
      states = new Map(rows.map((row) => stateFromRow(tables.state, row)).map((s) => [s.targetId, s]));
    } catch (e) {
      const cached = known.states.get(site);
      if (classifyStoreError(e) === 'fatal' || !cached) {
        throw unavailable(e, `cannot load the states of site ${site}`);
      }
      states = new Map(cached);
    }
    for (const row of await spooledRows('state', site)) {
      const s = stateFromRow(`${tables.state} (spool)`, row);
      states.set(s.targetId, s);
    }
    known.states.set(site, new Map(states));
    return states;
  }

  async function loadOpenIncidents(site: string): Promise<Incident[]> {
    let open: Map<string, Incident>;
    try {
      const filter = odata`PartitionKey eq ${encodeKeyPart(site)} and status eq ${'open'}`;
      const rows = await queryAll('incidents', filter);
      open = new Map(rows.map((row) => incidentFromRow(tables.incidents, row)).map((i) => [i.incidentId, i]));
    } catch (e) {
      const cached = known.incidents.get(site);
      if (classifyStoreError(e) === 'fatal' || !cached) {
        throw unavailable(e, `cannot load the open incidents of site ${site}`);
      }
      open = new Map(cached);
    }
    for (const row of await spooledRows('incidents', site)) {
      const incident = incidentFromRow(`${tables.incidents} (spool)`, row);
      if (incident.status === 'open') open.set(incident.incidentId, incident);
      else open.delete(incident.incidentId);
    }
    known.incidents.set(site, new Map(open));
    return [...open.values()];
  }

  function unavailable(e: unknown, what: string): Error {
    if (classifyStoreError(e) === 'fatal') return e instanceof Error ? e : new Error(String(e));
    return new StoreUnavailableError(`Table store: ${what}: ${describe(e)}`, { cause: e });
  }

  async function latest(site?: string): Promise<LatestView> {
    const partition = site === undefined ? undefined : odata`PartitionKey eq ${encodeKeyPart(site)}`;
    const openFilter = odata`status eq ${'open'}`;
    const [stateRows, incidentRows] = await Promise.all([
      queryAll('state', partition),
      queryAll('incidents', partition ? `${partition} and ${openFilter}` : openFilter),
    ]);
    const byKey = (a: { site: string; targetId: string }, b: { site: string; targetId: string }) =>
      a.site.localeCompare(b.site) || a.targetId.localeCompare(b.targetId);
    return {
      states: stateRows.map((r) => stateFromRow(tables.state, r)).sort(byKey),
      openIncidents: incidentRows
        .map((r) => incidentFromRow(tables.incidents, r))
        .sort((a, b) => byKey(a, b) || a.openedAt.localeCompare(b.openedAt)),
    };
  }

  async function purgeHistory(olderThan: Date, purgeOpts?: { maxBatches?: number }): Promise<number> {
    const maxBatches = purgeOpts?.maxBatches ?? 200;
    const sitePartitions = new Set<string>();
    for await (const page of pages('state', undefined, ['PartitionKey'])) {
      for (const row of page) if (typeof row.partitionKey === 'string') sitePartitions.add(row.partitionKey);
    }
    const cutoff = hourBucket(olderThan);
    let deleted = 0;
    let batchesLeft = maxBatches;
    const deleteChunk = async (partitionKey: string, rowKeys: string[]) => {
      const actions: TransactionAction[] = rowKeys.map((rowKey) => ['delete', { partitionKey, rowKey }]);
      await withRetry((abortSignal) => clients.history.submitTransaction(actions, { abortSignal }));
      deleted += rowKeys.length;
      batchesLeft -= 1;
    };
    for (const site of [...sitePartitions].sort()) {
      // Site partitions are `site|yyyyMMddHH`: everything from `site|` up to the cutoff hour is older.
      const filter = odata`PartitionKey ge ${`${site}|`} and PartitionKey lt ${`${site}|${cutoff}`}`;
      let partition: string | undefined;
      let chunk: string[] = [];
      for await (const page of pages('history', filter, ['PartitionKey', 'RowKey'])) {
        for (const row of page) {
          const pk = row.partitionKey as string;
          if (chunk.length > 0 && (pk !== partition || chunk.length === MAX_BATCH_ENTITIES)) {
            await deleteChunk(partition as string, chunk);
            chunk = [];
            if (batchesLeft <= 0) return deleted;
          }
          partition = pk;
          chunk.push(row.rowKey as string);
        }
      }
      if (chunk.length > 0) {
        await deleteChunk(partition as string, chunk);
        if (batchesLeft <= 0) return deleted;
      }
    }
    return deleted;
  }

  async function history(site: string, targetId: string, since: Date, until = new Date()): Promise<HistoryPoint[]> {
    const points: HistoryPoint[] = [];
    const hour = 3_600_000;
    for (let t = Math.floor(since.getTime() / hour) * hour; t <= until.getTime(); t += hour) {
      const partition = historyPartitionKey(site, new Date(t));
      for (const row of await queryAll('history', odata`PartitionKey eq ${partition} and targetId eq ${targetId}`)) {
        const at = typeof row.cycleStartedAt === 'string' ? row.cycleStartedAt : '';
        if (at === '' || Date.parse(at) < since.getTime()) continue;
        const text = (k: string) => (typeof row[k] === 'string' ? (row[k]) : undefined);
        const failureCode = text('failureCode');
        const phase = text('phase');
        const message = text('message');
        points.push({
          cycleStartedAt: at,
          verdict: text('verdict') ?? 'unknown',
          totalMs: Number(row.totalMs ?? NaN),
          ...(failureCode ? { failureCode } : {}),
          ...(phase ? { phase } : {}),
          ...(message ? { message } : {}),
        });
      }
    }
    return points.sort((a, b) => a.cycleStartedAt.localeCompare(b.cycleStartedAt));
  }

  return {
    tables,
    requestCount: () => requests,
    history,
    async init() {
      await Promise.all(
        TABLE_ROLES.map((role) => withRetry((abortSignal) => clients[role].createTable({ abortSignal }))),
      );
    },
    loadStates,
    loadOpenIncidents,
    writeCycle,
    latest,
    purgeHistory,
    flushSpool,
  };
}
