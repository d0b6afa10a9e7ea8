/**
 * Issue 5's scenarios: the customer's network changes over time while the CLI and the full monitor watch from
 * inside it. Each story asserts the CLI's verdicts and codes, and that the monitor (timer handler, real Azurite,
 * local ingestion) opens and resolves exactly the expected incidents and sends exactly the expected events —
 * nothing for the endpoints that did not change.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { CATALOG } from '../../lib/catalog';
import { INSPECTION_CA, INSPECTION_ROOT, createRig, describeWithRig, type EndpointsConfig, type Rig } from './rig';
import { Story, changed, expectMonitorAgrees, printSlowestCycle, probed, type VerdictMap } from './story';
import { PLAN, RIG_WILDCARDS } from './world';

/** What an Arc-enabled server needs day to day (the `servers` scenario), with the wildcards made concrete. */
// The rig serves the seeds' catalog (world.ts); rows beyond the seeds are tested against their own servers.
const SERVERS: EndpointsConfig = {
  version: 1,
  scenarios: ['servers'],
  wildcards: { ...RIG_WILDCARDS },
  exclude: CATALOG.filter((e) => e.source.document === 'page').map((e) => e.id),
};

const GUEST_CONFIGURATION = ['agentserviceapi.guestconfiguration.azure.com', 'eastus-gas.guestconfiguration.azure.com'];
const PRIVATE_LINK_HOSTS = [
  'gbl.his.arc.azure.com',
  'eus.his.arc.azure.com',
  'agentserviceapi.guestconfiguration.azure.com',
  'eastus-gas.guestconfiguration.azure.com',
  'guestnotificationservice.azure.com',
  'eastus.guestnotificationservice.azure.com',
];
const id = (host: string) => `${host}:443`;
/** Healthy cycles before the latency story slows an endpoint. */
const BASELINE_CYCLES = 20;
const each = (hosts: string[], value: string): VerdictMap => Object.fromEntries(hosts.map((h) => [id(h), value]));
/** The transition events expected for these target ids, in the order {@link transitions} sorts them. */
const eventsFor = (event: string, kind: string, targetIds: string[], failureCode?: string) =>
  targetIds
    .map((endpoint) => ({ event, endpoint, kind, ...(failureCode ? { failureCode } : {}) }))
    .sort((a, b) => `${a.event}${a.endpoint}${a.kind}`.localeCompare(`${b.event}${b.endpoint}${b.kind}`));
const events = (event: string, kind: string, hosts: string[], failureCode?: string) =>
  eventsFor(event, kind, hosts.map(id), failureCode);

const CUSTOMER_CA = new RegExp(`${INSPECTION_ROOT}|${INSPECTION_CA}`);

/** A step that changes nothing in the network (a baseline). */
const unchanged = () => Promise.resolve();

/** Every probed target reachable: the healthy network each story starts from. */
function expectHealthy(map: VerdictMap): void {
  const probedTargets = probed(map);
  expect(Object.keys(probedTargets).length).toBeGreaterThan(3);
  expect(Object.entries(probedTargets).filter(([, v]) => v !== 'reachable')).toEqual([]);
}

