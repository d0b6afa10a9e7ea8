import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvocationContext, type Timer } from '@azure/functions';
import { TableClient } from '@azure/data-tables';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHandlers } from '../../functions/handlers';
import { SettingsError } from '../../lib/config/settings';
import { CATALOG, expandTargets } from '../../lib/catalog';
import type { Target } from '../../lib/catalog/types';
import { startAzurite, type AzuriteHandle } from '../../lib/store/azurite';
import { EVENTS } from '../../lib/telemetry/names';
import { startFakeAzure, type FakeAzure, TEST_WILDCARDS } from '../helpers/fakeAzure';
import { startIngestionServer, type Envelope, type IngestionServer } from '../helpers/ingestionServer';
import { uniqueTablePrefix } from '../helpers/azurite';
import { startTokenEndpoint, type TokenEndpoint } from '../telemetry/tokenEndpoint';
import { HttpRequest } from '@azure/functions';

/**
 * The scheduled monitor end to end, as Azure runs it: the exported timer handler, settings from the environment,
 * real Azurite, the real Application Insights SDK posting to a local TLS ingestion server with a token of the
 * user-assigned managed identity (from an App Service-style identity endpoint on loopback), and "Azure" on loopback.
 */

const IDENTITY_CLIENT_ID = '3b0c6f1e-8d2a-4e57-a9c4-61f0d2b7e845';

const BLOCKED_HOST = 'login.microsoftonline.com';

let fake: FakeAzure;
let azurite: AzuriteHandle;
let ingestion: IngestionServer;
let identity: TokenEndpoint;
let targets: Target[];
let azuriteDir: string;
const savedEnv = { ...process.env };

function timer(isPastDue = false): Timer {
  const now = new Date();
  return {
    isPastDue,
    schedule: { adjustForDST: false },
    scheduleStatus: {
      last: now.toISOString(),
      next: new Date(now.getTime() + 300_000).toISOString(),
      lastUpdated: now.toISOString(),
    },
  };
}

function context(): InvocationContext & { lines: string[] } {
  const lines: string[] = [];
  const ctx = new InvocationContext({
    functionName: 'probeCycle',
    invocationId: `test-${Math.random().toString(16).slice(2)}`,
    logHandler: (_level, ...args) => lines.push(args.map(String).join(' ')),
  });
  return Object.assign(ctx, { lines });
}

function useSettings(site: string, prefix: string, extra: Record<string, string> = {}): void {
  for (const k of Object.keys(process.env))
    if (k.startsWith('ARCMON_') || k === 'APPLICATIONINSIGHTS_CONNECTION_STRING') delete process.env[k];
  Object.assign(process.env, {
    ARCMON_REGION: 'eastus',
    ARCMON_SITE: site,
    ARCMON_SCENARIOS: 'servers',
    ARCMON_TABLE_PREFIX: prefix,
    ARCMON_STORAGE_CONNECTION_STRING: azurite.connectionString,
    APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString,
    ARCMON_DNS_SERVER: fake.dns.address,
    // The fake Azure's root, as the app setting holds it in Azure: the PEM text itself.
    ARCMON_EXPECTED_ROOTS_PEM: fake.root.certPem,
    ARCMON_ENDPOINTS_JSON: JSON.stringify({ version: 1, wildcards: TEST_WILDCARDS }),
    ARCMON_TIMEOUT_MS: '2000',
    AZURE_CLIENT_ID: IDENTITY_CLIENT_ID,
    ...extra,
  });
}

async function rows(
  prefix: string,
  table: 'History' | 'State' | 'Incidents',
  site: string,
): Promise<Record<string, unknown>[]> {
  const client = TableClient.fromConnectionString(azurite.connectionString, `${prefix}${table}`, {
    allowInsecureConnection: true,
  });
  const out: Record<string, unknown>[] = [];
  const filter =
    table === 'History' ? `PartitionKey ge '${site}|' and PartitionKey lt '${site}|~'` : `PartitionKey eq '${site}'`;
  for await (const e of client.listEntities({ queryOptions: { filter } })) out.push(e);
  return out;
}

const events = (name: string, site: string): Envelope[] =>
  ingestion
    .byBaseType('EventData')
    .filter(
      (e) => e.data.baseData.name === name && (e.data.baseData.properties as Record<string, string>).site === site,
    );
const availability = (site: string): Envelope[] =>
  ingestion.byBaseType('AvailabilityData').filter((e) => e.data.baseData.runLocation === site);

