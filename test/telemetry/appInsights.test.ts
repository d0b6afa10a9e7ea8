import { readdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationManager } from '../../node_modules/@azure/monitor-opentelemetry-exporter/dist/commonjs/_configuration/configurationManager.js';
import { createAppInsightsTelemetry } from '../../lib/telemetry/appInsights';
import { EVENTS, METRICS } from '../../lib/telemetry/names';
import { availabilityId, availabilityRecord } from '../../lib/telemetry/records';
import type { TelemetrySink } from '../../lib/telemetry/sink';
import { startIngestionServer, type Envelope, type IngestionServer } from '../helpers/ingestionServer';
import { recordEgress } from './egress';
import { CYCLE_ID, SITE, cycleReport, gas, his, login, ntp, outcome, results } from './fixtures';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  vi.restoreAllMocks();
});

async function ingestion(): Promise<IngestionServer> {
  const server = await startIngestionServer();
  cleanups.push(() => server.close());
  return server;
}

async function sinkFor(
  server: IngestionServer,
  extra: Partial<Parameters<typeof createAppInsightsTelemetry>[0]> = {},
): Promise<TelemetrySink> {
  const sink = await createAppInsightsTelemetry({
    connectionString: server.connectionString,
    cloudRole: 'arcmon-test',
    ...extra,
  });
  cleanups.push(() => sink.close());
  return sink;
}

