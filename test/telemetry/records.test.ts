import type { RegressionOutcome } from '../../lib/monitor/types';
import { describe, expect, it } from 'vitest';
import { finding, settle } from '../../lib/probes/result';
import type { ProbeResult } from '../../lib/probes/types';
import { EVENTS, METRICS } from '../../lib/telemetry/names';
import {
  availabilityId,
  availabilityMessage,
  availabilityRecord,
  cycleEvent,
  cycleTelemetry,
  incidentEvent,
  latencyMetrics,
  redactProxy,
  redactSecrets,
} from '../../lib/telemetry/records';
import {
  CYCLE_ID,
  SITE,
  blob,
  cycleReport,
  gas,
  his,
  login,
  ntp,
  openedIncident,
  outcome,
  resolvedIncident,
  results,
} from './fixtures';

const probe = (rest: Partial<ProbeResult>, findings = rest.findings ?? []): ProbeResult =>
  settle({
    targetId: 'h:443',
    host: 'h',
    port: 443,
    transport: 'tcp',
    timings: { total: 123.4 },
    startedAt: '2026-11-21T10:00:00.000Z',
    ...rest,
    findings,
  });

describe('availability records', () => {
  it('reports a reachable HTTPS target with its facts as dimensions', () => {
    const [hisResult] = results;
    expect(availabilityRecord(cycleReport(), hisResult!)).toEqual({
      id: availabilityId(CYCLE_ID, his.id),
      name: 'gbl.his.arc.azure.com:443',
      runLocation: SITE,
      success: true,
      duration: 65,
      message: 'reachable (HTTP 400 in 65 ms)',
      properties: {
        site: SITE,
        cloud: 'AzureCloud',
        region: 'westeurope',
        scenario: 'servers,onboarding',
        whenRequired: 'always',
        verdict: 'reachable',
        addresses: '20.50.1.10',
        cycleId: CYCLE_ID,
        hostPattern: '*.his.arc.azure.com',
        tlsProtocol: 'TLSv1.3',
      },
    });
  });

  it('counts a degraded path as available and names the interception and the proxy', () => {
    const record = availabilityRecord(cycleReport(), results[1]!);
    expect(record).toMatchObject({
      name: login.id,
      success: true,
      message: 'chain ends at Contoso Inspection CA, not an Azure root',
      properties: {
        verdict: 'degraded',
        failureCode: 'TLS_INTERCEPTED',
        phase: 'tls',
        proxy: 'http://proxy.contoso.test:3128',
        addresses: '20.190.1.1,20.190.1.2',
        interceptedBy: 'CN=Contoso Inspection CA',
      },
    });
  });

  it('reports a blocked target as failed with the finding that decided it', () => {
    expect(availabilityRecord(cycleReport(), results[2]!)).toMatchObject({
      name: gas.id,
      success: false,
      duration: 10_002,
      message: 'no answer from 20.60.1.5:443 within 10000 ms',
      properties: { verdict: 'blocked', failureCode: 'TCP_TIMEOUT', phase: 'connect' },
    });
  });

  it("carries the monitor's count of blocked cycles, which the blocked-endpoint alert compares with ARCMON_OPEN_AFTER", () => {
    const base = outcome();
    const blockedState = { targetId: gas.id, consecutiveFailures: 3 } as RegressionOutcome['states'][number];
    const reachableState = { targetId: his.id, consecutiveFailures: 0 } as RegressionOutcome['states'][number];
    const sent = cycleTelemetry(
      cycleReport(),
      { ...base, states: [blockedState, reachableState] },
      { pastDue: false, openIncidents: 1 },
    ).availability;
    const byName = new Map(sent.map((a) => [a.name, a.properties]));
    expect(byName.get(gas.id)?.blockedCycles).toBe('3');
    expect(byName.get(his.id)?.blockedCycles).toBe('0');
    // No state (the store could not be read, so nothing was judged): no count, and the alert cannot fire on it.
    expect(byName.get(login.id)).not.toHaveProperty('blockedCycles');
  });

  it('sends nothing for a skipped wildcard: it was not tested', () => {
    expect(availabilityRecord(cycleReport(), results[4]!)).toBeUndefined();
    expect(
      cycleTelemetry(cycleReport(), outcome(), { pastDue: false, openIncidents: 1 }).availability.map((a) => a.name),
    ).toEqual([his.id, login.id, gas.id, ntp.id]);
    expect(blob.id).toBe('*.blob.core.windows.net:443');
  });

  it.each([
    ['HTTP', probe({ http: { status: 404, bodyBytes: 0 } }), 'reachable (HTTP 404 in 123 ms)'],
    [
      'NTP',
      probe({ transport: 'udp', ntp: { offsetMs: -40.6, stratum: 1, roundTripMs: 20 } }),
      'reachable (NTP stratum 1, offset -41 ms, in 123 ms)',
    ],
    ['plain TCP', probe({}), 'reachable (connected in 123 ms)'],
    ['a failure', probe({}, [finding('TCP_REFUSED', 'refused by 10.0.0.4:443')]), 'refused by 10.0.0.4:443'],
  ])('words the message for %s', (_, result, message) => {
    expect(availabilityMessage(result)).toBe(message);
  });

  it('gives each cycle and target its own id, and the same id when a cycle is reported again', () => {
    const ids = new Set([
      availabilityId(CYCLE_ID, his.id),
      availabilityId(CYCLE_ID, gas.id),
      availabilityId('2026-11-21T10:05:00.000Z-d4e5f6', his.id),
    ]);
    expect(ids.size).toBe(3);
    expect(availabilityId(CYCLE_ID, his.id)).toBe(availabilityId(CYCLE_ID, his.id));
    expect(availabilityId(CYCLE_ID, his.id)).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('events', () => {
  it('turns an opened incident into EndpointRegressed with its incident properties', () => {
    expect(incidentEvent('opened', openedIncident)).toEqual({
      name: EVENTS.regressed,
      properties: {
        incidentId: 'inc-gas-blocked-1',
        site: SITE,
        endpoint: gas.id,
        kind: 'blocked',
        severity: 'high',
        whenRequired: 'always',
        failureCode: 'TCP_TIMEOUT',
        phase: 'connect',
        message: 'no answer from 20.60.1.5:443 within 10000 ms',
        firstFailingCycleId: '2026-11-21T09:55:00.000Z-ffffff',
        lastFailingCycleId: CYCLE_ID,
        openedAt: '2026-11-21T10:00:10.500Z',
      },
    });
  });

  it('turns a resolved incident into EndpointRecovered with the time it resolved', () => {
    expect(incidentEvent('resolved', resolvedIncident)).toMatchObject({
      name: EVENTS.recovered,
      properties: { endpoint: his.id, resolvedAt: '2026-11-21T10:00:10.500Z', failureCode: 'DNS_NXDOMAIN' },
    });
  });

  it('sends one MonitorCycle event with the counts', () => {
    expect(cycleEvent(cycleReport(), { pastDue: true, openIncidents: 3 })).toEqual({
      name: EVENTS.cycle,
      properties: { site: SITE, cloud: 'AzureCloud', region: 'westeurope', cycleId: CYCLE_ID, pastDue: 'true' },
      measurements: {
        durationMs: 10_500,
        targets: 5,
        reachable: 2,
        degraded: 1,
        blocked: 1,
        skipped: 1,
        openIncidents: 3,
      },
    });
  });
});

describe('latency metrics', () => {
  it('records every phase that ran, per site and endpoint', () => {
    expect(latencyMetrics(cycleReport(), results[0]!)).toEqual(
      [
        [METRICS.dns, 3.2],
        [METRICS.connect, 10.4],
        [METRICS.tls, 20.1],
        [METRICS.firstByte, 30.7],
        [METRICS.total, 64.9],
      ].map(([name, value]) => ({ name, value, properties: { site: SITE, endpoint: his.id } })),
    );
    expect(latencyMetrics(cycleReport(), results[3]!).map((m) => m.name)).toEqual([
      METRICS.dns,
      METRICS.ntp,
      METRICS.total,
    ]);
  });

  it('records nothing for a blocked target: time to a timeout is not latency', () => {
    expect(latencyMetrics(cycleReport(), results[2]!)).toEqual([]);
    expect(latencyMetrics(cycleReport(), results[4]!)).toEqual([]);
  });
});

describe('secrets', () => {
  it.each([
    [
      'proxy URL with credentials',
      'CONNECT refused by http://alice:s3cret@proxy:3128',
      'CONNECT refused by http://proxy:3128',
    ],
    [
      'storage connection string',
      'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc123==;',
      'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=[redacted];',
    ],
    [
      'SAS query',
      'GET https://a.blob.core.windows.net/c?sv=2024&sig=AbC%2Fd&se=1',
      'GET https://a.blob.core.windows.net/c?sv=2024&sig=[redacted]&se=1',
    ],
    ['bearer token', 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc', 'Authorization: Bearer [redacted]'],
    ['proxy basic auth', 'Proxy-Authorization: Basic YWxpY2U6czNjcmV0', 'Proxy-Authorization: Basic [redacted]'],
    ['ordinary text', 'no answer from 20.60.1.5:443 within 10000 ms', 'no answer from 20.60.1.5:443 within 10000 ms'],
  ])('removes a %s', (_, text, expected) => {
    expect(redactSecrets(text)).toBe(expected);
  });

  it('keeps only scheme, host and port of a proxy', () => {
    expect(redactProxy('http://alice:s3cret@proxy.contoso.test:3128/path?token=x')).toBe(
      'http://proxy.contoso.test:3128',
    );
  });

  it('redacts what a probe let through, in messages and dimensions', () => {
    const [first] = results;
    const leaky = {
      ...first!,
      result: probe({ proxy: 'http://alice:s3cret@proxy.contoso.test:3128' }, [
        finding('PROXY_AUTH_REQUIRED', 'proxy http://alice:s3cret@proxy.contoso.test:3128 answered 407'),
      ]),
    };
    const record = availabilityRecord(cycleReport(), leaky);
    expect(JSON.stringify(record)).not.toContain('s3cret');
    expect(record?.message).toBe('proxy http://proxy.contoso.test:3128 answered 407');
    expect(record?.properties.proxy).toBe('http://proxy.contoso.test:3128');
  });
});