beforeAll(async () => {
  targets = expandTargets(CATALOG, {
    cloud: 'AzureCloud',
    region: 'eastus',
    scenarios: ['servers'],
    wildcards: TEST_WILDCARDS,
  }).targets;
  fake = await startFakeAzure(targets, { addressBase: 120 });
  azuriteDir = await mkdtemp(join(tmpdir(), 'arcmon-e2e-azurite-'));
  azurite = await startAzurite({ port: 0, location: azuriteDir });
  ingestion = await startIngestionServer();
  identity = await startTokenEndpoint();
  // The Functions host's identity endpoint, and no other credential of the machine running the tests.
  for (const name of Object.keys(process.env))
    if (/^(AZURE_|MSI_|IDENTITY_|IMDS_)/.test(name)) delete process.env[name];
  Object.assign(process.env, identity.env);
});

// Each test gets the handlers a freshly started host would have.
let handlers = createHandlers();
const probeCycle: typeof handlers.probeCycle = (...args) => handlers.probeCycle(...args);
const status: typeof handlers.status = (...args) => handlers.status(...args);

afterEach(async () => {
  await handlers.close();
  handlers = createHandlers();
  ingestion.setStatus(200);
});

afterAll(async () => {
  process.env = savedEnv;
  await fake?.close();
  await azurite?.stop();
  await ingestion?.close();
  await identity?.close();
  await rm(azuriteDir, { recursive: true, force: true });
});

