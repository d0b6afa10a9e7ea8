import { describe, expect, it } from 'vitest';
import type { Requirement } from '../../lib/catalog/types';
import { REQUIREMENTS } from '../../lib/catalog/types';
import {
  DEFAULT_REGRESSION_CONFIG,
  evaluateCycle,
  incidentId,
  LATENCY_BASELINE_ALPHA,
  severityFor,
} from '../../lib/monitor/regression';
import type {
  CycleReport,
  EndpointState,
  Incident,
  IncidentKind,
  IncidentSeverity,
  RegressionConfig,
  RegressionOutcome,
  TargetInfo,
  TargetResult,
} from '../../lib/monitor/types';
import { INCIDENT_KINDS } from '../../lib/monitor/types';
import { finding, settle } from '../../lib/probes/result';
import type { CertificateFacts, Finding, ProbeResult, TlsFacts, Verdict } from '../../lib/probes/types';

const SITE = 'hub-westeurope';

function endpoint(host: string, port = 443, requirement: Requirement = 'always'): TargetInfo {
  const udp = port === 123;
  return {
    id: udp ? `${host}:${port}/udp` : `${host}:${port}`,
    host,
    port,
    transport: udp ? 'udp' : 'tcp',
    hostPattern: host,
    requirement,
    scenarios: ['servers'],
    agents: ['connected-machine'],
    purpose: 'test endpoint',
    mustBePrivate: false,
  };
}

const HIS = endpoint('gbl.his.arc.azure.com');
const GAS = endpoint('agentserviceapi.guestconfiguration.azure.com');
const NTP = endpoint('time.windows.com', 123, 'conditional');

const CERT: CertificateFacts = {
  subject: 'CN=gbl.his.arc.azure.com',
  issuer: 'CN=Microsoft Azure RSA TLS Issuing CA 03',
  sans: ['gbl.his.arc.azure.com'],
  validFrom: '2026-01-01T00:00:00.000Z',
  validTo: '2026-07-01T00:00:00.000Z',
  fingerprint256: 'AA:BB',
  serialNumber: '01',
};
const TLS: TlsFacts = {
  sni: 'gbl.his.arc.azure.com',
  protocol: 'TLSv1.3',
  cipher: 'TLS_AES_256_GCM_SHA384',
  leaf: CERT,
  chain: [CERT],
  root: { ...CERT, genuine: true },
  daysToExpiry: 120,
};

/** What the probe saw at one endpoint in one cycle; facts say which phases ran. */
interface Seen {
  findings: Finding[];
  total: number;
  dns?: boolean;
  tls?: boolean;
  ntp?: boolean;
}

const ok = (total = 100): Seen => ({ findings: [], total, dns: true, tls: true });
const slow = (total: number): Seen => ({ ...ok(total) });
const refused: Seen = { findings: [finding('TCP_REFUSED', 'refused by 10.0.0.4:443')], total: 3, dns: true };
const timedOut: Seen = {
  findings: [finding('TCP_TIMEOUT', 'no answer from 20.50.1.2:443 in 10000 ms')],
  total: 10_000,
  dns: true,
};
const nxdomain: Seen = { findings: [finding('DNS_NXDOMAIN', 'gbl.his.arc.azure.com does not exist')], total: 12 };
const intercepted: Seen = {
  ...ok(),
  findings: [finding('TLS_INTERCEPTED', 'chain ends at Contoso Inspection Root CA')],
};
const nearExpiry: Seen = { ...ok(), findings: [finding('CERT_NEAR_EXPIRY', 'certificate expires in 9 days')] };
const plBypassed: Seen = {
  ...ok(),
  findings: [finding('PRIVATE_LINK_BYPASSED', 'resolved to public 20.50.1.2, expected a private address')],
};
const ntpOk: Seen = { findings: [], total: 30, dns: true, ntp: true };
const skewed: Seen = {
  ...ntpOk,
  findings: [finding('CLOCK_SKEW', 'local clock is 4210 ms ahead of time.windows.com')],
};
const skipped: Seen = {
  findings: [finding('WILDCARD_UNRESOLVED', 'no region host for *.his.arc.azure.com')],
  total: 0,
};

