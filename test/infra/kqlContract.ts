/**
 * The contract between the monitor's telemetry (lib/telemetry/names.ts and the domain types) and the KQL in
 * infra/queries: every table, event, metric, dimension, measurement and compared value a query uses must be one
 * the code emits.
 */
import { INCIDENT_KINDS, type IncidentSeverity } from '../../lib/monitor/types';
import { REQUIREMENTS } from '../../lib/catalog/types';
import { FAILURE_CODE_LIST, type Phase, type Verdict } from '../../lib/probes/types';
import {
  AVAILABILITY_PROPS,
  CYCLE_MEASUREMENTS,
  CYCLE_PROPS,
  EVENTS,
  INCIDENT_PROPS,
  METRICS,
  METRIC_DIMENSIONS,
} from '../../lib/telemetry/names';
import { analyseKql } from './infraSource';

// Exhaustive by construction: adding a member to one of these unions without listing it here fails typechecking.
const VERDICTS = Object.keys({ reachable: 1, degraded: 1, blocked: 1, skipped: 1 } satisfies Record<Verdict, 1>);
const PHASES = Object.keys({
  config: 1,
  dns: 1,
  connect: 1,
  proxy: 1,
  tls: 1,
  http: 1,
  ntp: 1,
} satisfies Record<Phase, 1>);
const SEVERITIES = Object.keys({ high: 1, medium: 1, low: 1 } satisfies Record<IncidentSeverity, 1>);

/** Values a dimension can take, keyed by the name a query gives the extracted column (the dimension's own name). */
export const DIMENSION_VALUES: Record<string, readonly string[]> = {
  [AVAILABILITY_PROPS.verdict]: VERDICTS,
  [AVAILABILITY_PROPS.failureCode]: FAILURE_CODE_LIST,
  [AVAILABILITY_PROPS.phase]: PHASES,
  [AVAILABILITY_PROPS.requirement]: REQUIREMENTS,
  [INCIDENT_PROPS.kind]: INCIDENT_KINDS,
  // The queries name the incident kind column incidentKind: `kind` is a Kusto keyword.
  incidentKind: INCIDENT_KINDS,
  [INCIDENT_PROPS.severity]: SEVERITIES,
};

const values = (o: Record<string, string>): string[] => Object.values(o);
const EVENT_NAMES = values(EVENTS);
const INCIDENT_EVENTS = [EVENTS.regressed, EVENTS.recovered] as string[];

/** Problems of one KQL text against the telemetry contract; empty when it only uses what the code emits. */
export function telemetryProblems(kql: string): string[] {
  const usage = analyseKql(kql);
  const problems: string[] = [];
  const allowedTables = ['availabilityResults', 'customEvents', 'customMetrics'];
  for (const t of usage.tables) {
    if (!allowedTables.includes(t)) problems.push(`table ${t}: the monitor sends nothing there`);
  }
  if (usage.tables.length === 0) problems.push('no Application Insights table named');

  const names = usage.comparisons.get('name') ?? [];
  const dimensions = new Set<string>();
  const measurements = new Set<string>();
  if (usage.tables.includes('availabilityResults')) values(AVAILABILITY_PROPS).forEach((p) => dimensions.add(p));
  if (usage.tables.includes('customEvents')) {
    const events = names.filter((n) => EVENT_NAMES.includes(n));
    if (events.length === 0) problems.push('customEvents: the query does not pick an event by name');
    if (events.some((e) => INCIDENT_EVENTS.includes(e))) values(INCIDENT_PROPS).forEach((p) => dimensions.add(p));
    if (events.includes(EVENTS.cycle)) {
      values(CYCLE_PROPS).forEach((p) => dimensions.add(p));
      values(CYCLE_MEASUREMENTS).forEach((p) => measurements.add(p));
    }
  }
  if (usage.tables.includes('customMetrics')) values(METRIC_DIMENSIONS).forEach((p) => dimensions.add(p));

  const knownNames = [
    ...(usage.tables.includes('customEvents') ? EVENT_NAMES : []),
    ...(usage.tables.includes('customMetrics') ? values(METRICS) : []),
  ];
  for (const n of names) {
    if (!knownNames.includes(n)) problems.push(`name "${n}": not an event or metric the monitor emits`);
  }
  for (const d of usage.customDimensions) {
    if (!dimensions.has(d))
      problems.push(`customDimensions.${d}: not a property the monitor sends with this telemetry`);
  }
  for (const m of usage.customMeasurements) {
    if (!measurements.has(m)) problems.push(`customMeasurements.${m}: not a measurement the monitor sends`);
  }
  for (const [column, literals] of usage.comparisons) {
    const allowed = DIMENSION_VALUES[column];
    if (!allowed) continue;
    for (const lit of literals) {
      if (!allowed.includes(lit)) problems.push(`${column} == "${lit}": ${column} is never "${lit}"`);
    }
  }
  return problems;
}
