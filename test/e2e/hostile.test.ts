/**
 * Hostile peers: servers and middleboxes that misbehave on purpose. Each must end in a clear failure code (or, for
 * an endless body, a bounded read), within the probe deadline, with the CLI's memory bounded — in the CLI and in
 * the monitor's cycle alike.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CYCLE_MEASUREMENTS, EVENTS } from '../../lib/telemetry/names';
import {
  TIMEOUT_MS,
  createRig,
  describeWithRig,
  type CheckRun,
  type CheckResult,
  type EndpointsConfig,
  type Rig,
} from './rig';
import { lastCycleAvailability, verdicts } from './story';

const PEER = {
  drip: 'drip.hostile.arcmon.test',
  endless: 'endless.hostile.arcmon.test',
  hugeChain: 'hugechain.hostile.arcmon.test',
  reset: 'reset.hostile.arcmon.test',
  manyRecords: 'manyrecords.hostile.arcmon.test',
  malformed: 'malformed.hostile.arcmon.test',
} as const;
const CONTROL = 'login.microsoftonline.com';
const MANY_RECORDS = 300;
/** Intermediates in the enormous chain: about 150 KB of certificates, beyond what a TLS client accepts. */
const CHAIN_LINKS = 300;
/** A cycle whose probes honour their deadline ends well before twice the deadline; one that hangs never ends. */
const CYCLE_BOUND_MS = 2 * TIMEOUT_MS;
const RSS_BOUND_MIB = 256;
/** The monitor process also holds the telemetry SDK, the storage client and the rig's ingestion server. */
const MONITOR_RSS_BOUND_MIB = 512;
/** A warm cycle against the same peers may not raise the peak by more than this (a full endless body would). */
const WARM_CYCLE_GROWTH_BOUND_MIB = 64;

/** Only the hostile peers and one healthy control: the catalog's one optional row is left out. */
const CONFIG: EndpointsConfig = {
  version: 1,
  scenarios: ['optional'],
  exclude: ['dc.services.visualstudio.com'],
  endpoints: [...Object.values(PEER), CONTROL].map((host) => ({ host, purpose: `hostile peer ${host}` })),
};
const id = (host: string) => `${host}:443`;

