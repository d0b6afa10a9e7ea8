import type {
  ConditionCounter,
  CycleReport,
  EndpointState,
  Incident,
  IncidentKind,
  IncidentSeverity,
  TargetResult,
} from '../monitor/types';
import { INCIDENT_KINDS } from '../monitor/types';
import type { FailureCode, Phase, Verdict } from '../probes/types';
import { FAILURE_CODES } from '../probes/types';
import type { Requirement } from '../catalog/types';
import { REQUIREMENTS } from '../catalog/types';
import { encodeKeyPart, historyPartitionKey, historyRowKey } from './keys';

/** A Double the service must not infer as Int32 (a whole number of milliseconds would be). */
export interface EdmDouble {
  value: string;
  type: 'Double';
}

/** Property values this store writes: JSON-safe, so a batch can be spooled to disk and replayed as is. */
export type StoredValue = string | number | boolean | EdmDouble;

export interface StoredEntity {
  partitionKey: string;
  rowKey: string;
  [property: string]: StoredValue;
}

/** Longest free text kept (characters); Table Storage allows 32K characters per string property. */
export const MAX_MESSAGE_CHARS = 8_192;
/** Longest JSON-in-a-string property (addresses, findings, conditions). */
export const MAX_JSON_CHARS = 16_384;
/** Longest short text (names, subjects, cipher). */
const MAX_SHORT_CHARS = 1_024;

/**
 * Cuts text to at most `max` characters, ending with `…` when cut, never splitting a surrogate pair.
 */
export function boundText(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = max - 1;
  const last = text.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut -= 1;
  return `${text.slice(0, cut)}…`;
}

/** JSON of as many leading items as fit in `max` characters, so the string stays valid JSON. */
export function boundJsonArray(items: readonly unknown[], max: number): { json: string; kept: number } {
  let kept = items.length;
  let json = JSON.stringify(items);
  while (json.length > max && kept > 0) {
    kept = Math.max(0, Math.min(kept - 1, Math.floor((kept * max) / json.length)));
    json = JSON.stringify(items.slice(0, kept));
  }
  return { json, kept };
}

function double(n: number): EdmDouble {
  return { value: String(n), type: 'Double' };
}

/** Whole numbers that fit Int32 go as Int32; anything else as Double (never Int64: it reads back as BigInt). */
function int(n: number): number | EdmDouble {
  return Number.isInteger(n) && n >= -2_147_483_648 && n <= 2_147_483_647 ? n : double(n);
}

type Draft = Record<string, StoredValue | undefined>;

function compact(partitionKey: string, rowKey: string, draft: Draft): StoredEntity {
  const entity: StoredEntity = { partitionKey, rowKey };
  for (const [k, v] of Object.entries(draft)) if (v !== undefined) entity[k] = v;
  return entity;
}

const short = (s: string | undefined) => (s === undefined ? undefined : boundText(s, MAX_SHORT_CHARS));
const msOrUndefined = (n: number | undefined) => (n === undefined ? undefined : double(n));

/** One history row: every fact of a target's result in a cycle. */
export function historyEntity(report: CycleReport, cycleStart: Date, item: TargetResult): StoredEntity {
  const { target, result } = item;
  const failure = result.failure;
  const addresses = result.dns ? boundJsonArray(result.dns.addresses, 4_096) : undefined;
  const findings = boundJsonArray(
    result.findings.map((f) => ({ ...f, message: boundText(f.message, 1_024) })),
    MAX_JSON_CHARS,
  );
  const tls = result.tls;
  return compact(historyPartitionKey(report.site, cycleStart), historyRowKey(cycleStart, target.id, report.cycleId), {
    site: report.site,
    cycleId: report.cycleId,
    cycleStartedAt: report.startedAt,
    cloud: report.cloud,
    region: report.region,
    targetId: target.id,
    host: short(target.host),
    port: int(target.port),
    transport: target.transport,
    hostPattern: short(target.hostPattern),
    requirement: target.requirement,
    mustBePrivate: target.mustBePrivate,
    verdict: result.verdict,
    failureCode: failure?.code,
    phase: failure?.phase,
    severity: failure?.severity,
    message: failure ? boundText(failure.message, MAX_MESSAGE_CHARS) : undefined,
    findings: findings.json,
    findingCount: int(result.findings.length),
    probeStartedAt: result.startedAt,
    dnsMs: msOrUndefined(result.timings.dns),
    connectMs: msOrUndefined(result.timings.connect),
    proxyMs: msOrUndefined(result.timings.proxy),
    tlsMs: msOrUndefined(result.timings.tls),
    firstByteMs: msOrUndefined(result.timings.firstByte),
    ntpMs: msOrUndefined(result.timings.ntp),
    totalMs: double(result.timings.total),
    dnsServer: short(result.dns?.server),
    dnsInformational: result.dns?.informational,
    addresses: addresses?.json,
    addressCount: result.dns ? int(result.dns.addresses.length) : undefined,
    connectedAddress: short(result.connectedAddress),
    tlsSni: short(tls?.sni),
    tlsProtocol: short(tls?.protocol),
    tlsCipher: short(tls?.cipher),
    leafSubject: short(tls?.leaf.subject),
    leafIssuer: short(tls?.leaf.issuer),
    leafValidTo: short(tls?.leaf.validTo),
    leafFingerprint256: short(tls?.leaf.fingerprint256),
    chainLength: tls ? int(tls.chain.length) : undefined,
    rootSubject: short(tls?.root.subject),
    rootFingerprint256: short(tls?.root.fingerprint256),
    rootGenuine: tls?.root.genuine,
    interceptedBy: short(tls?.interceptedBy),
    daysToExpiry: tls ? double(tls.daysToExpiry) : undefined,
    httpStatus: result.http ? int(result.http.status) : undefined,
    httpBodyBytes: result.http ? int(result.http.bodyBytes) : undefined,
    httpServer: short(result.http?.server),
    ntpOffsetMs: result.ntp ? double(result.ntp.offsetMs) : undefined,
    ntpStratum: result.ntp ? int(result.ntp.stratum) : undefined,
    ntpRoundTripMs: result.ntp ? double(result.ntp.roundTripMs) : undefined,
    ntpReferenceId: short(result.ntp?.referenceId),
    proxy: short(result.proxy),
  });
}

