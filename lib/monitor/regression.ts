import { createHash } from 'node:crypto';
import type { Requirement } from '../catalog/types';
import type { FailureCode, Phase, ProbeResult } from '../probes/types';
import { INCIDENT_KINDS } from './types';
import type {
  ConditionCounter,
  CycleReport,
  EndpointState,
  Incident,
  IncidentKind,
  IncidentSeverity,
  RegressionConfig,
  RegressionOutcome,
  TargetResult,
  Transition,
} from './types';

/** Thresholds used when the settings say nothing: open after 2, resolve after 2, latency ×3 and +250 ms. */
export const DEFAULT_REGRESSION_CONFIG: RegressionConfig = {
  openAfter: 2,
  resolveAfter: 2,
  latencyRatio: 3,
  latencyFloorMs: 250,
};

/**
 * Weight of the newest cycle in the latency baseline (an exponentially weighted moving average):
 * `baseline = 0.2 × total + 0.8 × baseline`. About the last ten healthy cycles carry most of the weight, so the
 * baseline follows slow drift while a single slow cycle moves it little.
 */
export const LATENCY_BASELINE_ALPHA = 0.2;

type Impact = 'outage' | 'latency' | 'warning';

const IMPACT_OF_KIND: Record<IncidentKind, Impact> = {
  blocked: 'outage',
  'tls-intercepted': 'outage',
  'private-link-bypassed': 'outage',
  latency: 'latency',
  'cert-near-expiry': 'warning',
  'clock-skew': 'warning',
};

const SEVERITY_TABLE: Record<Requirement, Record<Impact, IncidentSeverity>> = {
  always: { outage: 'high', latency: 'medium', warning: 'medium' },
  'always-unless-private-endpoints': { outage: 'high', latency: 'medium', warning: 'medium' },
  'connect-disconnect': { outage: 'medium', latency: 'low', warning: 'medium' },
  'ssh-admin-center': { outage: 'medium', latency: 'low', warning: 'medium' },
  conditional: { outage: 'medium', latency: 'low', warning: 'medium' },
  installation: { outage: 'low', latency: 'low', warning: 'low' },
  optional: { outage: 'low', latency: 'low', warning: 'low' },
};

/**
 * Severity of an incident from how much Arc depends on the endpoint and what kind of failure it is.
 *
 * | requirement                                             | outage | latency | warning |
 * | ------------------------------------------------------- | ------ | ------- | ------- |
 * | `always`, `always-unless-private-endpoints`             | high   | medium  | medium  |
 * | `connect-disconnect`, `ssh-admin-center`, `conditional` | medium | low     | medium  |
 * | `installation`, `optional`                              | low    | low     | low     |
 *
 * outage: `blocked`, `tls-intercepted`, `private-link-bypassed`; warning: `cert-near-expiry`, `clock-skew`.
 */
export function severityFor(requirement: Requirement, kind: IncidentKind): IncidentSeverity {
  return SEVERITY_TABLE[requirement][IMPACT_OF_KIND[kind]];
}

const MAX_INCIDENT_ID_LENGTH = 200;
const HASH_HEX_LENGTH = 16;

/**
 * Deterministic incident id: the same site, target, kind and first failing cycle always give the same id, so a
 * retried cycle rewrites the same incident row. Shape: `<kind>|<target>|<site>|<cycle>|<sha256 prefix>` with every
 * character outside `A-Z a-z 0-9 . _ : -` replaced by `_` (safe as an Azure Table row key: no `/ \ # ?`, quotes or
 * control characters), at most 200 characters. The readable parts are for people; the 16-hex-digit SHA-256 prefix
 * over the unmodified parts keeps ids distinct when sanitising or truncation makes the readable parts collide.
 */
export function incidentId(site: string, targetId: string, kind: IncidentKind, firstFailingCycleId: string): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([site, targetId, kind, firstFailingCycleId]))
    .digest('hex')
    .slice(0, HASH_HEX_LENGTH);
  const readable = [kind, targetId, site, firstFailingCycleId].map((part) => part.replace(/[^A-Za-z0-9._:-]/g, '_'));
  const room = MAX_INCIDENT_ID_LENGTH - HASH_HEX_LENGTH - 1;
  return `${readable.join('|').slice(0, room)}|${hash}`;
}