function probeResult(target: TargetInfo, seen: Seen, startedAt: string): ProbeResult {
  return settle({
    targetId: target.id,
    host: target.host,
    port: target.port,
    transport: target.transport,
    findings: seen.findings,
    timings: { total: seen.total },
    ...(seen.dns
      ? {
          dns: {
            addresses: [{ address: '20.50.1.2', family: 4 as const, scope: 'public' as const }],
            server: 'system',
          },
        }
      : {}),
    ...(seen.tls ? { tls: TLS } : {}),
    ...(seen.ntp ? { ntp: { offsetMs: 3, stratum: 2, roundTripMs: 20 } } : {}),
    startedAt,
  });
}

const CYCLE_ZERO = Date.parse('2026-03-01T00:00:00.000Z');
const FIVE_MINUTES = 5 * 60_000;

function cycleId(n: number): string {
  return `${new Date(CYCLE_ZERO + n * FIVE_MINUTES).toISOString()}-c${n}`;
}
function finishedAt(n: number): string {
  return new Date(CYCLE_ZERO + n * FIVE_MINUTES + 4_000).toISOString();
}

function report(n: number, observed: ReadonlyArray<readonly [TargetInfo, Seen]>): CycleReport {
  const startedAt = new Date(CYCLE_ZERO + n * FIVE_MINUTES).toISOString();
  const results: TargetResult[] = observed.map(([target, seen]) => ({
    target,
    result: probeResult(target, seen, startedAt),
  }));
  const counts: Record<Verdict, number> = { reachable: 0, degraded: 0, blocked: 0, skipped: 0 };
  for (const r of results) counts[r.result.verdict] += 1;
  return {
    cycleId: cycleId(n),
    site: SITE,
    cloud: 'AzureCloud',
    region: 'westeurope',
    startedAt,
    finishedAt: finishedAt(n),
    durationMs: 4_000,
    results,
    counts,
  };
}

/** Plays cycles 1..n through the engine the way the cycle runner does: states and open incidents carried over. */
class Monitor {
  states = new Map<string, EndpointState>();
  open = new Map<string, Incident>();
  outcomes: RegressionOutcome[] = [];

  constructor(readonly config: RegressionConfig = DEFAULT_REGRESSION_CONFIG) {}

  cycle(observed: ReadonlyArray<readonly [TargetInfo, Seen]>): RegressionOutcome {
    const outcome = evaluateCycle({
      previous: this.states,
      openIncidents: [...this.open.values()],
      report: report(this.outcomes.length + 1, observed),
      config: this.config,
    });
    for (const state of outcome.states) this.states.set(state.targetId, state);
    for (const incident of outcome.incidents) {
      if (incident.status === 'open') this.open.set(incident.incidentId, incident);
      else this.open.delete(incident.incidentId);
    }
    this.outcomes.push(outcome);
    return outcome;
  }

  /** One endpoint through a sequence of cycles; returns the outcome of each. */
  play(target: TargetInfo, sequence: readonly Seen[]): RegressionOutcome[] {
    return sequence.map((seen) => this.cycle([[target, seen]]));
  }

  state(target: TargetInfo): EndpointState {
    const state = this.states.get(target.id);
    if (!state) throw new Error(`no state for ${target.id}`);
    return state;
  }

  openKinds(target: TargetInfo): IncidentKind[] {
    return [...this.open.values()].filter((i) => i.targetId === target.id).map((i) => i.kind);
  }
}

const transitionsOf = (outcomes: readonly RegressionOutcome[]) =>
  outcomes.map((o) => o.transitions.map((t) => `${t.type}:${t.incident.kind}`));

const repeat = <T>(n: number, item: T): T[] => Array.from({ length: n }, () => item);

