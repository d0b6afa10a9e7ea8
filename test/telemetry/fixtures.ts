import type { Scenario } from '../../lib/catalog/types';
import type { CycleReport, Incident, RegressionOutcome, TargetInfo, TargetResult } from '../../lib/monitor/types';
import { finding, settle } from '../../lib/probes/result';
import type { CertificateFacts, Finding, ProbeResult, Verdict } from '../../lib/probes/types';

/**
 * Hand-built cycle reports, as the runner and regression engine would produce them (contract types only).
 * One cycle at site "hub-westeurope" with a target of every verdict, one incident opening and one resolving.
 */

export const SITE = 'hub-westeurope';
export const CYCLE_ID = '2026-11-21T10:00:00.000Z-a1b2c3';
const STARTED = '2026-11-21T10:00:00.000Z';

function target(host: string, port: number, extra: Partial<TargetInfo> = {}): TargetInfo {
  const transport = extra.transport ?? 'tcp';
  return {
    id: transport === 'udp' ? `${host}:${port}/udp` : `${host}:${port}`,
    host,
    port,
    transport,
    hostPattern: host,
    requirement: 'always',
    scenarios: ['servers'] as Scenario[],
    agents: ['connected-machine'],
    purpose: 'test endpoint',
    mustBePrivate: false,
    ...extra,
  };
}

function cert(subject: string, issuer: string): CertificateFacts {
  return {
    subject,
    issuer,
    sans: [],
    validFrom: '2026-01-01T00:00:00.000Z',
    validTo: '2027-01-01T00:00:00.000Z',
    fingerprint256: 'AA:BB',
    serialNumber: '01',
  };
}

function result(t: TargetInfo, findings: Finding[], rest: Partial<ProbeResult> = {}): ProbeResult {
  return settle({
    targetId: t.id,
    host: t.host,
    port: t.port,
    transport: t.transport,
    findings,
    timings: { total: 0 },
    startedAt: STARTED,
    ...rest,
  });
}

const tls = (protocol: string, interceptedBy?: string) => ({
  sni: 'x',
  protocol,
  cipher: 'TLS_AES_128_GCM_SHA256',
  leaf: cert('CN=x', 'CN=issuer'),
  chain: [],
  root: { ...cert('CN=root', 'CN=root'), genuine: interceptedBy === undefined },
  ...(interceptedBy ? { interceptedBy } : {}),
  daysToExpiry: 200,
});

const dns = (...addresses: string[]) => ({
  server: 'system',
  addresses: addresses.map((address) => ({ address, family: 4 as const, scope: 'public' as const })),
});

export const his = target('gbl.his.arc.azure.com', 443, {
  hostPattern: '*.his.arc.azure.com',
  scenarios: ['servers', 'onboarding'],
});
export const login = target('login.microsoftonline.com', 443, { requirement: 'always' });
export const gas = target('agentserviceapi.guestconfiguration.azure.com', 443, {
  hostPattern: '*.guestconfiguration.azure.com',
});
export const ntp = target('time.windows.com', 123, {
  transport: 'udp',
  requirement: 'optional',
  scenarios: ['optional'],
});
export const blob = target('*.blob.core.windows.net', 443, { requirement: 'conditional' });

/** One result of every verdict; `login` goes through a proxy and is TLS-inspected. */
export const results: TargetResult[] = [
  {
    target: his,
    result: result(his, [], {
      timings: { dns: 3.2, connect: 10.4, tls: 20.1, firstByte: 30.7, total: 64.9 },
      dns: dns('20.50.1.10'),
      tls: tls('TLSv1.3'),
      http: { status: 400, bodyBytes: 120 },
    }),
  },
  {
    target: login,
    result: result(login, [finding('TLS_INTERCEPTED', 'chain ends at Contoso Inspection CA, not an Azure root')], {
      timings: { dns: 1, proxy: 5, tls: 15, firstByte: 25, total: 46 },
      dns: { ...dns('20.190.1.1', '20.190.1.2'), informational: true },
      tls: tls('TLSv1.2', 'CN=Contoso Inspection CA'),
      http: { status: 200, bodyBytes: 10 },
      proxy: 'http://proxy.contoso.test:3128',
    }),
  },
  {
    target: gas,
    result: result(gas, [finding('TCP_TIMEOUT', 'no answer from 20.60.1.5:443 within 10000 ms')], {
      timings: { dns: 2, connect: 10_000, total: 10_002 },
      dns: dns('20.60.1.5'),
    }),
  },
  {
    target: ntp,
    result: result(ntp, [], {
      timings: { dns: 1.5, ntp: 22.4, total: 24 },
      ntp: { offsetMs: 12.6, stratum: 2, roundTripMs: 22.4 },
    }),
  },
  {
    target: blob,
    result: result(blob, [finding('WILDCARD_UNRESOLVED', 'no storage account named; set ARCMON_ENDPOINTS_JSON')]),
  },
];

export function counts(rs: TargetResult[]): Record<Verdict, number> {
  const c: Record<Verdict, number> = { reachable: 0, degraded: 0, blocked: 0, skipped: 0 };
  for (const r of rs) c[r.result.verdict] += 1;
  return c;
}

export function cycleReport(overrides: Partial<CycleReport> = {}): CycleReport {
  return {
    cycleId: CYCLE_ID,
    site: SITE,
    cloud: 'AzureCloud',
    region: 'westeurope',
    startedAt: STARTED,
    finishedAt: '2026-11-21T10:00:10.500Z',
    durationMs: 10_500,
    results,
    counts: counts(results),
    ...overrides,
  };
}

export const openedIncident: Incident = {
  incidentId: 'inc-gas-blocked-1',
  site: SITE,
  targetId: gas.id,
  host: gas.host,
  port: gas.port,
  kind: 'blocked',
  severity: 'high',
  requirement: 'always',
  status: 'open',
  failureCode: 'TCP_TIMEOUT',
  phase: 'connect',
  message: 'no answer from 20.60.1.5:443 within 10000 ms',
  firstFailingCycleId: '2026-11-21T09:55:00.000Z-ffffff',
  lastFailingCycleId: CYCLE_ID,
  openedAt: '2026-11-21T10:00:10.500Z',
};

export const resolvedIncident: Incident = {
  incidentId: 'inc-his-blocked-0',
  site: SITE,
  targetId: his.id,
  host: his.host,
  port: his.port,
  kind: 'blocked',
  severity: 'high',
  requirement: 'always',
  status: 'resolved',
  failureCode: 'DNS_NXDOMAIN',
  phase: 'dns',
  message: 'gbl.his.arc.azure.com does not exist',
  firstFailingCycleId: '2026-11-21T09:40:00.000Z-000001',
  lastFailingCycleId: '2026-11-21T09:50:00.000Z-000002',
  openedAt: '2026-11-21T09:45:00.000Z',
  resolvedAt: '2026-11-21T10:00:10.500Z',
  resolvedCycleId: CYCLE_ID,
};

export function outcome(): RegressionOutcome {
  return {
    states: [],
    incidents: [openedIncident, resolvedIncident],
    transitions: [
      { type: 'opened', incident: openedIncident },
      { type: 'resolved', incident: resolvedIncident },
    ],
  };
}
