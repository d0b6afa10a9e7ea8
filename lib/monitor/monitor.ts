import type { MonitorStore, WriteStats } from '../store';
import type { TelemetrySink } from '../telemetry/sink';
import type { ProbeFn } from '../probes/types';
import { runCycle } from './cycle';
import { evaluateCycle } from './regression';
import { prepareCycle, type MonitorInputs } from './setup';
import type { CycleReport, Incident, RegressionConfig, RegressionOutcome } from './types';

/** What one monitor cycle needs to know. */
export interface MonitorConfig {
  site: string;
  inputs: MonitorInputs;
  concurrency: number;
  regression: RegressionConfig;
}

/** Everything with side effects, built once at the edge (`createDeps`) and passed in. */
export interface MonitorDeps {
  store: MonitorStore;
  telemetry: TelemetrySink;
  probe: ProbeFn;
  log: (line: string) => void;
}

export interface MonitorCycleOutcome {
  report: CycleReport;
  outcome: RegressionOutcome;
  write: WriteStats;
}

/**
 * The probing half of a cycle: expand the targets and probe them all. Needs nothing but the probes, so a fresh
 * instance starts probing before it loads the sinks (Table Storage, Application Insights): their loading never
 * blocks the event loop while probes are timing the network.
 */
export async function probeSite(
  cfg: MonitorConfig,
  probe: ProbeFn,
  opts: { log: (line: string) => void; signal?: AbortSignal; cycleId?: string },
): Promise<CycleReport> {
  const prepared = await prepareCycle(cfg.inputs);
  for (const note of prepared.notes) opts.log(`note: ${note}`);
  return runCycle(prepared.expanded, {
    site: cfg.site,
    cloud: cfg.inputs.cloud,
    region: cfg.inputs.region,
    concurrency: cfg.concurrency,
    timeoutMs: cfg.inputs.timeoutMs,
    probe,
    ctx: prepared.ctx,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.cycleId ? { cycleId: opts.cycleId } : {}),
  });
}

/**
 * One full monitor cycle: probe every target, compare with the stored state, persist history, state and incidents,
 * and report availability, transitions and the cycle heartbeat. The sinks never influence probing: a store or
 * telemetry failure is logged and the results are kept (the store spools them) for the next cycle.
 */
export async function runMonitorCycle(
  cfg: MonitorConfig,
  deps: MonitorDeps,
  opts: { pastDue: boolean; signal?: AbortSignal; cycleId?: string },
): Promise<MonitorCycleOutcome> {
  const report = await probeSite(cfg, deps.probe, { log: deps.log, ...opts });
  return recordCycle(cfg, deps, report, opts);
}