/**
 * One state row: PartitionKey = site, RowKey = target id. `foreignConditions` (counters of incident kinds this
 * version does not know, read from the row it replaces) are written back beside this version's counters.
 */
export function stateEntity(state: EndpointState, foreignConditions: Record<string, unknown> = {}): StoredEntity {
  return compact(encodeKeyPart(state.site), encodeKeyPart(state.targetId), {
    site: state.site,
    targetId: state.targetId,
    host: state.host,
    port: int(state.port),
    requirement: state.requirement,
    verdict: state.verdict,
    failureCode: state.failureCode,
    phase: state.phase,
    message: state.message === undefined ? undefined : boundText(state.message, MAX_MESSAGE_CHARS),
    consecutiveFailures: int(state.consecutiveFailures),
    consecutiveSuccesses: int(state.consecutiveSuccesses),
    since: state.since,
    baselineLatencyMs: msOrUndefined(state.baselineLatencyMs),
    lastLatencyMs: msOrUndefined(state.lastLatencyMs),
    lastCycleId: state.lastCycleId,
    lastCheckedAt: state.lastCheckedAt,
    conditions: JSON.stringify({ ...foreignConditions, ...state.conditions }),
  });
}

/** One incident row: PartitionKey = site, RowKey = incident id. */
export function incidentEntity(incident: Incident): StoredEntity {
  return compact(encodeKeyPart(incident.site), encodeKeyPart(incident.incidentId), {
    incidentId: incident.incidentId,
    site: incident.site,
    targetId: incident.targetId,
    host: incident.host,
    port: int(incident.port),
    kind: incident.kind,
    severity: incident.severity,
    requirement: incident.requirement,
    status: incident.status,
    failureCode: incident.failureCode,
    phase: incident.phase,
    message: boundText(incident.message, MAX_MESSAGE_CHARS),
    firstFailingCycleId: incident.firstFailingCycleId,
    lastFailingCycleId: incident.lastFailingCycleId,
    openedAt: incident.openedAt,
    resolvedAt: incident.resolvedAt,
    resolvedCycleId: incident.resolvedCycleId,
  });
}

/** A row that does not have the shape this store writes: a bug or a foreign writer. */
export class StoredRowError extends Error {
  constructor(table: string, partitionKey: unknown, rowKey: unknown, problem: string) {
    super(`${table} row ${String(partitionKey)}/${String(rowKey)}: ${problem}`);
    this.name = 'StoredRowError';
  }
}

/** Reads typed values out of a row as the SDK returns it (numbers may be BigInt if someone wrote Int64). */
class RowReader {
  constructor(
    private readonly table: string,
    private readonly row: Record<string, unknown>,
  ) {}

  private fail(problem: string): never {
    throw new StoredRowError(this.table, this.row.partitionKey, this.row.rowKey, problem);
  }

  optText(name: string): string | undefined {
    const v = this.row[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') this.fail(`${name} is not text`);
    return v;
  }

  text(name: string): string {
    return this.optText(name) ?? this.fail(`${name} is missing`);
  }

  optNumber(name: string): number | undefined {
    const v = this.row[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    this.fail(`${name} is not a number`);
  }

  number(name: string): number {
    return this.optNumber(name) ?? this.fail(`${name} is missing`);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const v = this.text(name);
    if (!(allowed as readonly string[]).includes(v)) this.fail(`${name} "${v}" is not one of ${allowed.join(', ')}`);
    return v as T;
  }

  /** Like {@link optOneOf}, but a value outside `allowed` reads as absent instead of failing. */
  optKnown<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const v = this.optText(name);
    return v !== undefined && (allowed as readonly string[]).includes(v) ? (v as T) : undefined;
  }

  optOneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    return this.optText(name) === undefined ? undefined : this.oneOf(name, allowed);
  }

  json(name: string): unknown {
    try {
      return JSON.parse(this.text(name)) as unknown;
    } catch (e) {
      if (e instanceof StoredRowError) throw e;
      this.fail(`${name} is not valid JSON`);
    }
  }
}

