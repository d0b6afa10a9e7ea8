import { odata, RestError, TableClient } from '@azure/data-tables';
import type { TableServiceClientOptions, TransactionAction } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import type { CycleReport, EndpointState, Incident, RegressionOutcome } from '../monitor/types';
import type { StoredEntity } from './entities';
import {
  entityWireBytes,
  foreignConditionsOf,
  historyEntity,
  incidentEntity,
  incidentFromRow,
  rowFromStored,
  stateEntity,
  stateFromRow,
  StoredRowError,
} from './entities';
import { cycleInstant, encodeKeyPart, historyPartitionKey, hourBucket } from './keys';
import { acquireSiteLease, LEASE_ROW_KEY } from './lease';
import type { PendingBatch, SpoolEntry, TableRole } from './spool';
import { defaultSpoolRoot, Spool, SpoolFileError, TABLE_ROLES } from './spool';
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
  /**
   * Root of the outage spool, chosen by the edge (the runner's data directory, say); batches go to
   * `<spoolDir>/<site>/`, both private (mode 700, refused otherwise). Default: {@link defaultSpoolRoot} of this
   * store's endpoint and prefix.
   */
  spoolDir?: string;
  /** Size at which the spool starts dropping its oldest history batches. Default 512 MiB. */
  spoolLimitBytes?: number;
  /** Transactions in flight at once during a write (different partitions). Default 4. */
  concurrency?: number;
  /** Called after every HTTP request the store sends (retries included). */
  onRequest?: (info: StoreRequestInfo) => void;
  /**
   * Called with a row this version cannot read (written by a newer version, or by hand). Such rows are kept as they
   * are, never overwritten, and left out of the picture; they never fail a call. Default: ignored.
   */
  onUnreadableRow?: (message: string) => void;
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

/**
 * What a failure means for the data. `transient`: worth retrying (network, timeouts, throttling, 5xx, the token
 * service); once retries run out the store counts as unavailable and the data stays in the spool. `unavailable`:
 * retrying now will not help (401/403: identity or role missing; anything unrecognised), but the data is kept for a
 * later flush. `rejected`: the service answered that this batch itself is invalid (400, 413): only such a batch is set
 * aside, with the service's reason.
 */
export type StoreErrorKind = 'transient' | 'unavailable' | 'rejected';

/**
 * Errors of @azure/identity (and MSAL under it) when the token service fails: an IMDS or App Service identity endpoint
 * that is restarting, throttled or unreachable. Matched by name, so the store does not load the identity library.
 */
const TOKEN_SERVICE_ERRORS = new Set([
  'CredentialUnavailableError',
  'AuthenticationError',
  'AggregateAuthenticationError',
  'AuthenticationRequiredError',
]);

/** Statuses by which the service says a transaction itself is invalid: retrying the same bytes cannot succeed. */
const REJECTING_STATUSES = new Set([400, 405, 411, 413, 414, 415, 431]);

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