/** The recording half of a cycle: judge transitions against the stored state, persist, report telemetry. */
export async function recordCycle(
  cfg: MonitorConfig,
  deps: Omit<MonitorDeps, 'probe'>,
  report: CycleReport,
  opts: { pastDue: boolean },
): Promise<MonitorCycleOutcome> {
  const noTransitions: RegressionOutcome = { states: [], incidents: [], transitions: [] };
  let outcome: RegressionOutcome = noTransitions;
  let openIncidents: Incident[] = [];
  let write: WriteStats;
  // One evaluator per site at a time: concurrent runners judge one after the other, each from the other's state.
  const lease = await deps.store.lockSite(cfg.site, { holder: report.cycleId });
  try {
    if (lease.status === 'held') {
      deps.log(
        `warning: another runner of site ${cfg.site} (${lease.holder}) holds its lease until ${lease.until}; this cycle stores history only, no transitions`,
      );
    } else {
      try {
        const [previous, open] = await Promise.all([
          deps.store.loadStates(cfg.site),
          deps.store.loadOpenIncidents(cfg.site),
        ]);
        const newer = [...previous.values()].find((s) => s.lastCycleId > report.cycleId);
        if (newer) {
          // A later cycle was judged already (this one ran long, or a spool was replayed late): judging this one
          // now would move counters backwards.
          deps.log(
            `warning: cycle ${report.cycleId} is older than the stored state (cycle ${newer.lastCycleId}); this cycle stores history only, no transitions`,
          );
        } else {
          openIncidents = open;
          outcome = evaluateCycle({ previous, openIncidents, report, config: cfg.regression });
        }
      } catch (err) {
        // Without the previous state, transitions cannot be judged: judging from nothing would reset every counter
        // and strand open incidents. The history is still stored (or spooled); transitions resume next cycle.
        deps.log(
          `warning: previous state unavailable (${errorText(err)}); this cycle stores history only, no transitions`,
        );
        outcome = noTransitions;
      }
    }
    write = await writeOrReport(deps, report, outcome);
  } finally {
    if (lease.status === 'acquired') {
      await lease
        .release()
        .catch((err: unknown) => deps.log(`warning: could not release the site lease (${errorText(err)})`));
    }
  }
  const stillOpen = new Map(openIncidents.map((i) => [i.incidentId, i]));
  for (const i of outcome.incidents) {
    if (i.status === 'open') stillOpen.set(i.incidentId, i);
    else stillOpen.delete(i.incidentId);
  }
  // The heartbeat and availability results go out whatever happened to the tables, and the reverse.
  try {
    deps.telemetry.reportCycle(report, outcome, { pastDue: opts.pastDue, openIncidents: stillOpen.size });
    await deps.telemetry.flush();
  } catch (err) {
    deps.log(`warning: telemetry failed (${errorText(err)})`);
  }
  return { report, outcome, write };
}

/**
 * Writes the cycle; a store that throws (a bug, or a failure it could not keep on disk) is reported in the stats
 * instead of ending the cycle, so telemetry still goes out.
 */
async function writeOrReport(
  deps: Omit<MonitorDeps, 'probe'>,
  report: CycleReport,
  outcome: RegressionOutcome,
): Promise<WriteStats> {
  try {
    return await deps.store.writeCycle(report, outcome);
  } catch (err) {
    deps.log(`warning: the cycle could not be stored (${errorText(err)})`);
    return {
      entities: 0,
      requests: 0,
      batches: 0,
      durationMs: 0,
      spooled: { batches: 0, entities: 0 },
      flushed: { batches: 0, entities: 0 },
      pendingSpoolBatches: 0,
      rejectedSpoolBatches: 0,
      droppedEntities: 0,
      lost: report.results.length,
      error: errorText(err),
    };
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One line per cycle for logs and the local runner. */
export function cycleSummary(r: MonitorCycleOutcome): string {
  const c = r.report.counts;
  const w = r.write;
  const stored = [`stored ${w.entities} entities in ${w.requests} requests`];
  if (w.flushed.entities > 0) stored.push(`wrote ${w.flushed.entities} spooled entities of earlier cycles`);
  if (w.spooled.entities > 0)
    stored.push(`SPOOLED ${w.spooled.entities} entities (table store unreachable: ${w.error ?? 'unknown'})`);
  if (w.lost) stored.push(`LOST ${w.lost} results (the store failed: ${w.error ?? 'unknown'})`);
  if (w.rejectedSpoolBatches > 0) stored.push(`SET ASIDE ${w.rejectedSpoolBatches} batches the service rejected`);
  if (w.droppedEntities > 0) stored.push(`DROPPED ${w.droppedEntities} old history entities (spool full)`);
  return `cycle ${r.report.cycleId} site=${r.report.site}: ${r.report.results.length} endpoints, ${c.reachable} reachable, ${c.degraded} degraded, ${c.blocked} blocked, ${c.skipped} skipped in ${r.report.durationMs} ms; ${stored.join('; ')}`;
}

export function transitionLines(r: MonitorCycleOutcome): string[] {
  return r.outcome.transitions.map((t) =>
    t.type === 'opened'
      ? `INCIDENT OPENED [${t.incident.severity}] ${t.incident.kind} ${t.incident.targetId}: ${t.incident.failureCode ?? ''} ${t.incident.message}`
      : `INCIDENT RESOLVED ${t.incident.kind} ${t.incident.targetId} (open since ${t.incident.openedAt})`,
  );
}
