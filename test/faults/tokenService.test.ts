import { readdir } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSettings } from '../../lib/config/settings';
import { credentialFor } from '../../lib/monitor/deps';
import { recordCycle } from '../../lib/monitor/monitor';
import { createTableStore, startAzurite, type AzuriteHandle } from '../../lib/store';
import { createAppInsightsTelemetry } from '../../lib/telemetry/appInsights';
import { EVENTS } from '../../lib/telemetry/names';
import { uniqueTablePrefix } from '../helpers/azurite';
import { INGESTION_CERT_DIR_ENV, startIngestionServer, type IngestionServer } from '../helpers/ingestionServer';
import { cycleReport, manyTargets } from '../store/fixtures';
import { startTokenEndpoint, type TokenEndpoint } from '../telemetry/tokenEndpoint';
import { faultConfig, tallyHistory } from './tally';

/**
 * The managed identity's token service fails (an IMDS blip) and comes back. Storage is Azurite in its OAuth mode over
 * HTTPS, so every table request carries a bearer token that @azure/identity got from the loopback token endpoint:
 * the managed identity path runs for real. Nothing may be set aside, lost or doubled, and the heartbeat must go out
 * while the tables are unreachable.
 */

const SITE = 'hub-oauth';
const CLIENT_ID = '5a3c9e62-0d7b-4c1e-9b0f-2f6d8a41c7e3';
let azurite: AzuriteHandle;
let identity: TokenEndpoint;
let ingestion: IngestionServer;
let spoolRoot: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  const certDir = process.env[INGESTION_CERT_DIR_ENV] as string;
  azurite = await startAzurite({
    port: 0,
    https: { certPath: join(certDir, 'leaf.pem'), keyPath: join(certDir, 'leaf-key.pem'), oauth: true },
  });
  identity = await startTokenEndpoint({ jwt: true });
  ingestion = await startIngestionServer();
  for (const name of Object.keys(process.env))
    if (/^(AZURE_|MSI_|IDENTITY_|IMDS_)/.test(name)) delete process.env[name];
  Object.assign(process.env, identity.env);
  spoolRoot = await mkdtemp(join(tmpdir(), 'arcmon-token-fault-'));
});

afterAll(async () => {
  process.env = savedEnv;
  await azurite?.stop();
  await identity?.close();
  await ingestion?.close();
  await rm(spoolRoot, { recursive: true, force: true });
});

const cfg = faultConfig(SITE);

describe('the token service fails, then recovers', () => {
  it('keeps every result in the spool, sends the heartbeat meanwhile, and writes each result once afterwards', async () => {
    const settings = parseSettings({
      ARCMON_REGION: 'westeurope',
      ARCMON_SITE: SITE,
      ARCMON_TABLE_ENDPOINT: azurite.tableEndpoint,
      AZURE_CLIENT_ID: CLIENT_ID,
    });
    const credential = credentialFor(settings);
    const prefix = uniqueTablePrefix();
    const spoolDir = join(spoolRoot, 'spool');
    const store = createTableStore({
      tableEndpoint: azurite.tableEndpoint,
      credential,
      prefix,
      spoolDir,
      // One attempt per request: the identity library already retries the token service (about 2.5 s per failure).
      retry: { attempts: 1, timeoutMs: 10_000 },
    });
    const telemetry = await createAppInsightsTelemetry({
      connectionString: ingestion.connectionString,
      cloudRole: 'arc-connectivity-monitor',
    });
    const log: string[] = [];
    const deps = { store, telemetry, log: (line: string) => log.push(line) };
    const targets = manyTargets(120);
    try {
      identity.fail(502);
      const down = cycleReport(SITE, '2026-03-01T10:00:00.000Z', targets);
      const first = await recordCycle(cfg, deps, down, { pastDue: false });
      expect(first.write).toMatchObject({ entities: 0, spooled: { entities: 120 }, rejectedSpoolBatches: 0 });
      expect(first.write.error).toMatch(/^(CredentialUnavailableError|AuthenticationError)/);
      await ingestion.waitFor((envs) =>
        envs.some(
          (e) =>
            e.data.baseData.name === EVENTS.cycle &&
            (e.data.baseData.properties as Record<string, string>).cycleId === down.cycleId,
        ),
      );
      expect(identity.requests.some((r) => r.status === 502)).toBe(true);

      identity.fail(null);
      const back = cycleReport(SITE, '2026-03-01T10:05:00.000Z', targets);
      const second = await recordCycle(cfg, deps, back, { pastDue: false });
      expect(second.write).toMatchObject({
        flushed: { entities: first.write.spooled.entities },
        spooled: { entities: 0 },
        pendingSpoolBatches: 0,
        rejectedSpoolBatches: 0,
      });
      const files = (await readdir(join(spoolDir, SITE))).filter((f) => !f.endsWith('.tmp'));
      expect(files).toEqual([]);
      expect(identity.requests.filter((r) => r.status === 200).every((r) => r.resource?.includes('storage'))).toBe(
        true,
      );

      const history = new TableClient(azurite.tableEndpoint, store.tables.history, credential);
      const tally = await tallyHistory(history, [down, back], 'token service down for one cycle');
      expect(tally).toEqual({ expected: 240, lost: 0, duplicated: 0 });
    } finally {
      await telemetry.close();
    }
  });
});