/** What a failing condition says about itself: the code and phase (absent for latency) and a human reason. */
interface FailureDetail {
  failureCode?: FailureCode;
  phase?: Phase;
  message: string;
}

/**
 * `unobserved`: the probe stopped before the phase that shows the condition (or latency has no baseline yet), so
 * this cycle proves neither failure nor recovery and the counters stay as they are.
 */
type Observation = { status: 'failing'; detail: FailureDetail } | { status: 'passing' } | { status: 'unobserved' };

const FINDING_OF_KIND = {
  'tls-intercepted': { code: 'TLS_INTERCEPTED', factsPresent: (r: ProbeResult) => r.tls !== undefined },
  'private-link-bypassed': { code: 'PRIVATE_LINK_BYPASSED', factsPresent: (r: ProbeResult) => r.dns !== undefined },
  'cert-near-expiry': { code: 'CERT_NEAR_EXPIRY', factsPresent: (r: ProbeResult) => r.tls !== undefined },
  'clock-skew': { code: 'CLOCK_SKEW', factsPresent: (r: ProbeResult) => r.ntp !== undefined },
} as const satisfies Partial<Record<IncidentKind, { code: FailureCode; factsPresent: (r: ProbeResult) => boolean }>>;

function isAnswering(result: ProbeResult): boolean {
  return result.verdict === 'reachable' || result.verdict === 'degraded';
}

function formatMs(ms: number): string {
  return `${Math.round(ms)} ms`;
}

/** Blocking codes that open their own incident kind rather than `blocked`. */
const OWN_KIND_CODES: ReadonlySet<string> = new Set(['PRIVATE_LINK_BYPASSED', 'TLS_INTERCEPTED']);

function observe(
  kind: IncidentKind,
  result: ProbeResult,
  baselineMs: number | undefined,
  config: RegressionConfig,
): Observation {
  switch (kind) {
    case 'blocked': {
      // A block caused only by a condition that has its own incident kind (private link bypassed, interception the
      // consumer does not tolerate) is reported once, under that kind, not twice.
      const failure = result.findings.find((f) => f.severity === 'blocking' && !OWN_KIND_CODES.has(f.code));
      if (result.verdict !== 'blocked' || !failure) return { status: 'passing' };
      return {
        status: 'failing',
        detail: { failureCode: failure.code, phase: failure.phase, message: failure.message },
      };
    }
    case 'latency': {
      if (!isAnswering(result) || baselineMs === undefined) return { status: 'unobserved' };
      const total = result.timings.total;
      const slower = total > baselineMs * config.latencyRatio && total - baselineMs > config.latencyFloorMs;
      if (!slower) return { status: 'passing' };
      const ratio = baselineMs > 0 ? ` (×${(total / baselineMs).toFixed(1)})` : '';
      return {
        status: 'failing',
        detail: { message: `total ${formatMs(total)} vs baseline ${formatMs(baselineMs)}${ratio}` },
      };
    }
    default: {
      const { code, factsPresent } = FINDING_OF_KIND[kind];
      const found = result.findings.find((f) => f.code === code);
      if (found) {
        return { status: 'failing', detail: { failureCode: found.code, phase: found.phase, message: found.message } };
      }
      // A blocked probe that never reached the phase cannot show the condition gone: a firewall that now drops
      // the connection must not "resolve" a TLS interception incident.
      return isAnswering(result) || factsPresent(result) ? { status: 'passing' } : { status: 'unobserved' };
    }
  }
}

function nextCounter(
  previous: ConditionCounter | undefined,
  observation: Observation,
  cycleId: string,
): ConditionCounter | undefined {
  switch (observation.status) {
    case 'unobserved':
      return previous;
    case 'passing':
      return { failing: 0, passing: (previous?.passing ?? 0) + 1 };
    case 'failing': {
      const continuing = previous !== undefined && previous.failing > 0;
      return {
        failing: (previous?.failing ?? 0) + 1,
        passing: 0,
        firstFailingCycleId: continuing ? (previous.firstFailingCycleId ?? cycleId) : cycleId,
      };
    }
  }
}

