import { createHash } from 'node:crypto';
import { fixFor } from '../rules/fixes';
import type { CycleReport, EndpointState, Incident, RegressionOutcome, TargetResult } from '../monitor/types';
import type { PhaseTimings, ProbeResult } from '../probes/types';
import {
  AVAILABILITY_PROPS,
  CYCLE_MEASUREMENTS,
  CYCLE_PROPS,
  EVENTS,
  INCIDENT_PROPS,
  METRIC_DIMENSIONS,
  METRICS,
} from './names';
import type { CycleExtra } from './sink';

/**
 * What one cycle becomes in Application Insights, as plain data: no SDK here, so the mapping is testable on its
 * own and the SDK module only hands these records over.
 */

/** One row of `availabilityResults`. */
export interface AvailabilityRecord {
  /** Unique per cycle and target, and the same when a retried invocation reports the same cycle again. */
  id: string;
  /** The target id: `host:port` (`host:port/udp` for NTP). */
  name: string;
  /** The site the monitor watches from. */
  runLocation: string;
  /** Reachable or degraded: the network path works. */
  success: boolean;
  /** Total probe time, whole milliseconds. */
  duration: number;
  /** The human reason. */
  message: string;
  properties: Record<string, string>;
}

/** One row of `customEvents`. */
export interface EventRecord {
  name: string;
  properties: Record<string, string>;
  measurements?: Record<string, number>;
}

/** One latency value for `customMetrics` (the SDK aggregates values per name and dimensions until flushed). */
export interface MetricRecord {
  name: string;
  value: number;
  properties: Record<string, string>;
}

export interface CycleTelemetry {
  availability: AvailabilityRecord[];
  events: EventRecord[];
  metrics: MetricRecord[];
}

const TIMING_METRICS: ReadonlyArray<[keyof PhaseTimings, string]> = [
  ['dns', METRICS.dns],
  ['connect', METRICS.connect],
  ['proxy', METRICS.proxy],
  ['tls', METRICS.tls],
  ['firstByte', METRICS.firstByte],
  ['ntp', METRICS.ntp],
  ['total', METRICS.total],
];

const SECRET_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // user:password@ in any URL
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi, '$1'],
  // connection-string and query-string secrets
  [
    /\b(AccountKey|SharedAccessKey|SharedAccessSignature|sig|password|passwd|pwd|secret|client_secret|access_token|token|api[-_]?key)=([^;&\s]+)/gi,
    '$1=[redacted]',
  ],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, '$1 [redacted]'],
];

/** Removes credentials from free text: URL user info, `key=secret` pairs, bearer/basic tokens. */
export function redactSecrets(text: string): string {
  return SECRET_PATTERNS.reduce((acc, [pattern, replacement]) => acc.replace(pattern, replacement), text);
}

/** `scheme://host:port` of a proxy URL, nothing else (the probes already strip credentials; this makes sure). */
export function redactProxy(proxy: string): string {
  try {
    const url = new URL(proxy);
    return `${url.protocol}//${url.host}`;
  } catch {
    return redactSecrets(proxy);
  }
}

/** Deterministic availability id: 32 hex characters of SHA-256 over cycle id and target id. */
export function availabilityId(cycleId: string, targetId: string): string {
  return createHash('sha256').update(`${cycleId}\n${targetId}`).digest('hex').slice(0, 32);
}

const ms = (value: number) => Math.round(value);

/** The one-line reason shown in the portal: the deciding finding's message, or what proved the path works. */
export function availabilityMessage(result: ProbeResult): string {
  if (result.failure) return redactSecrets(result.failure.message);
  if (result.verdict !== 'reachable') return result.verdict;
  const total = ms(result.timings.total);
  if (result.http) return `reachable (HTTP ${result.http.status} in ${total} ms)`;
  if (result.ntp)
    return `reachable (NTP stratum ${result.ntp.stratum}, offset ${ms(result.ntp.offsetMs)} ms, in ${total} ms)`;
  return `reachable (connected in ${total} ms)`;
}

/** Copies the entries whose value is a non-empty string, redacted. */
function defined(entries: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(entries)) {
    if (value !== undefined && value !== '') out[key] = redactSecrets(value);
  }
  return out;
}

const worked = (result: ProbeResult) => result.verdict === 'reachable' || result.verdict === 'degraded';

/**
 * The availability result of one probed target. Skipped targets (a wildcard with no concrete host) get none:
 * nothing was tested, and a permanent "failed" row would only drag the availability figures and alert rules
 * down; the cycle event counts them instead.
 */
