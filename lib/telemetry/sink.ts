import type { CycleReport, RegressionOutcome } from '../monitor/types';

/** What the runner knows about a cycle beyond its report. */
export interface CycleExtra {
  /** The timer fired late (the Functions host's `isPastDue`). */
  pastDue: boolean;
  /** Incidents still open after this cycle. */
  openIncidents: number;
}

/**
 * Where a cycle's results go besides the tables: Application Insights, or nowhere. A sink never throws for
 * delivery problems and never influences probing; it only records.
 */
export interface TelemetrySink {
  /** Queues the cycle's availability results, transition events, cycle event and latency metrics. */
  reportCycle(report: CycleReport, outcome: RegressionOutcome, extra: CycleExtra): void;
  /** Sends everything queued (metrics included); resolves when done or given up, never rejects. */
  flush(): Promise<void>;
  /** Flushes, then releases timers and connections. Further reports are ignored. Idempotent. */
  close(): Promise<void>;
}

/** The sink used when no Application Insights connection string is configured. */
export const noopTelemetry: TelemetrySink = {
  reportCycle: () => undefined,
  flush: () => Promise.resolve(),
  close: () => Promise.resolve(),
};