const VERDICTS: readonly Verdict[] = ['reachable', 'degraded', 'blocked', 'skipped'];
const PHASES: readonly Phase[] = ['config', 'dns', 'connect', 'proxy', 'tls', 'http', 'ntp'];
const CODES = Object.keys(FAILURE_CODES) as FailureCode[];
const SEVERITIES: readonly IncidentSeverity[] = ['high', 'medium', 'low'];

function conditionsFrom(r: RowReader, table: string, row: Record<string, unknown>) {
  const raw = r.json('conditions');
  const conditions: Partial<Record<IncidentKind, ConditionCounter>> = {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new StoredRowError(table, row.partitionKey, row.rowKey, 'conditions is not an object');
  }
  for (const [kind, counter] of Object.entries(raw as Record<string, unknown>)) {
    const c = counter as Partial<ConditionCounter> | null;
    // A kind of a newer version: kept aside by foreignConditionsOf, not judged by this one.
    if (!(INCIDENT_KINDS as readonly string[]).includes(kind)) continue;
    if (typeof c?.failing !== 'number' || typeof c.passing !== 'number') {
      throw new StoredRowError(table, row.partitionKey, row.rowKey, `conditions.${kind} is not a counter`);
    }
    conditions[kind as IncidentKind] = {
      failing: c.failing,
      passing: c.passing,
      ...(typeof c.firstFailingCycleId === 'string' ? { firstFailingCycleId: c.firstFailingCycleId } : {}),
    };
  }
  return conditions;
}

/**
 * Counters in a state row for incident kinds this version does not know (written by a newer version of the monitor):
 * kept as they are so a rewrite of the row carries them on.
 */
export function foreignConditionsOf(row: Record<string, unknown>): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = typeof row.conditions === 'string' ? JSON.parse(row.conditions) : undefined;
  } catch {
    return {};
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return {};
  return Object.fromEntries(
    Object.entries(raw as Record<string, unknown>).filter(
      ([kind]) => !(INCIDENT_KINDS as readonly string[]).includes(kind),
    ),
  );
}

/** Drops properties whose value is `undefined`, so read-back objects equal what was written. */
function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Reads a state row back into an {@link EndpointState}. Throws {@link StoredRowError} on a malformed row. */
export function stateFromRow(table: string, row: Record<string, unknown>): EndpointState {
  const r = new RowReader(table, row);
  return definedOnly<EndpointState>({
    site: r.text('site'),
    targetId: r.text('targetId'),
    host: r.text('host'),
    port: r.number('port'),
    requirement: r.oneOf<Requirement>('requirement', REQUIREMENTS),
    verdict: r.oneOf('verdict', VERDICTS),
    consecutiveFailures: r.number('consecutiveFailures'),
    consecutiveSuccesses: r.number('consecutiveSuccesses'),
    since: r.text('since'),
    lastCycleId: r.text('lastCycleId'),
    lastCheckedAt: r.text('lastCheckedAt'),
    conditions: conditionsFrom(r, table, row),
    // A code or phase of a newer version only describes the last result; the state is still usable without it.
    failureCode: r.optKnown('failureCode', CODES),
    phase: r.optKnown('phase', PHASES),
    message: r.optText('message'),
    baselineLatencyMs: r.optNumber('baselineLatencyMs'),
    lastLatencyMs: r.optNumber('lastLatencyMs'),
  });
}

/** Reads an incident row back into an {@link Incident}. Throws {@link StoredRowError} on a malformed row. */
export function incidentFromRow(table: string, row: Record<string, unknown>): Incident {
  const r = new RowReader(table, row);
  return definedOnly<Incident>({
    incidentId: r.text('incidentId'),
    site: r.text('site'),
    targetId: r.text('targetId'),
    host: r.text('host'),
    port: r.number('port'),
    kind: r.oneOf('kind', INCIDENT_KINDS),
    severity: r.oneOf('severity', SEVERITIES),
    requirement: r.oneOf<Requirement>('requirement', REQUIREMENTS),
    status: r.oneOf('status', ['open', 'resolved'] as const),
    message: r.text('message'),
    firstFailingCycleId: r.text('firstFailingCycleId'),
    lastFailingCycleId: r.text('lastFailingCycleId'),
    openedAt: r.text('openedAt'),
    failureCode: r.optOneOf('failureCode', CODES),
    phase: r.optOneOf('phase', PHASES),
    resolvedAt: r.optText('resolvedAt'),
    resolvedCycleId: r.optText('resolvedCycleId'),
  });
}

/** Approximate wire size of an entity in a transaction body (UTF-8 JSON plus per-operation headers). */
export function entityWireBytes(entity: StoredEntity): number {
  return Buffer.byteLength(JSON.stringify(entity), 'utf8') + 512;
}

/** A stored entity as the SDK would return it on read (typed Doubles become numbers): for spool read-back. */
export function rowFromStored(entity: StoredEntity): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entity)) row[k] = typeof v === 'object' ? Number(v.value) : v;
  return row;
}
