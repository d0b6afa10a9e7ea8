import { ManagedIdentityCredential, DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { Settings } from '../config/settings';
import { probeTarget } from '../probes';
import { createTableStore, type MonitorStore } from '../store';
import type { TelemetrySink } from '../telemetry/sink';
import { noopTelemetry } from '../telemetry/sink';
import type { MonitorDeps } from './monitor';

/**
 * The Microsoft Entra ID identity of the monitor, for Table Storage and Application Insights ingestion:
 * - AZURE_CLIENT_ID alone: that user-assigned managed identity (the Azure deployment);
 * - otherwise DefaultAzureCredential, which finds a service principal in the environment (AZURE_TENANT_ID +
 *   AZURE_CLIENT_ID + AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH), workload identity, a managed identity
 *   (system-assigned, or an Arc-enabled server's), or a developer's `az login` / `azd auth login`.
 * AZURE_TENANT_ID tells the two AZURE_CLIENT_ID cases apart: a managed identity never needs it, a service principal
 * always does.
 */
export function credentialFor(settings: Pick<Settings, 'AZURE_CLIENT_ID' | 'AZURE_TENANT_ID'>): TokenCredential {
  return settings.AZURE_CLIENT_ID && !settings.AZURE_TENANT_ID
    ? new ManagedIdentityCredential({ clientId: settings.AZURE_CLIENT_ID })
    : new DefaultAzureCredential();
}

export interface BuiltDeps extends MonitorDeps {
  close(): Promise<void>;
}

/**
 * Builds the store and telemetry sinks from settings. Table Storage uses the identity ({@link credentialFor}) against
 * ARCMON_TABLE_ENDPOINT, or a connection string (Azurite / on-premises). Application Insights is loaded only when
 * a connection string is configured, and sends with an Entra ID token from the same identity unless
 * ARCMON_TELEMETRY_AUTH is `key`.
 * @param opts.credential the identity to use instead of {@link credentialFor}'s. Default: that one.
 */
export async function createDeps(
  settings: Settings,
  opts: { log: (line: string) => void; spoolDir?: string; credential?: TokenCredential },
): Promise<BuiltDeps> {
  const tablesNeedIdentity = !settings.ARCMON_STORAGE_CONNECTION_STRING;
  const telemetryNeedsIdentity =
    settings.APPLICATIONINSIGHTS_CONNECTION_STRING !== undefined && settings.ARCMON_TELEMETRY_AUTH === 'entra';
  const credential =
    tablesNeedIdentity || telemetryNeedsIdentity ? (opts.credential ?? credentialFor(settings)) : undefined;
  const store: MonitorStore = createTableStore({
    prefix: settings.ARCMON_TABLE_PREFIX,
    ...(settings.ARCMON_STORAGE_CONNECTION_STRING
      ? { connectionString: settings.ARCMON_STORAGE_CONNECTION_STRING }
      : { tableEndpoint: settings.ARCMON_TABLE_ENDPOINT, credential }),
    ...(opts.spoolDir ? { spoolDir: opts.spoolDir } : {}),
    onUnreadableRow: (message) => opts.log(`warning: ${message}`),
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
    // A telemetry sink that cannot start must not take the tables down with it.
    try {
      telemetry = await createAppInsightsTelemetry({
        connectionString: settings.APPLICATIONINSIGHTS_CONNECTION_STRING,
        ...(telemetryNeedsIdentity && credential
          ? {
              credential,
              onTokenError: (message: string) =>
                opts.log(
                  `warning: telemetry is not being sent: no Microsoft Entra ID token for Application Insights (${message}); give this machine an identity with the Monitoring Metrics Publisher role on the Application Insights resource, or set ARCMON_TELEMETRY_AUTH=key if that resource accepts keys`,
                ),
            }
          : {}),
        cloudRole: 'arc-connectivity-monitor',
      });
    } catch (err) {
      opts.log(
        `warning: telemetry is off: Application Insights could not start (${err instanceof Error ? err.message : String(err)}); check APPLICATIONINSIGHTS_CONNECTION_STRING`,
      );
    }
  }
  return {
    store,
    telemetry,
    probe: probeTarget,
    log: opts.log,
    close: () => telemetry.close(),
  };
}