/** Classifies a failure of a table operation by what it means for the data (see {@link StoreErrorKind}). */
export function classifyStoreError(error: unknown): StoreErrorKind {
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) return 'transient';
  if (error instanceof Error && TOKEN_SERVICE_ERRORS.has(error.name)) return 'transient';
  if (error instanceof RestError) {
    const status = error.statusCode;
    if (status === undefined) return error.code && NETWORK_CODES.has(error.code) ? 'transient' : 'unavailable';
    if (status === 408 || status === 429 || status >= 500) return 'transient';
    if (REJECTING_STATUSES.has(status)) return 'rejected';
    return 'unavailable';
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'transient';
  return 'unavailable';
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

/** Whether the row in the table says more recent things than a spooled entity for it. */
function storedIsNewer(role: TableRole, stored: Record<string, unknown>, spooled: StoredEntity): boolean {
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  if (role === 'state') return text(stored.lastCycleId) > text(spooled.lastCycleId);
  if (stored.status === 'resolved' && spooled.status === 'open') return true;
  return stored.status === spooled.status && text(stored.lastFailingCycleId) > text(spooled.lastFailingCycleId);
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
  const spool = new Spool(
    opts.spoolDir ?? defaultSpoolRoot(`${opts.tableEndpoint ?? opts.connectionString ?? ''}|${opts.prefix}`),
  );
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
    /** Per site and state row key: counters of incident kinds of a newer version, carried on when rewritten. */
    foreign: new Map<string, Map<string, Record<string, unknown>>>(),
    /** Per site: row keys of state rows this version cannot read; never overwritten. */
    unreadable: new Map<string, Set<string>>(),
  };

  /** Reads rows with `read`; rows it cannot read are reported and returned apart, never thrown. */
  function readAll<T>(
    table: string,
    rows: Record<string, unknown>[],
    read: (table: string, row: Record<string, unknown>) => T,
  ): { items: T[]; unreadable: { rowKey: string; message: string }[] } {
    const items: T[] = [];
    const unreadable: { rowKey: string; message: string }[] = [];
    for (const row of rows) {
      try {
        items.push(read(table, row));
      } catch (e) {
        if (!(e instanceof StoredRowError)) throw e;
        const message = `kept a row this version cannot read (a newer version wrote it?): ${e.message}`;
        unreadable.push({ rowKey: String(row.rowKey), message });
        opts.onUnreadableRow?.(message);
      }
    }
    return { items, unreadable };
  }

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

  /**
   * Replays a spooled state or incident batch without overwriting anything newer: rows a later cycle wrote (another
   * instance, or this one after the outage) are left alone, and a resolved incident is never reopened. Each row is
   * written only if it is still what was read (ETag), or created only if still missing; a race means read again.
   * Returns the entities skipped as older than the table.
   */
  async function submitUnlessNewer(batch: PendingBatch): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const rows = await queryAll(batch.role, odata`PartitionKey eq ${batch.partitionKey}`);
      const current = new Map(rows.map((r) => [String(r.rowKey), r]));
      const actions: TransactionAction[] = [];
      let skipped = 0;
      for (const e of batch.entities) {
        const stored = current.get(e.rowKey);
        if (!stored) actions.push(['create', e]);
        else if (storedIsNewer(batch.role, stored, e)) skipped += 1;
        else actions.push(['update', e, 'Replace', { etag: String(stored.etag) }]);
      }
      if (actions.length === 0) return skipped;
      try {
        await withRetry((abortSignal) => clients[batch.role].submitTransaction(actions, { abortSignal }));
        return skipped;
      } catch (e) {
        const status = e instanceof RestError ? e.statusCode : undefined;
        if ((status !== 409 && status !== 412) || attempt >= 5) throw e;
      }
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
    const stats: FlushStats = { batches: 0, entities: 0, requests: 0, pending: 0, rejected: 0, skippedOlder: 0 };
    const entries = await spool.list();
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as SpoolEntry;
      let batch: PendingBatch;
      try {
        batch = await spool.read(entry);
      } catch (e) {
        if (!(e instanceof SpoolFileError)) throw e;
        await spool.reject(entry, e.message);
        stats.rejected += 1;
        continue;
      }
      try {
        if (batch.role === 'history') await submit(batch);
        else stats.skippedOlder += await submitUnlessNewer(batch);
      } catch (e) {
        if (classifyStoreError(e) === 'rejected') {
          await spool.reject(entry, describe(e));
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
      state: outcome.states
        .filter((st) => !known.unreadable.get(st.site)?.has(encodeKeyPart(st.targetId)))
        .map((st) => stateEntity(st, known.foreign.get(st.site)?.get(encodeKeyPart(st.targetId)))),
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
    const keep = async (batch: PendingBatch): Promise<SpoolEntry> => {
      const entry = await spool.put(report.site, report.cycleId, indexInRole.get(batch) ?? 0, batch);
      stats.spooled.batches += 1;
      stats.spooled.entities += batch.entities.length;
      return entry;
    };

    await eachLimited(batches, concurrency, async (batch) => {
      if (storeDown) {
        await keep(batch);
        return;
      }
      try {
        await submit(batch);
        stats.batches += 1;
        stats.entities += batch.entities.length;
      } catch (e) {
        stats.error ??= describe(e);
        if (classifyStoreError(e) === 'rejected') {
          // The service refused this batch itself: set it aside with the reason, keep writing the others.
          const entry = await keep(batch);
          await spool.reject(entry, describe(e));
          stats.rejectedSpoolBatches += 1;
          return;
        }
        storeDown = true;
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
      const rows = await queryAll(
        'state',
        odata`PartitionKey eq ${encodeKeyPart(site)} and RowKey ne ${LEASE_ROW_KEY}`,
      );
      const read = readAll(tables.state, rows, stateFromRow);
      states = new Map(read.items.map((s) => [s.targetId, s]));
      known.unreadable.set(site, new Set(read.unreadable.map((u) => u.rowKey)));
      const foreign = new Map<string, Record<string, unknown>>();
      for (const row of rows) {
        const extra = foreignConditionsOf(row);
        if (Object.keys(extra).length > 0) foreign.set(String(row.rowKey), extra);
      }
      known.foreign.set(site, foreign);
    } catch (e) {
      const cached = known.states.get(site);
      if (!cached) throw unavailable(e, `cannot load the states of site ${site}`);
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
      open = new Map(readAll(tables.incidents, rows, incidentFromRow).items.map((i) => [i.incidentId, i]));
    } catch (e) {
      const cached = known.incidents.get(site);
      if (!cached) throw unavailable(e, `cannot load the open incidents of site ${site}`);
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
    return new StoreUnavailableError(`Table store: ${what}: ${describe(e)}`, { cause: e });
  }

  async function latest(site?: string): Promise<LatestView> {
    const partition = site === undefined ? undefined : odata`PartitionKey eq ${encodeKeyPart(site)}`;
    const openFilter = odata`status eq ${'open'}`;
    const notLease = odata`RowKey ne ${LEASE_ROW_KEY}`;
    const [stateRows, incidentRows] = await Promise.all([
      queryAll('state', partition ? `${partition} and ${notLease}` : notLease),
      queryAll('incidents', partition ? `${partition} and ${openFilter}` : openFilter),
    ]);
    const byKey = (a: { site: string; targetId: string }, b: { site: string; targetId: string }) =>
      a.site.localeCompare(b.site) || a.targetId.localeCompare(b.targetId);
    const states = readAll(tables.state, stateRows, stateFromRow);
    const incidents = readAll(tables.incidents, incidentRows, incidentFromRow);
    return {
      states: states.items.sort(byKey),
      openIncidents: incidents.items.sort((a, b) => byKey(a, b) || a.openedAt.localeCompare(b.openedAt)),
      unreadable: [...states.unreadable, ...incidents.unreadable].map((u) => u.message),
    };
  }

  async function purgeHistory(
    olderThan: Date,
    purgeOpts?: { maxBatches?: number; timeBudgetMs?: number },
  ): Promise<number> {
    const deadline = performance.now() + (purgeOpts?.timeBudgetMs ?? 240_000);
    let batchesLeft = purgeOpts?.maxBatches ?? 10_000;
    const sitePartitions = new Set<string>();
    for await (const page of pages('state', undefined, ['PartitionKey'])) {
      for (const row of page) if (typeof row.partitionKey === 'string') sitePartitions.add(row.partitionKey);
    }
    const cutoff = hourBucket(olderThan);
    let deleted = 0;
    const deleteChunk = async (partitionKey: string, rowKeys: string[]) => {
      const actions: TransactionAction[] = rowKeys.map((rowKey) => ['delete', { partitionKey, rowKey }]);
      try {
        await withRetry((abortSignal) => clients.history.submitTransaction(actions, { abortSignal }));
      } catch (e) {
        // 404: a row is gone already (a retried transaction that had succeeded, or another purge): delete the rest
        // one by one, each 404 counting as done.
        if (!(e instanceof RestError) || e.statusCode !== 404 || isTableNotFound(e)) throw e;
        await eachLimited(rowKeys, concurrency, async (rowKey) => {
          try {
            await withRetry((abortSignal) => clients.history.deleteEntity(partitionKey, rowKey, { abortSignal }));
          } catch (one) {
            if (!(one instanceof RestError) || one.statusCode !== 404) throw one;
          }
        });
      }
      deleted += rowKeys.length;
    };
    /** Up to `share` transactions of one site's expired rows (whole hourly partitions, 100 rows a transaction). */
    const purgeSite = async (site: string, share: number): Promise<boolean> => {
      // Site partitions are `site|yyyyMMddHH`: everything from `site|` up to the cutoff hour is older.
      const filter = odata`PartitionKey ge ${`${site}|`} and PartitionKey lt ${`${site}|${cutoff}`}`;
      const chunks: { partitionKey: string; rowKeys: string[] }[] = [];
      let current: { partitionKey: string; rowKeys: string[] } | undefined;
      outer: for await (const page of pages('history', filter, ['PartitionKey', 'RowKey'])) {
        for (const row of page) {
          const pk = row.partitionKey as string;
          if (!current || current.partitionKey !== pk || current.rowKeys.length === MAX_BATCH_ENTITIES) {
            if (chunks.length === share) break outer;
            chunks.push((current = { partitionKey: pk, rowKeys: [] }));
          }
          current.rowKeys.push(row.rowKey as string);
        }
      }
      await eachLimited(chunks, concurrency, (c) => deleteChunk(c.partitionKey, c.rowKeys));
      batchesLeft -= chunks.length;
      return chunks.length === share;
    };
    // Fair across sites: rounds in which every site with expired rows gets an equal share of the budget.
    let pending = [...sitePartitions];
    while (pending.length > 0 && batchesLeft > 0 && performance.now() < deadline) {
      const share = Math.max(1, Math.min(50, Math.floor(batchesLeft / pending.length)));
      const stillPending: string[] = [];
      for (const site of pending) {
        if (batchesLeft <= 0 || performance.now() >= deadline) break;
        if (await purgeSite(site, Math.min(share, batchesLeft))) stillPending.push(site);
      }
      pending = stillPending;
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
        const text = (k: string) => (typeof row[k] === 'string' ? row[k] : undefined);
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
    lockSite: (site, lockOpts) =>
      acquireSiteLease(clients.state, site, {
        holder: lockOpts?.holder ?? `pid ${process.pid}`,
        ...(lockOpts?.waitMs !== undefined ? { waitMs: lockOpts.waitMs } : {}),
        call: withRetry,
      }),
    loadStates,
    loadOpenIncidents,
    writeCycle,
    latest,
    purgeHistory,
    flushSpool,
  };
}
