import type {
  CycleReport,
  EndpointState,
  Incident,
  RegressionOutcome,
  TargetInfo,
  TargetResult,
} from '../../lib/monitor/types';
import type { ProbeResult, Verdict } from '../../lib/probes/types';
import { finding, settle } from '../../lib/probes/result';

/** A target as the catalog would produce it. */
export function target(host: string, port: number, transport: 'tcp' | 'udp' = 'tcp'): TargetInfo {
  return {
    id: transport === 'udp' ? `${host}:${port}/udp` : `${host}:${port}`,
    host,
    port,
    transport,
    hostPattern: host,
    requirement: 'always',
    scenarios: ['servers'],
    agents: ['connected-machine'],
    purpose: 'test endpoint',
    mustBePrivate: false,
  };
}

const cert = (subject: string, issuer: string) => ({
  subject,
  issuer,
  sans: [subject.replace(/^CN=/, '')],
  validFrom: '2026-01-01T00:00:00.000Z',
  validTo: '2026-12-31T00:00:00.000Z',
  fingerprint256: 'AB:CD:EF',
  serialNumber: '01',
});

/** A layered result: reachable over TLS, blocked (refused), intercepted, or an NTP answer for UDP targets. */
export function probeResult(t: TargetInfo, kind: 'ok' | 'refused' | 'intercepted', startedAt: string): ProbeResult {
  const base = {
    targetId: t.id,
    host: t.host,
    port: t.port,
    transport: t.transport,
    startedAt,
    dns: {
      addresses: [
        { address: '10.0.0.4', family: 4 as const, scope: 'private' as const },
        { address: 'fd00::4', family: 6 as const, scope: 'private' as const },
      ],
      server: 'system',
    },
  };
  if (t.transport === 'udp') {
    return settle({
      ...base,
      findings: [],
      timings: { dns: 1.25, ntp: 12.5, total: 14 },
      ntp: { offsetMs: -3.75, stratum: 2, roundTripMs: 12.5, referenceId: 'GPS' },
    });
  }
  if (kind === 'refused') {
    return settle({
      ...base,
      findings: [finding('TCP_REFUSED', `refused by 10.0.0.4:${t.port}`)],
      timings: { dns: 2, connect: 0.5, total: 3 },
    });
  }
  const intercepted = kind === 'intercepted';
  const root = intercepted ? cert('CN=Contoso Inspection CA', 'CN=Contoso Inspection CA') : cert('CN=Root', 'CN=Root');
  return settle({
    ...base,
    findings: intercepted ? [finding('TLS_INTERCEPTED', 'chain ends at CN=Contoso Inspection CA')] : [],
    timings: { dns: 2.5, connect: 10, tls: 21.125, firstByte: 40, total: 75.5 },
    connectedAddress: '10.0.0.4',
    tls: {
      sni: t.host,
      protocol: 'TLSv1.3',
      cipher: 'TLS_AES_256_GCM_SHA384',
      leaf: cert(`CN=${t.host}`, 'CN=Microsoft Azure RSA TLS Issuing CA 03'),
      chain: [cert(`CN=${t.host}`, 'CN=Issuing'), root],
      root: { ...root, genuine: !intercepted },
      ...(intercepted ? { interceptedBy: 'CN=Contoso Inspection CA' } : {}),
      daysToExpiry: 120.5,
    },
    http: { status: 404, bodyBytes: 120, server: 'Microsoft-IIS/10.0' },
  });
}

/** A cycle over `targets`, every fourth refused and every seventh intercepted. */
export function cycleReport(site: string, startedAt: string, targets: TargetInfo[]): CycleReport {
  const results: TargetResult[] = targets.map((t, i) => ({
    target: t,
    result: probeResult(t, i % 4 === 3 ? 'refused' : i % 7 === 6 ? 'intercepted' : 'ok', startedAt),
  }));
  const counts: Record<Verdict, number> = { reachable: 0, degraded: 0, blocked: 0, skipped: 0 };
  for (const r of results) counts[r.result.verdict] += 1;
  return {
    cycleId: `${startedAt}-${site}`,
    site,
    cloud: 'AzureCloud',
    region: 'westeurope',
    startedAt,
    finishedAt: startedAt,
    durationMs: 1000,
    results,
    counts,
  };
}

/** `n` distinct targets (`host-<i>.example.test:443`). */
export function manyTargets(n: number): TargetInfo[] {
  return Array.from({ length: n }, (_, i) => target(`host-${i}.example.test`, 443));
}

/** The states a regression engine would derive from a report (shape only; the engine is not under test here). */
export function statesOf(report: CycleReport): EndpointState[] {
  return report.results.map(({ target: t, result: r }) => {
    const failing = r.verdict !== 'reachable';
    const state: EndpointState = {
      site: report.site,
      targetId: t.id,
      host: t.host,
      port: t.port,
      requirement: t.requirement,
      verdict: r.verdict,
      consecutiveFailures: failing ? 3 : 0,
      consecutiveSuccesses: failing ? 0 : 12,
      since: '2026-03-01T10:00:00.000Z',
      lastCycleId: report.cycleId,
      lastCheckedAt: report.finishedAt,
      lastLatencyMs: r.timings.total,
      conditions: failing ? { blocked: { failing: 3, passing: 0 } } : {},
    };
    if (!failing) state.baselineLatencyMs = 70.25;
    if (r.failure) {
      state.failureCode = r.failure.code;
      state.phase = r.failure.phase;
      state.message = r.failure.message;
    }
    return state;
  });
}

/** An open incident for a target, as the regression engine shapes it. */
export function openIncident(site: string, targetId: string, cycleId: string): Incident {
  return {
    incidentId: `${site}:${targetId}:blocked:${cycleId}`,
    site,
    targetId,
    host: targetId.replace(/:\d+(\/udp)?$/, ''),
    port: 443,
    kind: 'blocked',
    severity: 'high',
    requirement: 'always',
    status: 'open',
    failureCode: 'TCP_REFUSED',
    phase: 'connect',
    message: 'refused by 10.0.0.4:443',
    firstFailingCycleId: cycleId,
    lastFailingCycleId: cycleId,
    openedAt: '2026-03-01T10:05:00.000Z',
  };
}

/** Outcome of a cycle: the derived states plus the given incidents. */
export function outcomeOf(report: CycleReport, incidents: Incident[] = []): RegressionOutcome {
  return { states: statesOf(report), incidents, transitions: [] };
}