describe('incident hysteresis', () => {
  it.each([1, 2, 3, 5])('opens a blocked incident after exactly %i failing cycles, not one fewer', (openAfter) => {
    const monitor = new Monitor({ ...DEFAULT_REGRESSION_CONFIG, openAfter });
    const outcomes = monitor.play(HIS, repeat(openAfter, refused));

    expect(outcomes.slice(0, -1).flatMap((o) => o.transitions)).toEqual([]);
    const last = outcomes.at(-1);
    expect(last?.transitions).toHaveLength(1);
    const transition = last?.transitions[0];
    expect(transition?.type).toBe('opened');
    expect(transition?.incident).toEqual({
      incidentId: incidentId(SITE, HIS.id, 'blocked', cycleId(1)),
      site: SITE,
      targetId: HIS.id,
      host: HIS.host,
      port: 443,
      kind: 'blocked',
      severity: 'high',
      requirement: 'always',
      status: 'open',
      failureCode: 'TCP_REFUSED',
      phase: 'connect',
      message: 'refused by 10.0.0.4:443',
      firstFailingCycleId: cycleId(1),
      lastFailingCycleId: cycleId(openAfter),
      openedAt: finishedAt(openAfter),
    });
    expect(last?.incidents).toEqual([transition?.incident]);
  });

  it('does not repeat the opening while the endpoint stays blocked; it moves the last failing cycle and reason', () => {
    const monitor = new Monitor();
    const outcomes = monitor.play(HIS, [refused, refused, refused, timedOut, timedOut]);

    expect(transitionsOf(outcomes)).toEqual([[], ['opened:blocked'], [], [], []]);
    const id = incidentId(SITE, HIS.id, 'blocked', cycleId(1));
    expect(outcomes[2]?.incidents.map((i) => [i.incidentId, i.lastFailingCycleId, i.failureCode])).toEqual([
      [id, cycleId(3), 'TCP_REFUSED'],
    ]);
    expect(outcomes[4]?.incidents).toEqual([
      expect.objectContaining({
        incidentId: id,
        status: 'open',
        firstFailingCycleId: cycleId(1),
        lastFailingCycleId: cycleId(5),
        openedAt: finishedAt(2),
        failureCode: 'TCP_TIMEOUT',
        message: 'no answer from 20.50.1.2:443 in 10000 ms',
      }),
    ]);
  });

  it.each([1, 2, 4])('resolves after exactly %i passing cycles', (resolveAfter) => {
    const monitor = new Monitor({ ...DEFAULT_REGRESSION_CONFIG, resolveAfter });
    monitor.play(HIS, [refused, refused]);
    const recovery = monitor.play(HIS, repeat(resolveAfter, ok()));

    expect(recovery.slice(0, -1).flatMap((o) => [...o.transitions, ...o.incidents])).toEqual([]);
    expect(monitor.openKinds(HIS)).toEqual([]);
    const resolvedIn = 2 + resolveAfter;
    expect(recovery.at(-1)?.transitions).toEqual([
      {
        type: 'resolved',
        incident: expect.objectContaining({
          kind: 'blocked',
          status: 'resolved',
          resolvedAt: finishedAt(resolvedIn),
          resolvedCycleId: cycleId(resolvedIn),
        }) as Incident,
      },
    ]);
  });

  it('carries the first and last failing cycle ids and the opening time on the resolved incident', () => {
    const monitor = new Monitor();
    const outcomes = monitor.play(HIS, [ok(), refused, refused, refused, refused, ok(), ok()]);

    const resolved = outcomes[6]?.transitions[0];
    expect(resolved?.type).toBe('resolved');
    expect(resolved?.incident).toEqual({
      incidentId: incidentId(SITE, HIS.id, 'blocked', cycleId(2)),
      site: SITE,
      targetId: HIS.id,
      host: HIS.host,
      port: 443,
      kind: 'blocked',
      severity: 'high',
      requirement: 'always',
      status: 'resolved',
      failureCode: 'TCP_REFUSED',
      phase: 'connect',
      message: 'refused by 10.0.0.4:443',
      firstFailingCycleId: cycleId(2),
      lastFailingCycleId: cycleId(5),
      openedAt: finishedAt(3),
      resolvedAt: finishedAt(7),
      resolvedCycleId: cycleId(7),
    });
  });

  it('does not open when a passing cycle interrupts the failing streak, and dates the incident from the new streak', () => {
    const monitor = new Monitor({ ...DEFAULT_REGRESSION_CONFIG, openAfter: 3 });
    const outcomes = monitor.play(HIS, [refused, refused, ok(), refused, refused, refused]);

    expect(transitionsOf(outcomes)).toEqual([[], [], [], [], [], ['opened:blocked']]);
    expect(outcomes[5]?.transitions[0]?.incident.firstFailingCycleId).toBe(cycleId(4));
    expect(outcomes[5]?.transitions[0]?.incident.incidentId).toBe(incidentId(SITE, HIS.id, 'blocked', cycleId(4)));
  });

  it('never opens on an endpoint that flaps fail/pass with openAfter 2', () => {
    const monitor = new Monitor();
    const outcomes = monitor.play(HIS, [refused, ok(), refused, ok(), nxdomain, ok(), refused, ok(), refused]);

    expect(outcomes.flatMap((o) => [...o.transitions, ...o.incidents])).toEqual([]);
    expect(monitor.state(HIS).conditions.blocked).toEqual({ failing: 1, passing: 0, firstFailingCycleId: cycleId(9) });
  });

  it('keeps an open incident open while the endpoint flaps pass/fail with resolveAfter 2', () => {
    const monitor = new Monitor();
    const outcomes = monitor.play(HIS, [refused, refused, ok(), refused, ok(), refused, ok()]);

    expect(transitionsOf(outcomes)).toEqual([[], ['opened:blocked'], [], [], [], [], []]);
    expect(monitor.openKinds(HIS)).toEqual(['blocked']);
    expect([...monitor.open.values()][0]?.lastFailingCycleId).toBe(cycleId(6));
  });

  it('applies a custom configuration: open after 3, resolve after 1', () => {
    const monitor = new Monitor({ ...DEFAULT_REGRESSION_CONFIG, openAfter: 3, resolveAfter: 1 });
    const outcomes = monitor.play(HIS, [refused, refused, refused, refused, ok(), refused, refused, ok()]);

    expect(transitionsOf(outcomes)).toEqual([[], [], ['opened:blocked'], [], ['resolved:blocked'], [], [], []]);
  });

  it('tracks endpoints independently within one cycle', () => {
    const monitor = new Monitor();
    monitor.cycle([
      [HIS, refused],
      [GAS, ok()],
    ]);
    const second = monitor.cycle([
      [HIS, refused],
      [GAS, refused],
    ]);

    expect(second.transitions.map((t) => [t.type, t.incident.targetId])).toEqual([['opened', HIS.id]]);
    expect(second.states.map((s) => [s.targetId, s.consecutiveFailures])).toEqual([
      [HIS.id, 2],
      [GAS.id, 1],
    ]);
  });
});

