/**
 * Every name the monitor sends to Application Insights. Alert rules and workbooks (infra/) are tested against
 * this module: change a name here and those tests tell you which KQL to update.
 */

/** customEvents names. */
export const EVENTS = {
  regressed: 'EndpointRegressed',
  recovered: 'EndpointRecovered',
  cycle: 'MonitorCycle',
} as const;

/** customMetrics names (per-phase latency, milliseconds). */
export const METRICS = {
  dns: 'arcmon.latency.dns',
  connect: 'arcmon.latency.connect',
  proxy: 'arcmon.latency.proxy',
  tls: 'arcmon.latency.tls',
  firstByte: 'arcmon.latency.firstByte',
  ntp: 'arcmon.latency.ntp',
  total: 'arcmon.latency.total',
} as const;

/** customDimensions keys on availability results. */
export const AVAILABILITY_PROPS = {
  site: 'site',
  cloud: 'cloud',
  region: 'region',
  scenario: 'scenario',
  requirement: 'whenRequired',
  verdict: 'verdict',
  failureCode: 'failureCode',
  phase: 'phase',
  addresses: 'addresses',
  proxy: 'proxy',
  cycleId: 'cycleId',
  hostPattern: 'hostPattern',
  tlsProtocol: 'tlsProtocol',
  interceptedBy: 'interceptedBy',
  /** Consecutive cycles this endpoint has been blocked at the site, this one included (0 when it is not). */
  blockedCycles: 'blockedCycles',
  /** What to change for a blocked or degraded result (lib/rules/fixes.ts), one line; the alert mails carry it. */
  fix: 'fix',
} as const;

/** customDimensions keys on EndpointRegressed / EndpointRecovered. */
export const INCIDENT_PROPS = {
  incidentId: 'incidentId',
  site: 'site',
  endpoint: 'endpoint',
  kind: 'kind',
  severity: 'severity',
  requirement: 'whenRequired',
  failureCode: 'failureCode',
  phase: 'phase',
  message: 'message',
  firstFailingCycleId: 'firstFailingCycleId',
  lastFailingCycleId: 'lastFailingCycleId',
  openedAt: 'openedAt',
  resolvedAt: 'resolvedAt',
  /** What to change (lib/rules/fixes.ts), on EndpointRegressed. */
  fix: 'fix',
} as const;

/** customDimensions / customMeasurements keys on MonitorCycle. */
export const CYCLE_PROPS = {
  site: 'site',
  cloud: 'cloud',
  region: 'region',
  cycleId: 'cycleId',
  pastDue: 'pastDue',
} as const;
export const CYCLE_MEASUREMENTS = {
  durationMs: 'durationMs',
  targets: 'targets',
  reachable: 'reachable',
  degraded: 'degraded',
  blocked: 'blocked',
  skipped: 'skipped',
  openIncidents: 'openIncidents',
} as const;

/** Metric dimensions on per-phase latency metrics. */
export const METRIC_DIMENSIONS = { site: 'site', endpoint: 'endpoint' } as const;