/** A loopback HTTP server standing in for an endpoint a probe talks to. */
async function probeTarget(): Promise<string> {
  const server = http.createServer((_req, res) => res.writeHead(400).end('bad request'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

const props = (e: Envelope) => e.data.baseData.properties as Record<string, string>;
const named = (server: IngestionServer, baseType: string, name: string) =>
  server.byBaseType(baseType).filter((e) => e.data.baseData.name === name);
const metric = (e: Envelope) => (e.data.baseData.metrics as Array<{ name: string; value: number; count: number }>)[0]!;

/** The SDK's offline-storage directories (it creates them under the OS temp directory by default). */
async function sdkStorageDirs(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.startsWith('Microsoft-AzureMonitor-'));
}

describe('Application Insights sink', () => {
  it('delivers one cycle: availability per probed target, transition events, the cycle event and latency metrics', async () => {
    const server = await ingestion();
    const egress = recordEgress();
    cleanups.push(() => egress.stop());
    const sink = await sinkFor(server);
    const probeUrl = await probeTarget();

    // What probes do: plain requests through undici and node:http. None of it may become telemetry.
    await (await fetch(probeUrl)).text();
    await new Promise<void>((resolve) => http.get(probeUrl, (res) => res.resume().on('end', resolve)));

    sink.reportCycle(cycleReport(), outcome(), { pastDue: false, openIncidents: 1 });
    await sink.flush();

    const availability = server.byBaseType('AvailabilityData');
    expect(availability.map((e) => e.data.baseData.name).sort()).toEqual([gas.id, his.id, login.id, ntp.id].sort());
    for (const { target, result } of results.filter((r) => r.result.verdict !== 'skipped')) {
      const [envelope] = named(server, 'AvailabilityData', target.id);
      const expected = availabilityRecord(cycleReport(), { target, result })!;
      expect(envelope!.data.baseData).toMatchObject({
        id: availabilityId(CYCLE_ID, target.id),
        runLocation: SITE,
        success: result.verdict === 'reachable' || result.verdict === 'degraded',
        message: expected.message,
      });
      expect(props(envelope!)).toEqual(expected.properties);
    }
    const [hisEnvelope] = named(server, 'AvailabilityData', his.id);
    expect(hisEnvelope!.data.baseData).toMatchObject({
      duration: '00:00:00.065',
      message: 'reachable (HTTP 400 in 65 ms)',
    });
    expect(props(named(server, 'AvailabilityData', gas.id)[0]!)).toMatchObject({
      verdict: 'blocked',
      failureCode: 'TCP_TIMEOUT',
      phase: 'connect',
      whenRequired: 'always',
    });
    expect(named(server, 'AvailabilityData', gas.id)[0]!.data.baseData.success).toBe(false);

    const regressed = named(server, 'EventData', EVENTS.regressed);
    const recovered = named(server, 'EventData', EVENTS.recovered);
    const cycles = named(server, 'EventData', EVENTS.cycle);
    expect([regressed.length, recovered.length, cycles.length]).toEqual([1, 1, 1]);
    expect(props(regressed[0]!)).toMatchObject({
      incidentId: 'inc-gas-blocked-1',
      endpoint: gas.id,
      kind: 'blocked',
      severity: 'high',
      failureCode: 'TCP_TIMEOUT',
    });
    expect(props(recovered[0]!)).toMatchObject({
      incidentId: 'inc-his-blocked-0',
      resolvedAt: '2026-11-21T10:00:10.500Z',
    });
    expect(props(cycles[0]!)).toMatchObject({ site: SITE, cycleId: CYCLE_ID, pastDue: 'false' });
    expect(cycles[0]!.data.baseData.measurements).toEqual({
      durationMs: 10_500,
      targets: 5,
      reachable: 2,
      degraded: 1,
      blocked: 1,
      skipped: 1,
      openIncidents: 1,
    });

    // Metrics sit in an OpenTelemetry histogram until exported: flush() must have sent them.
    const metrics = server.byBaseType('MetricData');
    expect(metrics).toHaveLength(13);
    const total = metrics.find((e) => metric(e).name === METRICS.total && props(e).endpoint === his.id);
    expect(metric(total!)).toMatchObject({ value: 64.9, count: 1 });
    expect(props(total!)).toEqual({ site: SITE, endpoint: his.id });
    expect(new Set(metrics.map((e) => metric(e).name))).toEqual(
      new Set([
        METRICS.dns,
        METRICS.connect,
        METRICS.proxy,
        METRICS.tls,
        METRICS.firstByte,
        METRICS.ntp,
        METRICS.total,
      ]),
    );

    // Nothing else: no dependency/request records for the probe traffic, no logs, no SDK metrics.
    expect(new Set(server.envelopes.map((e) => e.data.baseType))).toEqual(
      new Set(['AvailabilityData', 'EventData', 'MetricData']),
    );
    expect(server.envelopes.every((e) => e.iKey === server.instrumentationKey)).toBe(true);
    expect(server.envelopes.every((e) => e.tags?.['ai.cloud.role'] === 'arcmon-test')).toBe(true);
    // The probe traffic and the telemetry, and nothing else.
    const allowed = new Set([
      `127.0.0.1:${new URL(server.url).port}`,
      `127.0.0.1:${new URL(probeUrl).port}`,
      'http 127.0.0.1',
    ]);
    expect(egress.destinations.filter((d) => !allowed.has(d))).toEqual([]);
  });

  it('talks to the ingestion endpoint only: no live metrics, statsbeat, instance metadata or SDK configuration service', async () => {
    const manager = ConfigurationManager.getInstance();
    const started = vi.spyOn(manager, 'initialize');
    const server = await ingestion();
    const egress = recordEgress();
    cleanups.push(() => egress.stop());
    const sink = await sinkFor(server);

    sink.reportCycle(cycleReport(), outcome(), { pastDue: false, openIncidents: 1 });
    await sink.flush();
    await sink.close();

    expect(server.envelopes.length).toBeGreaterThan(0);
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(server.requests.map(() => 'POST /v2.1/track'));
    expect(server.requests.some((r) => r.path.includes('QuickPulseService.svc'))).toBe(false);
    const port = new URL(server.url).port;
    expect(egress.destinations.length).toBeGreaterThan(0);
    expect(egress.destinations.filter((d) => d !== `127.0.0.1:${port}` && d !== 'http 127.0.0.1')).toEqual([]);
    // The exporters started the SDK-wide poller of settings.sdk.monitor.azure.com (first call 5-15 s later);
    // the sink must have stopped it before returning.
    expect(started).toHaveBeenCalled();
    expect((manager as unknown as { worker?: unknown }).worker).toBeUndefined();
  });

  it('keeps going when ingestion refuses (500, then 429) and writes nothing to disk', async () => {
    const server = await ingestion();
    const storageBefore = await sdkStorageDirs();
    const sink = await sinkFor(server);

    server.setStatus(500);
    sink.reportCycle(cycleReport({ cycleId: 'cycle-500' }), outcome(), { pastDue: false, openIncidents: 1 });
    await expect(sink.flush()).resolves.toBeUndefined();
    server.setStatus(429, { retryAfterSeconds: 1 });
    sink.reportCycle(cycleReport({ cycleId: 'cycle-429' }), outcome(), { pastDue: false, openIncidents: 1 });
    await expect(sink.flush()).resolves.toBeUndefined();

    expect(new Set(server.requests.map((r) => r.status))).toEqual(new Set([500, 429]));
    expect(server.envelopes).toHaveLength(0);
    expect(await sdkStorageDirs()).toEqual(storageBefore);

    server.setStatus(200);
    sink.reportCycle(cycleReport({ cycleId: 'cycle-200' }), outcome(), { pastDue: false, openIncidents: 1 });
    await sink.flush();
    expect(new Set(server.byBaseType('AvailabilityData').map((e) => props(e).cycleId))).toEqual(new Set(['cycle-200']));
  });

  it('bounds flush while ingestion throttles, and the SDK still delivers when the throttling ends', async () => {
    const server = await ingestion();
    const sink = await sinkFor(server, { flushTimeoutMs: 300 });

    server.setStatus(503, { retryAfterSeconds: 2 });
    sink.reportCycle(cycleReport(), outcome(), { pastDue: false, openIncidents: 1 });
    await expect(sink.flush()).resolves.toBeUndefined();
    expect(server.envelopes).toHaveLength(0);

    server.setStatus(200);
    await server.waitFor((envelopes) => envelopes.some((e) => e.data.baseData.name === EVENTS.cycle));
    expect(server.requests.map((r) => r.status)).toContain(503);
  });

  it('sends with an Entra ID token when given a credential, and never puts the token in telemetry', async () => {
    const server = await ingestion();
    const scopes: string[] = [];
    const credential: TokenCredential = {
      getToken: (scope): Promise<AccessToken> => {
        scopes.push(...(Array.isArray(scope) ? scope : [scope]));
        return Promise.resolve({ token: 'test-entra-token-0001', expiresOnTimestamp: Date.now() + 3_600_000 });
      },
    };
    const sink = await sinkFor(server, { credential });

    sink.reportCycle(cycleReport(), outcome(), { pastDue: true, openIncidents: 1 });
    await sink.flush();

    expect(server.requests.length).toBeGreaterThan(0);
    expect(server.requests.every((r) => r.authorization === 'Bearer test-entra-token-0001')).toBe(true);
    expect(new Set(scopes)).toEqual(new Set(['https://monitor.azure.com/.default']));
    expect(JSON.stringify(server.envelopes)).not.toContain('test-entra-token-0001');
  });

  it('sends nothing while the credential gives no token, says so once per change, and resumes when it does', async () => {
    const server = await ingestion();
    let failure: string | undefined = 'no identity on this machine';
    const credential: TokenCredential = {
      getToken: (): Promise<AccessToken> =>
        failure === undefined
          ? Promise.resolve({ token: 'test-entra-token-0002', expiresOnTimestamp: Date.now() + 3_600_000 })
          : Promise.reject(new Error(failure)),
    };
    const reported: string[] = [];
    const sink = await sinkFor(server, { credential, onTokenError: (message) => reported.push(message) });

    for (const cycleId of ['no-token-1', 'no-token-2']) {
      sink.reportCycle(cycleReport({ cycleId }), outcome(), { pastDue: false, openIncidents: 0 });
      await expect(sink.flush()).resolves.toBeUndefined();
    }
    expect(server.requests).toEqual([]);
    expect(reported).toEqual(['no identity on this machine']);

    failure = undefined;
    sink.reportCycle(cycleReport({ cycleId: 'token-back' }), outcome(), { pastDue: false, openIncidents: 0 });
    await sink.flush();
    expect(new Set(server.byBaseType('AvailabilityData').map((e) => props(e).cycleId))).toEqual(
      new Set(['token-back']),
    );
    expect(server.requests.every((r) => r.authorization === 'Bearer test-entra-token-0002')).toBe(true);
    expect(reported).toEqual(['no identity on this machine']);
  });

  it('sends no secret a probe result let slip', async () => {
    const server = await ingestion();
    const sink = await sinkFor(server);
    const [first, ...rest] = results;
    const leaky = {
      ...first!,
      result: {
        ...first!.result,
        proxy: 'http://alice:s3cret@proxy.contoso.test:3128',
        verdict: 'blocked' as const,
        failure: {
          code: 'PROXY_AUTH_REQUIRED' as const,
          phase: 'proxy' as const,
          severity: 'blocking' as const,
          message:
            'proxy http://alice:s3cret@proxy.contoso.test:3128 answered 407 (Proxy-Authorization: Basic YWxpY2U6czNjcmV0)',
        },
      },
    };

    sink.reportCycle(cycleReport({ results: [leaky, ...rest] }), outcome(), { pastDue: false, openIncidents: 1 });
    await sink.flush();

    const sent = JSON.stringify(server.envelopes);
    expect(named(server, 'AvailabilityData', his.id)).toHaveLength(1);
    expect(sent).not.toContain('s3cret');
    expect(sent).not.toContain('YWxpY2U6czNjcmV0');
    expect(sent).not.toContain('alice');
  });

  it('ignores reports after close, and close and flush stay safe to call again', async () => {
    const server = await ingestion();
    const sink = await sinkFor(server);
    sink.reportCycle(cycleReport(), outcome(), { pastDue: false, openIncidents: 1 });
    await sink.close();
    const delivered = server.envelopes.length;
    expect(named(server, 'EventData', EVENTS.cycle)).toHaveLength(1);

    sink.reportCycle(cycleReport({ cycleId: 'after-close' }), outcome(), { pastDue: false, openIncidents: 1 });
    await expect(sink.flush()).resolves.toBeUndefined();
    await expect(sink.close()).resolves.toBeUndefined();
    expect(server.envelopes).toHaveLength(delivered);
  });

  it.each([
    [
      'no instrumentation key',
      'IngestionEndpoint=https://127.0.0.1:1/',
      'InstrumentationKey is missing or is not a GUID',
    ],
    [
      'a key that is not a GUID',
      'InstrumentationKey=abc;IngestionEndpoint=https://127.0.0.1:1/',
      'InstrumentationKey is missing or is not a GUID',
    ],
    [
      'an endpoint that is not a URL',
      'InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=westeurope',
      'IngestionEndpoint must be a URL such as https://westeurope-5.in.applicationinsights.azure.com/',
    ],
  ])('rejects a connection string with %s', async (_, connectionString, problem) => {
    await expect(createAppInsightsTelemetry({ connectionString })).rejects.toThrow(
      new Error(`Application Insights connection string: ${problem}`),
    );
  });
});