describe('incident kinds', () => {
  it.each([
    { kind: 'tls-intercepted', target: HIS, seen: intercepted, code: 'TLS_INTERCEPTED', severity: 'high' },
    { kind: 'cert-near-expiry', target: HIS, seen: nearExpiry, code: 'CERT_NEAR_EXPIRY', severity: 'medium' },
    { kind: 'clock-skew', target: NTP, seen: skewed, code: 'CLOCK_SKEW', severity: 'medium' },
  ] as const)(
    '$kind opens its own incident while the endpoint is only degraded',
    ({ kind, target, seen, code, severity }) => {
      const monitor = new Monitor();
      const outcomes = monitor.play(target, [seen, seen]);

      expect(outcomes[1]?.states[0]?.verdict).toBe('degraded');
      expect(transitionsOf(outcomes)).toEqual([[], [`opened:${kind}`]]);
      expect(outcomes[1]?.transitions[0]?.incident).toEqual(
        expect.objectContaining({
          incidentId: incidentId(SITE, target.id, kind, cycleId(1)),
          kind,
          failureCode: code,
          phase: seen.findings[0]?.phase,
          message: seen.findings[0]?.message,
          severity,
        }),
      );
    },
  );

  it('private-link bypass opens its own incident, not a second "blocked" one for the same cause', () => {
    const monitor = new Monitor();
    const outcomes = monitor.play(HIS, [plBypassed, plBypassed]);

    expect(outcomes[1]?.states[0]?.verdict).toBe('blocked');
    expect(transitionsOf(outcomes)).toEqual([[], ['opened:private-link-bypassed']]);
    const [bypassed] = outcomes[1]?.transitions.map((t) => t.incident) ?? [];
    expect(bypassed?.incidentId).toBe(incidentId(SITE, HIS.id, 'private-link-bypassed', cycleId(1)));
    expect(bypassed?.failureCode).toBe('PRIVATE_LINK_BYPASSED');
  });

  it('a bypassed endpoint that is also refused opens both kinds', () => {
    const both: Seen = {
      ...plBypassed,
      findings: [...plBypassed.findings, finding('TCP_REFUSED', 'refused by 20.50.1.2:443')],
    };
    const monitor = new Monitor();
    const outcomes = monitor.play(HIS, [both, both]);
    expect(transitionsOf(outcomes)).toEqual([[], ['opened:blocked', 'opened:private-link-bypassed']]);
    expect(outcomes[1]?.transitions[0]?.incident.failureCode).toBe('TCP_REFUSED');
  });

  it('opens one incident per finding when a result carries several', () => {
    const both: Seen = { ...ok(), findings: [...intercepted.findings, ...nearExpiry.findings] };
    const monitor = new Monitor();
    const outcomes = monitor.play(HIS, [both, both]);

    expect(transitionsOf(outcomes)).toEqual([[], ['opened:tls-intercepted', 'opened:cert-near-expiry']]);
  });

  it('resolves each kind on its own schedule', () => {
    const monitor = new Monitor();
    const both: Seen = { ...ok(), findings: [...intercepted.findings, ...nearExpiry.findings] };
    const outcomes = monitor.play(HIS, [both, both, intercepted, intercepted, ok(), ok()]);

    expect(transitionsOf(outcomes)).toEqual([
      [],
      ['opened:tls-intercepted', 'opened:cert-near-expiry'],
      [],
      ['resolved:cert-near-expiry'],
      [],
      ['resolved:tls-intercepted'],
    ]);
  });

  it('does not resolve an interception incident when the endpoint becomes blocked before TLS', () => {
    const monitor = new Monitor();
    const outcomes = monitor.play(HIS, [intercepted, intercepted, refused, refused, refused, ok(), ok()]);

    expect(transitionsOf(outcomes)).toEqual([
      [],
      ['opened:tls-intercepted'],
      [],
      ['opened:blocked'],
      [],
      [],
      ['resolved:blocked', 'resolved:tls-intercepted'],
    ]);
    expect(monitor.state(HIS).conditions['tls-intercepted']).toEqual({ failing: 0, passing: 2 });
  });

  it('counts a blocked cycle whose TLS phase ran as proof the interception is gone', () => {
    const tlsThenHttpTimeout: Seen = { ...ok(), findings: [finding('HTTP_TIMEOUT', 'no HTTP response in 10000 ms')] };
    const monitor = new Monitor();
    const outcomes = monitor.play(HIS, [intercepted, intercepted, tlsThenHttpTimeout, tlsThenHttpTimeout]);

    expect(transitionsOf(outcomes)).toEqual([
      [],
      ['opened:tls-intercepted'],
      [],
      ['opened:blocked', 'resolved:tls-intercepted'],
    ]);
  });
});