describeWithRig('hostile peers', () => {
  let rig: Rig;
  let run: CheckRun;

  beforeAll(async () => {
    rig = await createRig({
      extras: [
        { name: PEER.drip, behaviour: 'drip' },
        { name: PEER.endless, behaviour: 'endless-body' },
        { name: PEER.hugeChain, behaviour: 'azure' },
        { name: PEER.reset, behaviour: 'reset' },
      ],
      hugeChain: { host: PEER.hugeChain, intermediates: CHAIN_LINKS },
      records: {
        [PEER.manyRecords]: { manyA: { count: MANY_RECORDS, base: '198.19' } },
        [PEER.malformed]: 'malformed',
      },
    });
    run = await rig.check([], CONFIG);
    console.log(
      `[e2e] hostile › CLI cycle ${run.doc.durationMs} ms (wall ${run.wallMs} ms), peak RSS ${run.maxRssMiB} MiB, exit ${run.exitCode}`,
    );
  }, 120_000);
  afterAll(async () => {
    await rig?.close();
  });

  const result = (host: string): CheckResult => {
    const found = run.byId.get(id(host));
    if (!found) throw new Error(`no result for ${host}; got ${[...run.byId.keys()].join(', ')}`);
    return found;
  };

  it.each([
    ['drips one byte a second', PEER.drip, 'blocked HTTP_TIMEOUT'],
    ['sends an endless body', PEER.endless, 'reachable'],
    ['presents an enormous certificate chain', PEER.hugeChain, 'blocked TLS_HANDSHAKE_FAILED'],
    ['accepts and resets', PEER.reset, 'blocked CONNECTION_RESET'],
    [`answers DNS with ${MANY_RECORDS} records nobody answers at`, PEER.manyRecords, 'blocked TCP_TIMEOUT'],
    ['answers DNS with a malformed packet', PEER.malformed, 'blocked DNS_BAD_RESPONSE'],
    ['(control) answers like Azure', CONTROL, 'reachable'],
  ])('a peer that %s: %s → %s', (what, host, expected) => {
    const r = result(host);
    console.log(
      `[e2e] hostile › ${what}: ${verdicts(run)[id(host)]} in ${r.timings.total} ms (${r.failure?.message ?? 'no failure'})`,
    );
    expect(verdicts(run)[id(host)]).toBe(expected);
    expect(r.timings.total).toBeLessThan(CYCLE_BOUND_MS);
  });

  it('reads at most a few KiB of the endless body, and the server stops sending', async () => {
    expect(result(PEER.endless).http?.status).toBe(200);
    expect(result(PEER.endless).http?.bodyBytes).toBeLessThanOrEqual(4096);
    let stats = await rig.internetStats();
    for (let i = 0; i < 20 && stats.openStreams > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      stats = await rig.internetStats();
    }
    expect(stats.openStreams).toBe(0);
    console.log(
      `[e2e] hostile › endless body: server wrote ${Math.round(stats.endlessBodyBytes / 1024)} KiB before the probe hung up`,
    );
    expect(stats.endlessBodyBytes).toBeLessThan(64 * 1024 * 1024);
  });

  it(`keeps every address of a ${MANY_RECORDS}-record answer, fetched over TCP after truncation`, () => {
    expect(result(PEER.manyRecords).dns?.addresses).toHaveLength(MANY_RECORDS);
  });

  it('finishes the cycle within its deadline and with bounded memory', () => {
    expect(run.doc.durationMs).toBeLessThan(CYCLE_BOUND_MS);
    expect(run.maxRssMiB).toBeLessThan(RSS_BOUND_MIB);
    expect(run.exitCode).toBe(1);
  });

  it('a proxy that answers garbage → PROXY_BAD_RESPONSE, blamed on the proxy', async () => {
    const viaGarbage = await rig.check(['--proxy', rig.garbageProxyUrl], {
      version: 1,
      scenarios: ['optional'],
      exclude: ['dc.services.visualstudio.com'],
      endpoints: [{ host: CONTROL, purpose: 'through a broken proxy' }],
    });
    const r = viaGarbage.byId.get(id(CONTROL));
    console.log(
      `[e2e] hostile › proxy answers garbage: ${verdicts(viaGarbage)[id(CONTROL)]} (${r?.failure?.message ?? ''})`,
    );
    expect(verdicts(viaGarbage)[id(CONTROL)]).toBe('blocked PROXY_BAD_RESPONSE');
    expect(r?.failure?.phase).toBe('proxy');
    expect(viaGarbage.doc.durationMs).toBeLessThan(CYCLE_BOUND_MS);
    expect((await rig.gatewayStats()).garbageAnswers).toBeGreaterThan(0);
  });

  it('the monitor’s cycles meet the same peers within their deadline, report the same codes, and do not grow', async () => {
    const monitor = await rig.startMonitor({ site: 'e2e-hostile', config: CONFIG });
    try {
      // The first invocation loads the bundle and the telemetry SDK; the second shows what the peers themselves cost.
      const cold = await monitor.cycle();
      const warm = await monitor.cycle();
      const telemetry = await monitor.newTelemetry();
      const cycleMs = telemetry
        .filter((t) => t.name === EVENTS.cycle)
        .map((t) => t.measurements[CYCLE_MEASUREMENTS.durationMs]);
      console.log(
        `[e2e] hostile › monitor cycles ${cycleMs.join(', ')} ms (invocations ${cold.durationMs}, ${warm.durationMs} ms); ` +
          `monitor process peak RSS ${cold.maxRssMiB} MiB after the first, ${warm.maxRssMiB} MiB after the second`,
      );
      expect(cycleMs).toHaveLength(2);
      for (const ms of cycleMs) expect(ms).toBeLessThan(CYCLE_BOUND_MS);
      expect(warm.maxRssMiB).toBeLessThan(MONITOR_RSS_BOUND_MIB);
      expect(warm.maxRssMiB - cold.maxRssMiB).toBeLessThan(WARM_CYCLE_GROWTH_BOUND_MIB);
      expect(lastCycleAvailability(telemetry)).toEqual(verdicts(run));
      expect(await monitor.strayRequests()).toEqual([]);
    } finally {
      await monitor.stop();
    }
  }, 60_000);
});