function withDetail(incident: Incident, detail: FailureDetail): Incident {
  const { failureCode: _code, phase: _phase, ...rest } = incident;
  return {
    ...rest,
    ...(detail.failureCode !== undefined ? { failureCode: detail.failureCode } : {}),
    ...(detail.phase !== undefined ? { phase: detail.phase } : {}),
    message: detail.message,
  };
}

function nextBaseline(previous: number | undefined, result: ProbeResult, latency: Observation): number | undefined {
  if (!isAnswering(result) || latency.status === 'failing') return previous;
  const total = result.timings.total;
  return previous === undefined ? total : LATENCY_BASELINE_ALPHA * total + (1 - LATENCY_BASELINE_ALPHA) * previous;
}

function skippedState(prev: EndpointState | undefined, entry: TargetResult, report: CycleReport): EndpointState {
  return {
    ...baseState(prev, entry, report),
    consecutiveFailures: prev?.consecutiveFailures ?? 0,
    consecutiveSuccesses: prev?.consecutiveSuccesses ?? 0,
    ...(prev?.baselineLatencyMs !== undefined ? { baselineLatencyMs: prev.baselineLatencyMs } : {}),
    ...(prev?.lastLatencyMs !== undefined ? { lastLatencyMs: prev.lastLatencyMs } : {}),
    conditions: { ...prev?.conditions },
  };
}

function baseState(
  prev: EndpointState | undefined,
  { target, result }: TargetResult,
  report: CycleReport,
): Omit<EndpointState, 'consecutiveFailures' | 'consecutiveSuccesses' | 'conditions'> {
  const failure = result.failure;
  return {
    site: report.site,
    targetId: target.id,
    host: target.host,
    port: target.port,
    requirement: target.requirement,
    verdict: result.verdict,
    ...(failure ? { failureCode: failure.code, phase: failure.phase, message: failure.message } : {}),
    since: prev !== undefined && prev.verdict === result.verdict ? prev.since : report.finishedAt,
    lastCycleId: report.cycleId,
    lastCheckedAt: report.finishedAt,
  };
}

function conditionKey(targetId: string, kind: IncidentKind): string {
  return `${kind}\u0000${targetId}`;
}

/**
 * Turns the previous endpoint states and this cycle's report into new states, incidents and transitions.
 * Pure and deterministic: every time comes from the report (`finishedAt` is the engine's clock) and ids derive from
 * the inputs, so a retried cycle yields the same outcome.
 *
 * Per endpoint and incident kind, a cycle is failing, passing or unobserved:
 * - `blocked`: the verdict is blocked;
 * - `tls-intercepted`, `private-link-bypassed`, `cert-near-expiry`, `clock-skew`: the result carries a
 *   `TLS_INTERCEPTED`, `PRIVATE_LINK_BYPASSED`, `CERT_NEAR_EXPIRY` or `CLOCK_SKEW` finding. When the endpoint is
 *   blocked before the phase that would show the condition ran (no TLS, DNS or NTP facts), the condition is
 *   unobserved rather than passing;
 * - `latency`: the endpoint answered (reachable or degraded), a baseline exists, and the total time is both more
 *   than `latencyRatio` × baseline and more than `latencyFloorMs` above it. Unobserved while blocked or before the
 *   first healthy cycle.
 *
 * Hysteresis: an incident opens (transition `opened`) when a kind has failed `openAfter` cycles in a row and none is
 * open for that endpoint and kind; later failing cycles move the open incident's `lastFailingCycleId`, code and
 * message (returned in `incidents`, no transition). It resolves (transition `resolved`) after `resolveAfter` passing
 * cycles in a row. Unobserved cycles neither extend nor break a streak.
 *
 * The latency baseline is an EWMA (see {@link LATENCY_BASELINE_ALPHA}) of the total time over cycles where the
 * endpoint answered and latency was not failing, so a regression does not teach the baseline. A lasting shift in
 * latency therefore keeps its incident open until latency returns or the endpoint's state is reset.
 *
 * Skipped results (an unresolved wildcard: a configuration gap) change no counters and open or resolve nothing; the
 * state shows the verdict. Endpoints absent from the report are left out of `states`, and incidents open for them
 * (or for another site) are left as they are: removing an endpoint from the configuration neither resolves nor
 * updates its incident.
 *
 * @throws Error when the report holds two results for one target (a bug in the cycle runner).
 */