describe('latency regressions', () => {
  it.each([
    { name: 'ratio exceeded, floor not', baseline: 50, total: 200, fires: false },
    { name: 'floor exceeded, ratio not', baseline: 1000, total: 1500, fires: false },
    { name: 'exactly at ratio and floor', baseline: 125, total: 375, fires: false },
    { name: 'both exceeded', baseline: 100, total: 400, fires: true },
    { name: 'both exceeded by far', baseline: 95, total: 812, fires: true },
  ])('$name: baseline $baseline ms, total $total ms → fires $fires', ({ baseline, total, fires }) => {
    const monitor = new Monitor();
    const outcomes = monitor.play(HIS, [ok(baseline), slow(total), slow(total)]);

    expect(transitionsOf(outcomes)).toEqual([[], [], fires ? ['opened:latency'] : []]);
  });

  it('describes the regression in the incident and rates it by requirement', () => {
    const monitor = new Monitor();
    const outcomes = monitor.play(HIS, [ok(95), slow(812), slow(812)]);

    const incident = outcomes[2]?.transitions[0]?.incident;
    expect(incident?.message).toBe('total 812 ms vs baseline 95 ms (×8.5)');
    expect(incident?.severity).toBe('medium');
    expect(incident).not.toHaveProperty('failureCode');
    expect(incident).not.toHaveProperty('phase');
  });

  it('does not let a regression teach the baseline, so recovery resolves against the old one', () => {
    const monitor = new Monitor();
    const outcomes = monitor.play(HIS, [ok(100), ...repeat(6, slow(800)), ok(110), ok(110)]);

    expect(outcomes.slice(0, 7).map((o) => o.states[0]?.baselineLatencyMs)).toEqual(repeat(7, 100));
    expect(outcomes[6]?.states[0]?.lastLatencyMs).toBe(800);
    expect(transitionsOf(outcomes).flat()).toEqual(['opened:latency', 'resolved:latency']);
    expect(outcomes[8]?.transitions[0]?.incident.resolvedCycleId).toBe(cycleId(9));
  });

  it('follows healthy latency with an EWMA of weight 0.2, set by the first healthy cycle', () => {
    const monitor = new Monitor();
    const outcomes = monitor.play(HIS, [refused, ok(100), ok(200), ok(200)]);

    expect(LATENCY_BASELINE_ALPHA).toBe(0.2);
    const baselines = outcomes.map((o) => o.states[0]?.baselineLatencyMs);
    expect(baselines[0]).toBeUndefined();
    expect(baselines.slice(1)).toEqual([100, expect.closeTo(120, 9), expect.closeTo(136, 9)]);
  });

  it('leaves latency unjudged while blocked: a timeout neither opens latency nor moves the baseline', () => {
    const monitor = new Monitor();
    const outcomes = monitor.play(HIS, [ok(100), ok(100), timedOut, timedOut, timedOut]);

    expect(transitionsOf(outcomes)).toEqual([[], [], [], ['opened:blocked'], []]);
    expect(monitor.state(HIS).baselineLatencyMs).toBe(100);
    expect(monitor.state(HIS).lastLatencyMs).toBe(10_000);
    expect(monitor.state(HIS).conditions.latency).toEqual({ failing: 0, passing: 1 });
  });
});