describeWithRig('scenarios in a simulated customer network', () => {
  let rig: Rig;
  let story: Story | undefined;

  beforeAll(async () => {
    rig = await createRig();
  }, 120_000);
  afterEach(async () => {
    await story?.end();
    story = undefined;
    await rig?.reset();
  });
  afterAll(async () => {
    printSlowestCycle('scenarios');
    await rig?.close();
  });

  it('firewall drops a wildcard’s hosts, then rejects them, then allows them again', async () => {
    story = await Story.start(rig, 'firewall', { checkArgs: [], config: SERVERS });
    const base = await story.step('healthy', unchanged, 2);
    expectHealthy(base.verdicts);
    expectMonitorAgrees(base);
    expect(base.events).toEqual([]);

    const dropped = await story.step(
      'drop *.guestconfiguration.azure.com',
      () => rig.firewall.drop(GUEST_CONFIGURATION),
      2,
    );
    expect(dropped.verdicts).toEqual(changed(base.verdicts, each(GUEST_CONFIGURATION, 'blocked TCP_TIMEOUT')));
    expect(dropped.cli.exitCode).toBe(1);
    expectMonitorAgrees(dropped);
    expect(dropped.events).toEqual(events('EndpointRegressed', 'blocked', GUEST_CONFIGURATION, 'TCP_TIMEOUT'));

    const rejected = await story.step('reject them', () => rig.firewall.reject(GUEST_CONFIGURATION), 2);
    expect(rejected.verdicts).toEqual(changed(base.verdicts, each(GUEST_CONFIGURATION, 'blocked TCP_REFUSED')));
    expectMonitorAgrees(rejected);
    // Still the same outage: no second notification while the incident is open.
    expect(rejected.events).toEqual([]);

    const allowed = await story.step('allow them again', () => rig.firewall.allow(GUEST_CONFIGURATION), 2);
    expect(allowed.verdicts).toEqual(base.verdicts);
    expectMonitorAgrees(allowed);
    expect(allowed.cli.exitCode).toBe(0);
    expect(allowed.events).toEqual(events('EndpointRecovered', 'blocked', GUEST_CONFIGURATION, 'TCP_REFUSED'));

    expect(await story.incidents()).toEqual(
      GUEST_CONFIGURATION.map((h) => ({ targetId: id(h), kind: 'blocked', status: 'resolved' })),
    );
  }, 60_000);

  it('the DNS forwarder loses the private-link zone: bypassed for exactly the private-link endpoints', async () => {
    story = await Story.start(rig, 'private-link', {
      checkArgs: ['--private-link'],
      config: SERVERS,
      settings: { ARCMON_PRIVATE_LINK: 'true' },
    });
    const base = await story.step('zone served', () => rig.dns.privateLinkZone(true), 2);
    expectHealthy(base.verdicts);
    expectMonitorAgrees(base);
    for (const host of PRIVATE_LINK_HOSTS) {
      expect(base.cli.byId.get(id(host))?.dns?.addresses.map((a) => a.scope)).toEqual(['private']);
    }

    const lost = await story.step('zone lost', () => rig.dns.privateLinkZone(false), 2);
    expect(lost.verdicts).toEqual(changed(base.verdicts, each(PRIVATE_LINK_HOSTS, 'blocked PRIVATE_LINK_BYPASSED')));
    expectMonitorAgrees(lost);
    expect(lost.events).toEqual(
      events('EndpointRegressed', 'private-link-bypassed', PRIVATE_LINK_HOSTS, 'PRIVATE_LINK_BYPASSED'),
    );

    const restored = await story.step('zone restored', () => rig.dns.privateLinkZone(true), 2);
    expect(restored.verdicts).toEqual(base.verdicts);
    expectMonitorAgrees(restored);
    expect(restored.events).toEqual(
      events('EndpointRecovered', 'private-link-bypassed', PRIVATE_LINK_HOSTS, 'PRIVATE_LINK_BYPASSED'),
    );
    expect(await story.incidents()).toEqual(
      PRIVATE_LINK_HOSTS.map((h) => ({ targetId: id(h), kind: 'private-link-bypassed', status: 'resolved' })).sort(
        (a, b) => a.targetId.localeCompare(b.targetId),
      ),
    );
  }, 60_000);

  it('TLS inspection on one agent host and one resource bridge host: degraded and blocked, naming the CA', async () => {
    const agentHost = 'agentserviceapi.guestconfiguration.azure.com';
    const bridgeHost = 'eastus.dp.prod.appliances.azure.com';
    const config: EndpointsConfig = { ...SERVERS, scenarios: ['servers', 'resource-bridge'] };
    story = await Story.start(rig, 'tls-inspection', { checkArgs: [], config });
    const base = await story.step('no inspection', unchanged, 2);
    expectHealthy(base.verdicts);
    expectMonitorAgrees(base);

    const inspected = await story.step('inspection on', () => rig.inspect([agentHost, bridgeHost], true), 2);
    expect(inspected.verdicts).toEqual(
      changed(base.verdicts, {
        [id(agentHost)]: 'degraded TLS_INTERCEPTED',
        [id(bridgeHost)]: 'blocked TLS_INTERCEPTED',
      }),
    );
    for (const host of [agentHost, bridgeHost]) {
      const tls = inspected.cli.byId.get(id(host))?.tls;
      console.log(`[e2e] tls-inspection › ${host}: intercepted by "${String(tls?.interceptedBy)}"`);
      expect(tls?.root.genuine).toBe(false);
      // Either CA of the customer's inspection chain names the culprit; the Azure-like ones would be wrong.
      expect(tls?.interceptedBy).toMatch(CUSTOMER_CA);
      expect(inspected.cli.byId.get(id(host))?.failure?.message).toMatch(CUSTOMER_CA);
    }
    expect(inspected.cli.byId.get(id(agentHost))?.tls?.leaf.issuer).toContain(INSPECTION_CA);
    expectMonitorAgrees(inspected);
    expect(inspected.events).toEqual(
      events('EndpointRegressed', 'tls-intercepted', [agentHost, bridgeHost], 'TLS_INTERCEPTED'),
    );

    const off = await story.step('inspection off', () => rig.inspect([agentHost, bridgeHost], false), 2);
    expect(off.verdicts).toEqual(base.verdicts);
    expectMonitorAgrees(off);
    expect(off.events).toEqual(
      events('EndpointRecovered', 'tls-intercepted', [agentHost, bridgeHost], 'TLS_INTERCEPTED'),
    );
    expect(await story.incidents()).toEqual(
      [bridgeHost, agentHost]
        .map((h) => ({ targetId: id(h), kind: 'tls-intercepted', status: 'resolved' }))
        .sort((a, b) => a.targetId.localeCompare(b.targetId)),
    );
    expect((await rig.gatewayStats()).inspected[agentHost]).toBeGreaterThan(0);
  }, 60_000);

  it('the proxy begins to demand authentication: proxy authentication required, not "endpoint down"', async () => {
    const ntp = 'time.windows.com:123/udp';
    const config: EndpointsConfig = {
      ...SERVERS,
      endpoints: [
        { host: 'time.windows.com', protocol: 'ntp', purpose: 'Windows time (UDP, never through the proxy)' },
      ],
    };
    story = await Story.start(rig, 'proxy', {
      checkArgs: ['--proxy', rig.proxyUrl],
      config,
      settings: { ARCMON_PROXY: rig.proxyUrl },
    });
    const base = await story.step('only the proxy may go out', () => rig.firewall.directEgress(false), 2);
    expectHealthy(base.verdicts);
    expectMonitorAgrees(base);
    expect(base.verdicts[ntp]).toBe('reachable');
    const https = Object.keys(probed(base.verdicts)).filter((t) => t !== ntp);
    expect(base.cli.byId.get(https[0] ?? '')?.proxy).toContain(`${PLAN.gateway}:${PLAN.proxyPort}`);

    const auth = await story.step('proxy demands authentication', () => rig.proxyMode('auth'), 2);
    expect(auth.verdicts).toEqual(
      changed(base.verdicts, Object.fromEntries(https.map((t) => [t, 'blocked PROXY_AUTH_REQUIRED']))),
    );
    expectMonitorAgrees(auth);
    // Rows a later Microsoft page retired are blocked like the rest but raise nothing (lib/catalog/current.ts).
    const counted = https.filter((t) => base.cli.byId.get(t)?.target.retired === undefined);
    expect(counted.length).toBeLessThan(https.length);
    expect(auth.events).toEqual(eventsFor('EndpointRegressed', 'blocked', counted, 'PROXY_AUTH_REQUIRED'));

    const refused = await story.step('proxy refuses', () => rig.proxyMode('refuse'), 2);
    expect(refused.verdicts).toEqual(
      changed(base.verdicts, Object.fromEntries(https.map((t) => [t, 'blocked PROXY_REFUSED']))),
    );
    expectMonitorAgrees(refused);
    expect(refused.events).toEqual([]);

    const open = await story.step('proxy open again', () => rig.proxyMode('open'), 2);
    expect(open.verdicts).toEqual(base.verdicts);
    expectMonitorAgrees(open);
    expect(open.events).toEqual(eventsFor('EndpointRecovered', 'blocked', counted, 'PROXY_REFUSED'));
    const incidents = await story.incidents();
    expect(incidents).toEqual(
      counted
        .map((t) => ({ targetId: t, kind: 'blocked', status: 'resolved' }))
        .sort((a, b) => a.targetId.localeCompare(b.targetId)),
    );
  }, 60_000);

  it('UDP 123 is blocked: NTP timeout for the time server only', async () => {
    const ntp = 'time.windows.com:123/udp';
    const config: EndpointsConfig = { ...SERVERS, scenarios: ['resource-bridge'] };
    story = await Story.start(rig, 'ntp', { checkArgs: [], config });
    const base = await story.step('time served', unchanged, 2);
    expectHealthy(base.verdicts);
    expectMonitorAgrees(base);
    expect(base.cli.byId.get(ntp)?.ntp?.stratum).toBe(2);

    const blocked = await story.step('UDP 123 blocked', () => rig.firewall.blockUdp(123), 2);
    expect(blocked.verdicts).toEqual(changed(base.verdicts, { [ntp]: 'blocked NTP_TIMEOUT' }));
    expectMonitorAgrees(blocked);
    expect(blocked.events).toEqual([
      { event: 'EndpointRegressed', endpoint: ntp, kind: 'blocked', failureCode: 'NTP_TIMEOUT' },
    ]);

    const open = await story.step('UDP 123 open again', () => rig.firewall.unblockUdp(123), 2);
    expect(open.verdicts).toEqual(base.verdicts);
    expectMonitorAgrees(open);
    expect(open.events).toEqual([
      { event: 'EndpointRecovered', endpoint: ntp, kind: 'blocked', failureCode: 'NTP_TIMEOUT' },
    ]);
    expect(await story.incidents()).toEqual([{ targetId: ntp, kind: 'blocked', status: 'resolved' }]);
  }, 60_000);

  it('one endpoint slows by 400 ms: a latency regression for it alone', async () => {
    const slow = 'login.microsoftonline.com';
    story = await Story.start(rig, 'latency', { checkArgs: [], config: SERVERS });
    // Healthy cycles teach every endpoint its baseline (the first, cold, cycle weighs in it for a while).
    const base = await story.step('baseline', unchanged, BASELINE_CYCLES, { checkAfter: true });
    expectHealthy(base.verdicts);
    expectMonitorAgrees(base);
    const learned = await story.monitor.latency(id(slow));
    console.log(`[e2e] latency › ${slow} baseline ${String(learned.baselineMs)} ms, last ${String(learned.lastMs)} ms`);

    const slowed = await story.step(`${slow} slows by 400 ms`, () => rig.latency(slow, 400), 2, { checkAfter: true });
    // The CLI has no baseline: 400 ms is below its slow threshold, so every endpoint stays reachable.
    expect(slowed.verdicts).toEqual(base.verdicts);
    expectMonitorAgrees(slowed);
    expect(slowed.cli.byId.get(id(slow))?.timings.firstByte).toBeGreaterThanOrEqual(400);
    const after = await story.monitor.latency(id(slow));
    console.log(
      `[e2e] latency › ${slow} slowed: baseline ${String(after.baselineMs)} ms, last ${String(after.lastMs)} ms`,
    );
    expect(slowed.events).toEqual([{ event: 'EndpointRegressed', endpoint: id(slow), kind: 'latency' }]);

    const fast = await story.step(`${slow} fast again`, () => rig.latency(slow, 0), 2, { checkAfter: true });
    expect(fast.verdicts).toEqual(base.verdicts);
    expectMonitorAgrees(fast);
    expect(fast.events).toEqual([{ event: 'EndpointRecovered', endpoint: id(slow), kind: 'latency' }]);
    expect(await story.incidents()).toEqual([{ targetId: id(slow), kind: 'latency', status: 'resolved' }]);
    expect(await story.monitor.strayRequests()).toEqual([]);
  }, 60_000);

  it('nothing in the VNet asked for a name or an address outside the rig’s world, in all the stories above', async () => {
    expect((await rig.gatewayStats()).unknownNames).toEqual([]);
    expect(await rig.strayDestinations()).toEqual([]);
  });
});