export function evaluateCycle(input: {
  previous: ReadonlyMap<string, EndpointState>;
  openIncidents: readonly Incident[];
  report: CycleReport;
  config: RegressionConfig;
}): RegressionOutcome {
  const { previous, openIncidents, report, config } = input;
  const openByCondition = new Map<string, Incident>();
  for (const incident of openIncidents) {
    if (incident.status === 'open' && incident.site === report.site) {
      openByCondition.set(conditionKey(incident.targetId, incident.kind), incident);
    }
  }

  const states: EndpointState[] = [];
  const incidents: Incident[] = [];
  const transitions: Transition[] = [];
  const seen = new Set<string>();

  for (const entry of report.results) {
    const { target, result } = entry;
    if (seen.has(target.id)) throw new Error(`cycle ${report.cycleId} has more than one result for ${target.id}`);
    seen.add(target.id);
    const prev = previous.get(target.id);

    if (result.verdict === 'skipped') {
      states.push(skippedState(prev, entry, report));
      continue;
    }

    const conditions: Partial<Record<IncidentKind, ConditionCounter>> = {};
    let latency: Observation = { status: 'unobserved' };
    for (const kind of INCIDENT_KINDS) {
      const observation = observe(kind, result, prev?.baselineLatencyMs, config);
      if (kind === 'latency') latency = observation;
      const counter = nextCounter(prev?.conditions[kind], observation, report.cycleId);
      if (counter) conditions[kind] = counter;

      const open = openByCondition.get(conditionKey(target.id, kind));
      if (observation.status === 'failing' && counter) {
        if (open) {
          incidents.push({ ...withDetail(open, observation.detail), lastFailingCycleId: report.cycleId });
        } else if (counter.failing >= config.openAfter && !target.retired) {
          // A row a later Microsoft page retired is still probed and stored, but never opens an incident.
          const first = counter.firstFailingCycleId ?? report.cycleId;
          const opened = withDetail(
            {
              incidentId: incidentId(report.site, target.id, kind, first),
              site: report.site,
              targetId: target.id,
              host: target.host,
              port: target.port,
              kind,
              severity: severityFor(target.requirement, kind),
              requirement: target.requirement,
              status: 'open',
              message: '',
              firstFailingCycleId: first,
              lastFailingCycleId: report.cycleId,
              openedAt: report.finishedAt,
            },
            observation.detail,
          );
          incidents.push(opened);
          transitions.push({ type: 'opened', incident: opened });
        }
      } else if (observation.status === 'passing' && open && counter && counter.passing >= config.resolveAfter) {
        const resolved: Incident = {
          ...open,
          status: 'resolved',
          resolvedAt: report.finishedAt,
          resolvedCycleId: report.cycleId,
        };
        incidents.push(resolved);
        transitions.push({ type: 'resolved', incident: resolved });
      }
    }

    const baselineLatencyMs = nextBaseline(prev?.baselineLatencyMs, result, latency);
    const blocked = result.verdict === 'blocked';
    states.push({
      ...baseState(prev, entry, report),
      consecutiveFailures: blocked ? (prev?.consecutiveFailures ?? 0) + 1 : 0,
      consecutiveSuccesses: blocked ? 0 : (prev?.consecutiveSuccesses ?? 0) + 1,
      ...(baselineLatencyMs !== undefined ? { baselineLatencyMs } : {}),
      lastLatencyMs: result.timings.total,
      conditions,
    });
  }

  return { states, incidents, transitions };
}
