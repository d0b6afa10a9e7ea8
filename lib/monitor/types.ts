import type { Agent, Cloud, Requirement, Scenario } from '../catalog/types';
import type { FailureCode, Phase, ProbeResult, Verdict } from '../probes/types';

/** What a cycle knows about the target a result belongs to (kept small: it travels to every sink). */
export interface TargetInfo {
  /** `host:port` (or `pattern:port` for a skipped wildcard). */
  id: string;
  host: string;
  port: number;
  transport: 'tcp' | 'udp';
  hostPattern: string;
  requirement: Requirement;
  scenarios: Scenario[];
  agents: Agent[];
  purpose: string;
  mustBePrivate: boolean;
  /** Service tags the catalog lists for the target (empty for third-party and user endpoints). Default none. */
  serviceTags?: string[];
  /** Set when every catalog row behind the target is retired: shown, never counted as blocked, no incident. */
  retired?: string;
}

export interface TargetResult {
  target: TargetInfo;
  result: ProbeResult;
}

/** One run over every selected target. */
export interface CycleReport {
  /** Unique and sortable: `<ISO start>-<random>`; a retried invocation reuses it (idempotent writes). */
  cycleId: string;
  site: string;
  cloud: Cloud;
  region: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  results: TargetResult[];
  counts: Record<Verdict, number>;
}

export const INCIDENT_KINDS = [
  'blocked',
  'tls-intercepted',
  'private-link-bypassed',
  'latency',
  'cert-near-expiry',
  'clock-skew',
] as const;
export type IncidentKind = (typeof INCIDENT_KINDS)[number];

export type IncidentSeverity = 'high' | 'medium' | 'low';

/** Hysteresis counters for one incident kind on one endpoint. */
export interface ConditionCounter {
  failing: number;
  passing: number;
  /** Cycle where the current failing streak began; absent while passing. Names the incident it opens. */
  firstFailingCycleId?: string;
}

/** Latest state of one endpoint at one site (one row of the state table). */
export interface EndpointState {
  site: string;
  targetId: string;
  host: string;
  port: number;
  requirement: Requirement;
  verdict: Verdict;
  failureCode?: FailureCode;
  phase?: Phase;
  message?: string;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  /** ISO time since the current verdict holds. */
  since: string;
  /** Baseline of total latency (ms) over healthy cycles (EWMA); absent until the first healthy cycle. */
  baselineLatencyMs?: number;
  lastLatencyMs?: number;
  lastCycleId: string;
  lastCheckedAt: string;
  /** Per incident kind: consecutive failing / passing cycles. */
  conditions: Partial<Record<IncidentKind, ConditionCounter>>;
}

export interface Incident {
  /** Deterministic: derived from site, target, kind and first failing cycle (idempotent writes). */
  incidentId: string;
  site: string;
  targetId: string;
  host: string;
  port: number;
  kind: IncidentKind;
  severity: IncidentSeverity;
  requirement: Requirement;
  status: 'open' | 'resolved';
  failureCode?: FailureCode;
  phase?: Phase;
  message: string;
  firstFailingCycleId: string;
  lastFailingCycleId: string;
  openedAt: string;
  resolvedAt?: string;
  resolvedCycleId?: string;
}

export type Transition = { type: 'opened'; incident: Incident } | { type: 'resolved'; incident: Incident };

/** Regression thresholds. Defaults: openAfter 2, resolveAfter 2, latencyRatio 3, latencyFloorMs 250. */
export interface RegressionConfig {
  openAfter: number;
  resolveAfter: number;
  latencyRatio: number;
  latencyFloorMs: number;
}

export interface RegressionOutcome {
  /** New state of every endpoint seen this cycle. */
  states: EndpointState[];
  /** Incidents opened, updated (last failing cycle moved on) or resolved this cycle. */
  incidents: Incident[];
  transitions: Transition[];
}