describe('endpoint state', () => {
  it('records verdict, failure, consecutive counts and when the verdict began', () => {
    const monitor = new Monitor();
    const outcomes = monitor.play(HIS, [ok(100), ok(90), refused, refused, intercepted]);
    const states = outcomes.map((o) => o.states[0]);

    expect(states.map((s) => [s?.verdict, s?.consecutiveFailures, s?.consecutiveSuccesses, s?.since])).toEqual([
      ['reachable', 0, 1, finishedAt(1)],
      ['reachable', 0, 2, finishedAt(1)],
      ['blocked', 1, 0, finishedAt(3)],
      ['blocked', 2, 0, finishedAt(3)],
      ['degraded', 0, 1, finishedAt(5)],
    ]);
    expect(states[1]).toEqual({
      site: SITE,
      targetId: HIS.id,
      host: HIS.host,
      port: 443,
      requirement: 'always',
      verdict: 'reachable',
      consecutiveFailures: 0,
      consecutiveSuccesses: 2,
      since: finishedAt(1),
      baselineLatencyMs: expect.closeTo(98, 9) as number,
      lastLatencyMs: 90,
      lastCycleId: cycleId(2),
      lastCheckedAt: finishedAt(2),
      conditions: {
        blocked: { failing: 0, passing: 2 },
        'tls-intercepted': { failing: 0, passing: 2 },
        'private-link-bypassed': { failing: 0, passing: 2 },
        latency: { failing: 0, passing: 1 },
        'cert-near-expiry': { failing: 0, passing: 2 },
        'clock-skew': { failing: 0, passing: 2 },
      },
    });
    expect(states[3]).toEqual(
      expect.objectContaining({ failureCode: 'TCP_REFUSED', phase: 'connect', message: 'refused by 10.0.0.4:443' }),
    );
    expect(states[3]?.conditions.blocked).toEqual({ failing: 2, passing: 0, firstFailingCycleId: cycleId(3) });
    expect(states[4]?.failureCode).toBe('TLS_INTERCEPTED');
  });

  it('drops the failure fields once the endpoint is reachable again', () => {
    const monitor = new Monitor();
    const outcomes = monitor.play(HIS, [refused, ok()]);

    expect(outcomes[1]?.states[0]).not.toHaveProperty('failureCode');
    expect(outcomes[1]?.states[0]).not.toHaveProperty('message');
  });

  it('leaves endpoints absent from the cycle, and their open incidents, out of the outcome', () => {
    const monitor = new Monitor();
    monitor.cycle([
      [HIS, refused],
      [GAS, refused],
    ]);
    monitor.cycle([
      [HIS, refused],
      [GAS, refused],
    ]);
    const gasState = monitor.state(GAS);
    const third = monitor.cycle([[HIS, ok()]]);
    const fourth = monitor.cycle([[HIS, ok()]]);

    expect([...third.states, ...fourth.states].map((s) => s.targetId)).toEqual([HIS.id, HIS.id]);
    expect(fourth.transitions.map((t) => [t.type, t.incident.targetId])).toEqual([['resolved', HIS.id]]);
    expect([...third.incidents, ...fourth.incidents].map((i) => i.targetId)).toEqual([HIS.id]);
    expect(monitor.state(GAS)).toBe(gasState);
    expect(monitor.openKinds(GAS)).toEqual(['blocked']);
  });
});

