import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseSettings, type Settings } from '../../lib/config/settings';
import { createDeps, credentialFor, type BuiltDeps } from '../../lib/monitor/deps';
import { recordCycle, type MonitorConfig } from '../../lib/monitor/monitor';
import { DEFAULT_THRESHOLDS } from '../../lib/monitor/setup';
import { EVENTS } from '../../lib/telemetry/names';
import { sharedAzurite, uniqueTablePrefix } from '../helpers/azurite';
import { startIngestionServer, type IngestionServer } from '../helpers/ingestionServer';
import { recordEgress } from '../telemetry/egress';
import { cycleReport, SITE } from '../telemetry/fixtures';
import { startTokenEndpoint, type TokenEndpoint } from '../telemetry/tokenEndpoint';

/**
 * An `arcmon run` on a machine outside Azure, sending to an Application Insights resource that refuses keys
 * (DisableLocalAuth): the telemetry must carry a Microsoft Entra ID token, from a real @azure/identity credential.
 * The machine's identity is a managed identity endpoint on loopback (App Service style: IDENTITY_ENDPOINT +
 * IDENTITY_HEADER, which ManagedIdentityCredential and DefaultAzureCredential both honour), so the whole chain
 * runs — settings, createDeps, credential, MSAL, the SDK's bearer token policy — and nothing leaves the machine.
 */

const USER_ASSIGNED = '5a3c9e62-0d7b-4c1e-9b0f-2f6d8a41c7e3';
const NOT_ASSIGNED = '9f1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d';

const azurite = sharedAzurite({ inMemory: true });
let ingestion: IngestionServer;
let identity: TokenEndpoint;
const savedEnv = { ...process.env };
const opened: BuiltDeps[] = [];

beforeAll(async () => {
  ingestion = await startIngestionServer();
  identity = await startTokenEndpoint();
  identity.refuse(NOT_ASSIGNED);
  // Only the identity this test stands up: no credential of the machine running the tests may answer instead.
  for (const name of Object.keys(process.env))
    if (/^(AZURE_|MSI_|IDENTITY_|IMDS_)/.test(name)) delete process.env[name];
  Object.assign(process.env, identity.env);
});

afterEach(async () => {
  for (const deps of opened.splice(0)) await deps.close();
});

afterAll(async () => {
  process.env = savedEnv;
  await ingestion?.close();
  await identity?.close();
});

function settings(extra: Record<string, string> = {}): Settings {
  return parseSettings({
    ARCMON_REGION: 'westeurope',
    ARCMON_SITE: SITE,
    ARCMON_TABLE_PREFIX: uniqueTablePrefix(),
    ARCMON_STORAGE_CONNECTION_STRING: azurite.handle.connectionString,
    APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString,
    ...extra,
  });
}

/** Builds the dependencies as `arcmon run` does and records one cycle with them. */
async function recordOneCycle(s: Settings, cycleId: string) {
  const log: string[] = [];
  const deps = await createDeps(s, { log: (line) => log.push(line) });
  opened.push(deps);
  const cfg: MonitorConfig = {
    site: SITE,
    concurrency: 4,
    regression: { openAfter: 2, resolveAfter: 2, latencyRatio: 3, latencyFloorMs: 250 },
    inputs: {
      cloud: 'AzureCloud',
      region: 'westeurope',
      scenarios: ['servers'],
      privateLink: false,
      extraCaPem: [],
      timeoutMs: 1000,
      thresholds: DEFAULT_THRESHOLDS,
      fetchAllowlist: false,
    },
  };
  const result = await recordCycle(cfg, deps, cycleReport({ cycleId }), { pastDue: false });
  return { result, log };
}

/** The MonitorCycle event of one cycle, as the ingestion endpoint accepted it. */
const cycleEvents = (cycleId: string) =>
  ingestion
    .byBaseType('EventData')
    .filter(
      (e) =>
        e.data.baseData.name === EVENTS.cycle &&
        (e.data.baseData.properties as Record<string, string>).cycleId === cycleId,
    );