describe('the scheduled monitor over several cycles', () => {
  it('opens an incident after two blocked cycles and resolves it after two good ones, in tables and telemetry', async () => {
    const site = 'hub-eastus';
    const prefix = uniqueTablePrefix();
    useSettings(site, prefix);
    const n = targets.length;
    const server = fake.servers.get(BLOCKED_HOST);
    if (!server) throw new Error('no fake server for the blocked host');

    const cycle = async () => {
      const ctx = context();
      await probeCycle(timer(), ctx);
      return ctx.lines;
    };

    await cycle();
    await cycle();
    expect(events(EVENTS.regressed, site)).toHaveLength(0);

    server.setBehaviour('reset-on-hello');
    await cycle();
    expect(await rows(prefix, 'Incidents', site)).toHaveLength(0);
    const fourth = await cycle();
    expect(fourth.some((l) => l.includes(`INCIDENT OPENED [high] blocked ${BLOCKED_HOST}:443`))).toBe(true);

    const incidents = await rows(prefix, 'Incidents', site);
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({
      status: 'open',
      kind: 'blocked',
      targetId: `${BLOCKED_HOST}:443`,
      failureCode: 'CONNECTION_RESET',
    });
    const state = (await rows(prefix, 'State', site)).find((r) => r.targetId === `${BLOCKED_HOST}:443`);
    expect(state).toMatchObject({ verdict: 'blocked', consecutiveFailures: 2, failureCode: 'CONNECTION_RESET' });
    const regressed = events(EVENTS.regressed, site);
    expect(regressed).toHaveLength(1);
    expect(regressed[0]?.data.baseData.properties).toMatchObject({
      endpoint: `${BLOCKED_HOST}:443`,
      kind: 'blocked',
      severity: 'high',
      failureCode: 'CONNECTION_RESET',
    });

    server.setBehaviour('normal');
    await cycle();
    expect(events(EVENTS.recovered, site)).toHaveLength(0);
    const sixth = await cycle();
    expect(sixth.some((l) => l.includes(`INCIDENT RESOLVED blocked ${BLOCKED_HOST}:443`))).toBe(true);

    const resolved = await rows(prefix, 'Incidents', site);
    expect(resolved).toHaveLength(1);
    expect(resolved[0]).toMatchObject({ status: 'resolved' });
    expect(resolved[0]?.resolvedAt).toEqual(expect.any(String));
    const recovered = events(EVENTS.recovered, site);
    expect(recovered).toHaveLength(1);
    expect(recovered[0]?.data.baseData.properties).toMatchObject({ endpoint: `${BLOCKED_HOST}:443`, kind: 'blocked' });

    // Every endpoint, every cycle: availability results and history rows; one heartbeat per cycle.
    const avail = availability(site);
    expect(avail).toHaveLength(6 * n);
    for (const t of targets) expect(avail.filter((e) => e.data.baseData.name === t.id)).toHaveLength(6);
    const failedAvail = avail.filter(
      (e) => e.data.baseData.name === `${BLOCKED_HOST}:443` && e.data.baseData.success === false,
    );
    expect(failedAvail).toHaveLength(2);
    expect(events(EVENTS.cycle, site)).toHaveLength(6);
    // Sent as the deployment sends (the resource refuses keys): with the managed identity's Entra ID token.
    expect(new Set(ingestion.requests.map((r) => r.authorization))).toEqual(
      new Set([`Bearer ${identity.tokenFor(IDENTITY_CLIENT_ID)}`]),
    );
    expect(await rows(prefix, 'History', site)).toHaveLength(6 * n);
    // Nothing for the endpoints that did not change.
    expect((await rows(prefix, 'Incidents', site)).map((r) => r.targetId)).toEqual([`${BLOCKED_HOST}:443`]);

    const response = await status(
      new HttpRequest({ method: 'GET', url: `http://localhost/api/status?site=${site}` }),
      context(),
    );
    const body = response.jsonBody as { endpoints: { targetId: string; verdict: string }[]; openIncidents: unknown[] };
    expect(body.openIncidents).toHaveLength(0);
    expect(body.endpoints).toHaveLength(n);
    expect(body.endpoints.every((e) => e.verdict === 'reachable')).toBe(true);
  });

  it('keeps every result when the table store is down for a cycle: spooled, then written exactly once', async () => {
    const site = 'branch-outage';
    const prefix = uniqueTablePrefix();
    useSettings(site, prefix);
    const n = targets.length;
    await probeCycle(timer(), context());
    await azurite.stop();
    try {
      const during = context();
      await probeCycle(timer(), during);
      expect(during.lines.join('\n')).toMatch(/cycle .* 0 blocked.*SPOOLED \d+ entities \(table store unreachable/);
    } finally {
      await azurite.restart();
    }
    const after = context();
    await probeCycle(timer(), after);
    expect(after.lines.join('\n')).toMatch(/wrote \d+ spooled entities of earlier cycles/);
    const history = await rows(prefix, 'History', site);
    expect(history).toHaveLength(3 * n);
    const keys = new Set(history.map((r) => `${String(r.partitionKey)}/${String(r.rowKey)}`));
    expect(keys.size).toBe(3 * n);
    expect(new Set(history.map((r) => r.cycleId)).size).toBe(3);
    expect(availability(site)).toHaveLength(3 * n);
  });

  it.each([500, 429])('does not crash when ingestion answers %i, and the tables stay complete', async (code) => {
    const site = `ingest-${code}`;
    const prefix = uniqueTablePrefix();
    useSettings(site, prefix);
    ingestion.setStatus(code);
    await probeCycle(timer(), context());
    expect(await rows(prefix, 'History', site)).toHaveLength(targets.length);
    expect((await rows(prefix, 'State', site)).every((r) => r.verdict === 'reachable')).toBe(true);
    expect(ingestion.requests.some((r) => r.status === code)).toBe(true);
  });

  it('refuses a file path in ARCMON_EXPECTED_ROOTS_PEM before probing, saying what the setting must hold', async () => {
    const site = 'roots-as-path';
    useSettings(site, uniqueTablePrefix(), { ARCMON_EXPECTED_ROOTS_PEM: fake.expectedRootsFile });
    const problem =
      'ARCMON_EXPECTED_ROOTS_PEM must hold the PEM text of the root certificates, not a file path; set it to the contents of the PEM file (one or more -----BEGIN CERTIFICATE----- blocks), or give arcmon run the file with --expected-roots FILE';
    const ctx = context();
    await expect(probeCycle(timer(), ctx)).rejects.toThrow(new SettingsError([problem]));
    expect(ctx.lines).toContain(`Invalid monitor settings:\n  - ${problem}`);
    expect(availability(site)).toEqual([]);
  });

  it.each([
    [{ ARCMON_REGION: '' }, 'ARCMON_REGION'],
    [{ ARCMON_TIMEOUT_MS: 'ten' }, 'ARCMON_TIMEOUT_MS must be a whole number between 100 and 120000'],
    [{ ARCMON_SCENARIO: 'servers' }, 'ARCMON_SCENARIO: unknown setting'],
    [{ ARCMON_STORAGE_CONNECTION_STRING: '' }, 'ARCMON_TABLE_ENDPOINT is required in Azure'],
  ])('rejects bad settings %j with a message naming the setting', async (bad, message) => {
    useSettings('bad-settings', uniqueTablePrefix(), bad);
    await expect(probeCycle(timer(), context())).rejects.toThrow(message);
  });
});