describe('skipped endpoints', () => {
  it('change no counter and open nothing, but show the verdict', () => {
    const monitor = new Monitor();
    monitor.play(HIS, [ok(100), refused]);
    const before = monitor.state(HIS);
    const [skippedOutcome] = monitor.play(HIS, [skipped, skipped, skipped]);
    const after = monitor.state(HIS);

    expect(skippedOutcome?.transitions).toEqual([]);
    expect(skippedOutcome?.incidents).toEqual([]);
    expect(after).toEqual({
      ...before,
      verdict: 'skipped',
      failureCode: 'WILDCARD_UNRESOLVED',
      phase: 'config',
      message: 'no region host for *.his.arc.azure.com',
      since: finishedAt(3),
      lastCycleId: cycleId(5),
      lastCheckedAt: finishedAt(5),
    });
  });

  it('neither break a failing streak nor resolve an open incident', () => {
    const monitor = new Monitor();
    const outcomes = monitor.play(HIS, [refused, skipped, refused, skipped, skipped, ok(), skipped, ok()]);

    expect(transitionsOf(outcomes)).toEqual([[], [], ['opened:blocked'], [], [], [], [], ['resolved:blocked']]);
  });

  it('open nothing when a new endpoint is skipped from its first cycle', () => {
    const monitor = new Monitor({ ...DEFAULT_REGRESSION_CONFIG, openAfter: 1 });
    const [outcome] = monitor.play(HIS, [skipped]);

    expect(outcome?.transitions).toEqual([]);
    expect(outcome?.states[0]).toEqual(
      expect.objectContaining({ verdict: 'skipped', consecutiveFailures: 0, consecutiveSuccesses: 0, conditions: {} }),
    );
  });
});

describe('severityFor', () => {
  const expected: Record<Requirement, Record<IncidentKind, IncidentSeverity>> = {
    always: {
      blocked: 'high',
      'tls-intercepted': 'high',
      'private-link-bypassed': 'high',
      latency: 'medium',
      'cert-near-expiry': 'medium',
      'clock-skew': 'medium',
    },
    'always-unless-private-endpoints': {
      blocked: 'high',
      'tls-intercepted': 'high',
      'private-link-bypassed': 'high',
      latency: 'medium',
      'cert-near-expiry': 'medium',
      'clock-skew': 'medium',
    },
    'connect-disconnect': {
      blocked: 'medium',
      'tls-intercepted': 'medium',
      'private-link-bypassed': 'medium',
      latency: 'low',
      'cert-near-expiry': 'medium',
      'clock-skew': 'medium',
    },
    'ssh-admin-center': {
      blocked: 'medium',
      'tls-intercepted': 'medium',
      'private-link-bypassed': 'medium',
      latency: 'low',
      'cert-near-expiry': 'medium',
      'clock-skew': 'medium',
    },
    conditional: {
      blocked: 'medium',
      'tls-intercepted': 'medium',
      'private-link-bypassed': 'medium',
      latency: 'low',
      'cert-near-expiry': 'medium',
      'clock-skew': 'medium',
    },
    installation: {
      blocked: 'low',
      'tls-intercepted': 'low',
      'private-link-bypassed': 'low',
      latency: 'low',
      'cert-near-expiry': 'low',
      'clock-skew': 'low',
    },
    optional: {
      blocked: 'low',
      'tls-intercepted': 'low',
      'private-link-bypassed': 'low',
      latency: 'low',
      'cert-near-expiry': 'low',
      'clock-skew': 'low',
    },
  };
  const cases = REQUIREMENTS.flatMap((requirement) =>
    INCIDENT_KINDS.map((kind) => ({ requirement, kind, severity: expected[requirement][kind] })),
  );

  it.each(cases)('$requirement + $kind → $severity', ({ requirement, kind, severity }) => {
    expect(severityFor(requirement, kind)).toBe(severity);
  });

  it.each([
    ['installation', 'low'],
    ['connect-disconnect', 'medium'],
    ['always-unless-private-endpoints', 'high'],
  ] as const)('rates a blocked %s endpoint %s on the incident itself', (requirement, severity) => {
    const target = endpoint('login.microsoftonline.com', 443, requirement);
    const outcomes = new Monitor().play(target, [refused, refused]);

    expect(outcomes[1]?.transitions[0]?.incident.severity).toBe(severity);
    expect(outcomes[1]?.transitions[0]?.incident.requirement).toBe(requirement);
  });
});