export function availabilityRecord(
  report: CycleReport,
  { target, result }: TargetResult,
  state?: Pick<EndpointState, 'consecutiveFailures'>,
): AvailabilityRecord | undefined {
  if (result.verdict === 'skipped') return undefined;
  return {
    id: availabilityId(report.cycleId, target.id),
    name: target.id,
    runLocation: report.site,
    success: worked(result),
    duration: Math.round(result.timings.total),
    message: availabilityMessage(result),
    properties: defined({
      [AVAILABILITY_PROPS.site]: report.site,
      [AVAILABILITY_PROPS.cloud]: report.cloud,
      [AVAILABILITY_PROPS.region]: report.region,
      [AVAILABILITY_PROPS.scenario]: target.scenarios.join(','),
      [AVAILABILITY_PROPS.requirement]: target.requirement,
      [AVAILABILITY_PROPS.verdict]: result.verdict,
      [AVAILABILITY_PROPS.failureCode]: result.failure?.code,
      [AVAILABILITY_PROPS.phase]: result.failure?.phase,
      [AVAILABILITY_PROPS.addresses]: result.dns?.addresses.map((a) => a.address).join(','),
      [AVAILABILITY_PROPS.proxy]: result.proxy === undefined ? undefined : redactProxy(result.proxy),
      [AVAILABILITY_PROPS.cycleId]: report.cycleId,
      [AVAILABILITY_PROPS.hostPattern]: target.hostPattern,
      [AVAILABILITY_PROPS.tlsProtocol]: result.tls?.protocol,
      [AVAILABILITY_PROPS.interceptedBy]: result.tls?.interceptedBy,
      // The alert rule compares this with ARCMON_OPEN_AFTER on the latest result alone, so it fires for any
      // schedule and threshold without reading hours of history.
      [AVAILABILITY_PROPS.blockedCycles]: state === undefined ? undefined : String(state.consecutiveFailures),
      [AVAILABILITY_PROPS.fix]: fixFor({ ...target, cloud: report.cloud }, result)?.summary,
    }),
  };
}

/**
 * EndpointRegressed (opened) or EndpointRecovered (resolved). `fix` is what to change, from this cycle's result of
 * the endpoint (lib/rules/fixes.ts), for an opened incident.
 */
export function incidentEvent(type: 'opened' | 'resolved', incident: Incident, fix?: string): EventRecord {
  return {
    name: type === 'opened' ? EVENTS.regressed : EVENTS.recovered,
    properties: defined({
      [INCIDENT_PROPS.incidentId]: incident.incidentId,
      [INCIDENT_PROPS.site]: incident.site,
      [INCIDENT_PROPS.endpoint]: incident.targetId,
      [INCIDENT_PROPS.kind]: incident.kind,
      [INCIDENT_PROPS.severity]: incident.severity,
      [INCIDENT_PROPS.requirement]: incident.requirement,
      [INCIDENT_PROPS.failureCode]: incident.failureCode,
      [INCIDENT_PROPS.phase]: incident.phase,
      [INCIDENT_PROPS.message]: incident.message,
      [INCIDENT_PROPS.firstFailingCycleId]: incident.firstFailingCycleId,
      [INCIDENT_PROPS.lastFailingCycleId]: incident.lastFailingCycleId,
      [INCIDENT_PROPS.openedAt]: incident.openedAt,
      [INCIDENT_PROPS.resolvedAt]: incident.resolvedAt,
      [INCIDENT_PROPS.fix]: type === 'opened' ? fix : undefined,
    }),
  };
}

/** The MonitorCycle event: sent every cycle, so a silent monitor is visible (dead-man's switch). */
export function cycleEvent(report: CycleReport, extra: CycleExtra): EventRecord {
  return {
    name: EVENTS.cycle,
    properties: defined({
      [CYCLE_PROPS.site]: report.site,
      [CYCLE_PROPS.cloud]: report.cloud,
      [CYCLE_PROPS.region]: report.region,
      [CYCLE_PROPS.cycleId]: report.cycleId,
      [CYCLE_PROPS.pastDue]: String(extra.pastDue),
    }),
    measurements: {
      [CYCLE_MEASUREMENTS.durationMs]: report.durationMs,
      [CYCLE_MEASUREMENTS.targets]: report.results.length,
      [CYCLE_MEASUREMENTS.reachable]: report.counts.reachable,
      [CYCLE_MEASUREMENTS.degraded]: report.counts.degraded,
      [CYCLE_MEASUREMENTS.blocked]: report.counts.blocked,
      [CYCLE_MEASUREMENTS.skipped]: report.counts.skipped,
      [CYCLE_MEASUREMENTS.openIncidents]: extra.openIncidents,
    },
  };
}

/**
 * Per-phase latency of the targets whose path worked (reachable or degraded). A blocked probe's timings measure
 * how long it took to fail (often a timeout), which is not latency and would poison the baseline.
 */
export function latencyMetrics(report: CycleReport, { target, result }: TargetResult): MetricRecord[] {
  if (!worked(result)) return [];
  const properties = { [METRIC_DIMENSIONS.site]: report.site, [METRIC_DIMENSIONS.endpoint]: target.id };
  const out: MetricRecord[] = [];
  for (const [phase, name] of TIMING_METRICS) {
    const value = result.timings[phase];
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) out.push({ name, value, properties });
  }
  return out;
}

/** Everything one cycle sends. */
export function cycleTelemetry(report: CycleReport, outcome: RegressionOutcome, extra: CycleExtra): CycleTelemetry {
  const states = new Map(outcome.states.map((s) => [s.targetId, s]));
  return {
    availability: report.results.flatMap((r) => availabilityRecord(report, r, states.get(r.target.id)) ?? []),
    events: [
      ...outcome.transitions.map((t) => {
        const tr = report.results.find((r) => r.target.id === t.incident.targetId);
        const fix = tr ? fixFor({ ...tr.target, cloud: report.cloud }, tr.result)?.summary : undefined;
        return incidentEvent(t.type, t.incident, fix);
      }),
      cycleEvent(report, extra),
    ],
    metrics: report.results.flatMap((r) => latencyMetrics(report, r)),
  };
}
