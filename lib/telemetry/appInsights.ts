import type { TokenCredential } from '@azure/identity';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { TelemetryClient } from 'applicationinsights';
// Not exported by the package (its `exports` map hides it), hence the path. Same file the exporter itself
// requires, so Node and esbuild both hand us the one singleton the SDK uses. See stopRemoteConfigurationPolling.
import { ConfigurationManager } from '../../node_modules/@azure/monitor-opentelemetry-exporter/dist/commonjs/_configuration/configurationManager.js';
import { cycleTelemetry } from './records';
import type { TelemetrySink } from './sink';

/** Options of the Application Insights sink. */
export interface AppInsightsTelemetryOptions {
  /** `InstrumentationKey=...;IngestionEndpoint=https://...` of the Application Insights resource. */
  connectionString: string;
  /** Entra ID ingestion (managed identity, role Monitoring Metrics Publisher). Default: none (key-based ingestion). */
  credential?: TokenCredential;
  /**
   * Told when `credential` gives no token, in which case the SDK sends nothing and says nothing (it drops the
   * batch). Called when such failures start and when their message changes, not for every attempt. Default: none.
   */
  onTokenError?: (message: string) => void;
  /** `cloud_RoleName` of everything sent. Default `arc-connectivity-monitor`. */
  cloudRole?: string;
  /** Upper bound on flush() (and on each half of close()), milliseconds. Default 20 000. */
  flushTimeoutMs?: number;
}

/**
 * Environment switches the SDK reads when its exporters are built (not at load time), set here so they are set
 * before any exporter exists. APPLICATION_INSIGHTS_NO_STATSBEAT is the one that matters: it stops statsbeat
 * altogether (its metrics to Microsoft's statsbeat endpoints and its instance-metadata probe of 169.254.169.254);
 * the other two turn off the newer partial switches, in case a later SDK honours only those.
 */
const SDK_SWITCHES = {
  APPLICATION_INSIGHTS_NO_STATSBEAT: 'true',
  APPLICATIONINSIGHTS_STATSBEAT_DISABLED: 'true',
  APPLICATIONINSIGHTS_SDKSTATS_DISABLED: 'true',
} as const;

const DEFAULT_CLOUD_ROLE = 'arc-connectivity-monitor';
const DEFAULT_FLUSH_TIMEOUT_MS = 20_000;

/**
 * Every Azure Monitor exporter starts a process-wide poller of Microsoft's SDK configuration service
 * (settings.sdk.monitor.azure.com, first call 5-15 s after start, then hourly), with no switch to refuse it.
 * The monitor must talk to nothing but the endpoints it is configured for, so the poller is stopped as soon
 * as the exporters exist (they are the only callers that start it).
 */
function stopRemoteConfigurationPolling(): void {
  ConfigurationManager.getInstance().shutdown();
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Rejects a connection string the SDK would accept and then silently send nothing with (it logs, at most).
 * Messages never repeat the value: it carries the instrumentation key.
 */
export function checkConnectionString(connectionString: string): void {
  const fields = new Map<string, string>();
  for (const part of connectionString.split(';')) {
    const at = part.indexOf('=');
    if (at > 0) fields.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  if (!GUID.test(fields.get('instrumentationkey') ?? '')) {
    throw new Error('Application Insights connection string: InstrumentationKey is missing or is not a GUID');
  }
  const endpoint = fields.get('ingestionendpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^/\s]+/i.test(endpoint)) {
    throw new Error(
      'Application Insights connection string: IngestionEndpoint must be a URL such as https://westeurope-5.in.applicationinsights.azure.com/',
    );
  }
}

/**
 * The credential, telling `report` when it fails: once when failures start and again when their message changes,
 * so a monitor that cannot authenticate says so once per change rather than at every export.
 */
function reportingTokenErrors(credential: TokenCredential, report: (message: string) => void): TokenCredential {
  let last: string | undefined;
  return {
    async getToken(scopes, options) {
      try {
        const token = await credential.getToken(scopes, options);
        last = undefined;
        return token;
      } catch (err) {
        const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' | ');
        if (message !== last) report(message);
        last = message;
        throw err;
      }
    },
  };
}

/** Resolves when `work` settles or after `ms`, whichever comes first; never rejects. */
async function settleWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work.then(
        () => undefined,
        () => undefined,
      ),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
        timer.unref();
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The Application Insights sink, on the `applicationinsights` 3.x SDK, used only for what we hand it:
 * an isolated TelemetryClient (its own OpenTelemetry providers, none global), so no instrumentation is
 * installed (no request/dependency records for our probes, no console or logger capture), no live metrics,
 * no performance counters, no resource detectors, sampling 100 %. See lib/telemetry/README.md for each choice.
 */
export function createAppInsightsTelemetry(opts: AppInsightsTelemetryOptions): Promise<TelemetrySink> {
  // A bad option rejects the promise rather than throwing at the call.
  return new Promise((resolve) => resolve(buildSink(opts)));
}

function buildSink(opts: AppInsightsTelemetryOptions): TelemetrySink {
  checkConnectionString(opts.connectionString);
  for (const [name, value] of Object.entries(SDK_SWITCHES)) process.env[name] = value;

  const flushTimeoutMs = opts.flushTimeoutMs ?? DEFAULT_FLUSH_TIMEOUT_MS;

  const client = new TelemetryClient(opts.connectionString, { useGlobalProviders: false });
  const config = client.config;
  config.samplingPercentage = 100;
  config.enableSendLiveMetrics = false;
  config.enableAutoCollectRequests = false;
  config.enableAutoCollectDependencies = false;
  config.enableAutoCollectConsole = false;
  config.enableAutoCollectExternalLoggers = false;
  config.enableAutoCollectExceptions = false;
  config.enableAutoCollectPerformance = false;
  // Offline storage off: in this SDK a persisted batch is deleted unsent on replay (README, "Offline storage").
  config.enableUseDiskRetryCaching = false;
  // v3 ignores APPLICATIONINSIGHTS_AUTHENTICATION_STRING outside the auto-attach agent: the credential goes here.
  if (opts.credential) {
    config.aadTokenCredential = opts.onTokenError
      ? reportingTokenErrors(opts.credential, opts.onTokenError)
      : opts.credential;
  }
  config.azureMonitorOpenTelemetryOptions = {
    // A fixed resource: the default would be "unknown_service:node", and no detector (Azure VM metadata) runs.
    resource: resourceFromAttributes({ 'service.name': opts.cloudRole ?? DEFAULT_CLOUD_ROLE }),
    azureMonitorExporterOptions: { connectionString: opts.connectionString, disableOfflineStorage: true },
    enableLiveMetrics: false,
    enableStandardMetrics: false,
    enablePerformanceCounters: false,
  };
  client.initialize();
  stopRemoteConfigurationPolling();

  let closed = false;
  let closing: Promise<void> | undefined;
  const flush = () => settleWithin(client.flush(), flushTimeoutMs);

  const sink: TelemetrySink = {
    reportCycle(report, outcome, extra) {
      if (closed) return;
      const telemetry = cycleTelemetry(report, outcome, extra);
      for (const availability of telemetry.availability) client.trackAvailability(availability);
      for (const event of telemetry.events) client.trackEvent(event);
      for (const metric of telemetry.metrics) client.trackMetric(metric);
    },
    flush: () => (closed ? (closing ?? Promise.resolve()) : flush()),
    close() {
      closing ??= (async () => {
        closed = true;
        await flush();
        await settleWithin(client.shutdown(), flushTimeoutMs);
      })();
      return closing;
    },
  };
  return sink;
}