describe('incidentId', () => {
  /** Characters Azure Table keys forbid: `/ \ # ?` and control characters (U+0000–U+001F, U+007F–U+009F). */
  const rowKeyUnsafe = (key: string) =>
    [...key].filter((ch) => {
      const code = ch.codePointAt(0) ?? 0;
      return '/\\#?'.includes(ch) || code <= 0x1f || (code >= 0x7f && code <= 0x9f);
    });

  it('is the same for the same inputs and differs when any part differs', () => {
    const id = incidentId(SITE, HIS.id, 'blocked', cycleId(1));
    expect(incidentId(SITE, HIS.id, 'blocked', cycleId(1))).toBe(id);
    const variants = [
      incidentId('hub-northeurope', HIS.id, 'blocked', cycleId(1)),
      incidentId(SITE, GAS.id, 'blocked', cycleId(1)),
      incidentId(SITE, HIS.id, 'latency', cycleId(1)),
      incidentId(SITE, HIS.id, 'blocked', cycleId(2)),
    ];
    expect(new Set([id, ...variants]).size).toBe(5);
  });

  it('keeps the readable parts for people', () => {
    expect(incidentId(SITE, HIS.id, 'blocked', cycleId(1))).toMatch(
      /^blocked\|gbl\.his\.arc\.azure\.com:443\|hub-westeurope\|2026-03-01T00:05:00\.000Z-c1\|[0-9a-f]{16}$/,
    );
  });

  it('checks row keys with a rule that does catch the forbidden characters', () => {
    expect(rowKeyUnsafe('a/b\\c#d?e\u0000f\u007fg')).toEqual(['/', '\\', '#', '?', '\u0000', '\u007f']);
  });

  it.each([
    ['slashes and hashes', 'site/a#b?c\\d', 'host:443/udp'],
    ['control characters', 'site\u0000\u0007\n\t', 'host\u007f:443'],
    ['very long parts', 'x'.repeat(500), `${'h'.repeat(300)}:443`],
  ])('is a safe Azure Table row key of at most 200 characters with %s', (_name, site, targetId) => {
    const id = incidentId(site, targetId, 'tls-intercepted', cycleId(1));
    expect(rowKeyUnsafe(id)).toEqual([]);
    expect(id.length).toBeLessThanOrEqual(200);
    expect(id).toMatch(/\|[0-9a-f]{16}$/);
  });

  it('stays distinct when sanitising or truncation make the readable parts equal', () => {
    expect(incidentId('a/b', HIS.id, 'blocked', cycleId(1))).not.toBe(incidentId('a#b', HIS.id, 'blocked', cycleId(1)));
    const long = 'x'.repeat(300);
    expect(incidentId(SITE, `${long}1`, 'blocked', cycleId(1))).not.toBe(
      incidentId(SITE, `${long}2`, 'blocked', cycleId(1)),
    );
  });
});

describe('evaluateCycle purity', () => {
  function scenario(): Parameters<typeof evaluateCycle>[0] {
    const monitor = new Monitor();
    monitor.cycle([
      [HIS, refused],
      [GAS, ok(100)],
      [NTP, skewed],
    ]);
    monitor.cycle([
      [HIS, refused],
      [GAS, slow(900)],
      [NTP, skewed],
    ]);
    return {
      previous: monitor.states,
      openIncidents: [...monitor.open.values()],
      report: report(3, [
        [HIS, ok()],
        [GAS, slow(900)],
        [NTP, skewed],
      ]),
      config: DEFAULT_REGRESSION_CONFIG,
    };
  }

  it('returns deep-equal outcomes for the same input and leaves the input untouched', () => {
    const input = scenario();
    const snapshot = structuredClone({ ...input, previous: [...input.previous] });
    const first = evaluateCycle(input);
    const second = evaluateCycle(scenario());

    expect(second).toEqual(first);
    expect(first.transitions.map((t) => `${t.type}:${t.incident.kind}`)).toEqual(['opened:latency']);
    expect(first.incidents.map((i) => `${i.status}:${i.kind}`)).toEqual(['open:latency', 'open:clock-skew']);
    expect({ ...input, previous: [...input.previous] }).toEqual(snapshot);
  });

  it("ignores open incidents of another site: this site's still-failing clock skew opens its own", () => {
    const input = scenario();
    const elsewhere = input.openIncidents.map((i) => ({ ...i, site: 'hub-northeurope' }));
    const outcome = evaluateCycle({ ...input, openIncidents: elsewhere });

    expect(outcome.transitions.map((t) => `${t.type}:${t.incident.kind}:${t.incident.site}`)).toEqual([
      `opened:latency:${SITE}`,
      `opened:clock-skew:${SITE}`,
    ]);
  });

  it('rejects a report with two results for one target', () => {
    const input = scenario();
    const duplicated = report(3, [
      [HIS, ok()],
      [HIS, refused],
    ]);

    expect(() => evaluateCycle({ ...input, report: duplicated })).toThrow(
      `cycle ${cycleId(3)} has more than one result for gbl.his.arc.azure.com:443`,
    );
  });
});