describe('telemetry from outside Azure authenticates with Microsoft Entra ID', () => {
  it('uses the user-assigned managed identity named by AZURE_CLIENT_ID', async () => {
    const egress = recordEgress();
    const before = ingestion.requests.length;
    try {
      await recordOneCycle(settings({ AZURE_CLIENT_ID: USER_ASSIGNED }), 'cycle-user-assigned');
    } finally {
      egress.stop();
    }

    const sent = ingestion.requests.slice(before);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.map((r) => r.authorization)).toEqual(sent.map(() => `Bearer ${identity.tokenFor(USER_ASSIGNED)}`));
    expect(cycleEvents('cycle-user-assigned')).toHaveLength(1);
    expect(identity.requests).toContainEqual({
      resource: 'https://monitor.azure.com',
      clientId: USER_ASSIGNED,
      secretOk: true,
      status: 200,
    });
    const elsewhere = egress.destinations.filter((d) => !/^(http )?127\.0\.0\.1(:\d+)?$/.test(d));
    expect(egress.destinations.length).toBeGreaterThan(0);
    expect(elsewhere).toEqual([]);
  });

  it('without AZURE_CLIENT_ID, DefaultAzureCredential finds the machine identity and the token goes along', async () => {
    const before = ingestion.requests.length;
    const { log } = await recordOneCycle(settings(), 'cycle-default-chain');

    const sent = ingestion.requests.slice(before);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.map((r) => r.authorization)).toEqual(sent.map(() => `Bearer ${identity.tokenFor()}`));
    expect(cycleEvents('cycle-default-chain')).toHaveLength(1);
    expect(log.filter((line) => line.includes('telemetry'))).toEqual([]);
    expect(identity.requests).toContainEqual({
      resource: 'https://monitor.azure.com',
      clientId: null,
      secretOk: true,
      status: 200,
    });
  });

  it('with ARCMON_TELEMETRY_AUTH=key sends the instrumentation key alone and asks for no token', async () => {
    const before = ingestion.requests.length;
    const asked = identity.requests.length;
    await recordOneCycle(settings({ ARCMON_TELEMETRY_AUTH: 'key' }), 'cycle-key');

    const sent = ingestion.requests.slice(before);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((r) => r.authorization === undefined)).toBe(true);
    expect(cycleEvents('cycle-key')).toHaveLength(1);
    expect(identity.requests.length).toBe(asked);
  });

  it('when the identity gets no token the cycle is still recorded, and nothing is sent without one', async () => {
    const before = ingestion.requests.length;
    const { result, log } = await recordOneCycle(settings({ AZURE_CLIENT_ID: NOT_ASSIGNED }), 'cycle-refused');

    expect(result.write.entities).toBeGreaterThan(0);
    expect(result.write.spooled.entities).toBe(0);
    expect(identity.requests).toContainEqual({
      resource: 'https://monitor.azure.com',
      clientId: NOT_ASSIGNED,
      secretOk: true,
      status: 400,
    });
    expect(ingestion.requests.slice(before)).toEqual([]);
    expect(cycleEvents('cycle-refused')).toEqual([]);
    // The SDK drops the batch silently; the monitor says so, once, with the credential's reason and the fix.
    const warnings = log.filter((line) => line.includes('telemetry'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^warning: telemetry is not being sent: no Microsoft Entra ID token for Application Insights \(ManagedIdentityCredential: .*No User Assigned or Delegated Managed Identity found .*\); give this machine an identity with the Monitoring Metrics Publisher role on the Application Insights resource, or set ARCMON_TELEMETRY_AUTH=key if that resource accepts keys$/,
    );
  });
});

describe('which credential', () => {
  const base = {
    ARCMON_REGION: 'eastus',
    ARCMON_SITE: 'lab',
    ARCMON_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
  };
  it.each([
    [
      'AZURE_CLIENT_ID alone: the user-assigned managed identity',
      { AZURE_CLIENT_ID: USER_ASSIGNED },
      ManagedIdentityCredential,
    ],
    ['nothing: DefaultAzureCredential (az login, a system-assigned or Arc identity)', {}, DefaultAzureCredential],
    [
      'AZURE_CLIENT_ID with AZURE_TENANT_ID: a service principal or workload identity, through DefaultAzureCredential',
      { AZURE_CLIENT_ID: USER_ASSIGNED, AZURE_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47' },
      DefaultAzureCredential,
    ],
  ])('%s', (_, extra, kind) => {
    expect(credentialFor(parseSettings({ ...base, ...extra }))).toBeInstanceOf(kind);
  });
});
