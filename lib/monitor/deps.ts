import { ManagedIdentityCredential, DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { Settings } from '../config/settings';
import { probeTarget } from '../probes';
import { createTableStore, type MonitorStore } from '../store';
import type { TelemetrySink } from '../telemetry/sink';
import { noopTelemetry } from '../telemetry/sink';
import type { MonitorDeps } from './monitor';

/**
 * The managed identity in Azure: the user-assigned one when its client id is configured, else whatever
 * DefaultAzureCredential finds (system-assigned identity, or a developer's az login on-premises).
 */
export function credentialFor(settings: Settings): TokenCredential {
  return settings.AZURE_CLIENT_ID
    ? new ManagedIdentityCredential({ clientId: settings.AZURE_CLIENT_ID })
    : new DefaultAzureCredential();
}

export interface BuiltDeps extends MonitorDeps {
  close(): Promise<void>;
}

/**
 * Builds the store and telemetry sinks from settings. Table Storage uses the managed identity against
 * ARCMON_TABLE_ENDPOINT, or a connection string (Azurite / on-premises). Application Insights is loaded only when
 * a connection string is configured, with Entra ID ingestion when a client id is set.
 */
export async function createDeps(
  settings: Settings,
  opts: { log: (line: string) => void; spoolDir?: string; credential?: TokenCredential },
): Promise<BuiltDeps> {
  const needsCredential = !settings.ARCMON_STORAGE_CONNECTION_STRING || settings.AZURE_CLIENT_ID;
  const credential = opts.credential ?? (needsCredential ? credentialFor(settings) : undefined);
  const store: MonitorStore = createTableStore({
    prefix: settings.ARCMON_TABLE_PREFIX,
    ...(settings.ARCMON_STORAGE_CONNECTION_STRING
      ? { connectionString: settings.ARCMON_STORAGE_CONNECTION_STRING }
      : { tableEndpoint: settings.ARCMON_TABLE_ENDPOINT, credential }),
    ...(opts.spoolDir ? { spoolDir: opts.spoolDir } : {}),
  });
  try {
    await store.init();
  } catch (err) {
    // Writes recreate missing tables, and an outage is spooled: a store that is down at start must not stop probing.
    opts.log(`warning: could not prepare the tables (${err instanceof Error ? err.message : String(err)}); continuing`);
  }
  let telemetry: TelemetrySink = noopTelemetry;
  if (settings.APPLICATIONINSIGHTS_CONNECTION_STRING) {
    // Loaded lazily: the SDK is the heaviest module we have, and a monitor without telemetry should not pay for it.
    const { createAppInsightsTelemetry } = await import('../telemetry/appInsights');
    telemetry = await createAppInsightsTelemetry({
      connectionString: settings.APPLICATIONINSIGHTS_CONNECTION_STRING,
      ...(settings.AZURE_CLIENT_ID && credential ? { credential } : {}),
      cloudRole: 'arc-connectivity-monitor',
    });
  }
  return {
    store,
    telemetry,
    probe: probeTarget,
    log: opts.log,
    close: () => telemetry.close(),
  };
}
