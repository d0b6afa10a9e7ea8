import type { CycleReport, EndpointState, Incident, RegressionOutcome } from '../monitor/types';
import type { SiteLease } from './lease';

/** What one `writeCycle` (or `flushSpool`) did. */
export interface WriteStats {
  /** Entities of this cycle written to the tables. */
  entities: number;
  /** HTTP requests sent during the call (retries included; spool flush included). */
  requests: number;
  /** Transactions of this cycle written to the tables. */
  batches: number;
  durationMs: number;
  /** Batches of this cycle kept on disk because the store stayed unreachable; written by a later flush. */
  spooled: { batches: number; entities: number };
  /** Batches of earlier cycles written from the spool at the start of this call. */
  flushed: { batches: number; entities: number };
  /** Batches still waiting in the spool when the call returned. */
  pendingSpoolBatches: number;
  /** Batches set aside as unwritable (malformed spool files, or batches the service rejected as invalid). */
  rejectedSpoolBatches: number;
  /** Oldest history entities dropped because the spool outgrew its size limit. */
  droppedEntities: number;
  /** Results of this cycle neither written nor kept on disk (the store itself failed). Absent or 0 normally. */
  lost?: number;
  /** Why the store was treated as unreachable, when it was. */
  error?: string;
}

/** What `flushSpool` did. */
export interface FlushStats {
  batches: number;
  entities: number;
  requests: number;
  /** Batches left in the spool (the store failed again part-way). */
  pending: number;
  rejected: number;
  /** Spooled state and incident rows not written because the table already held something newer. */
  skippedOlder: number;
  error?: string;
}

/** The latest picture: one row per endpoint and the incidents still open. */
export interface LatestView {
  states: EndpointState[];
  openIncidents: Incident[];
  /** Rows this version cannot read (kept in the tables as they are), one message each. */
  unreadable: string[];
}

/**
 * The monitor's persistent memory: per-cycle history, latest state per endpoint and incidents.
 * Implementations keep data when the backing store is down (see {@link WriteStats.spooled}).
 */
export interface MonitorStore {
  /** Creates the tables when missing; safe to call every start. */
  init(): Promise<void>;
  /**
   * Takes the site's lease: one evaluator per site at a time, so concurrent runners (the timer beside "Run now", two
   * runners by mistake) judge one after the other from each other's state. Waits up to `waitMs` (default 30 s) for a
   * lease someone else holds; the lease expires by itself after a minute if its holder dies.
   */
  lockSite(site: string, opts?: { holder?: string; waitMs?: number }): Promise<SiteLease>;
  /** Latest state of every endpoint of a site, keyed by target id. */
  loadStates(site: string): Promise<Map<string, EndpointState>>;
  loadOpenIncidents(site: string): Promise<Incident[]>;
  /** Writes a cycle's results, the new states and the changed incidents. Idempotent per cycle id. */
  writeCycle(report: CycleReport, outcome: RegressionOutcome): Promise<WriteStats>;
  /** States and open incidents of one site, or of every site. */
  latest(site?: string): Promise<LatestView>;
  /**
   * Deletes history partitions (site and hour) that ended before `olderThan`, in transactions of up to 100, fairly
   * across sites (rounds with an equal share each), 4 transactions in flight, until nothing is left, `maxBatches`
   * transactions were sent (default 10,000, i.e. 1,000,000 rows) or `timeBudgetMs` passed (default 240 s, under the
   * host's timeout). A row already gone (404) counts as deleted. Sites are those present in the state table.
   */
  purgeHistory(olderThan: Date, opts?: { maxBatches?: number; timeBudgetMs?: number }): Promise<number>;
  /** Writes batches left on disk by earlier outages. */
  flushSpool(): Promise<FlushStats>;
}

/** One HTTP request the store sent (each retry is its own request). */
export interface StoreRequestInfo {
  /** Table the request addressed (`$batch` requests included). */
  table: string;
  method: string;
  /** Path and query of the request URL. */
  path: string;
  /** HTTP status, absent when no response came back. */
  status?: number;
  /** Error code (e.g. ECONNREFUSED) when no response came back. */
  error?: string;
  durationMs: number;
}

/**
 * The store's backing tables could not be reached and there is nothing known to fall back on. Callers decide:
 * the runner can still probe and write (writes are spooled), but must not treat endpoints as new.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
