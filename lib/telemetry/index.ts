import type { AppInsightsTelemetryOptions } from './appInsights';
import type { TelemetrySink } from './sink';

export * from './names';
export * from './records';
export * from './sink';
export type { AppInsightsTelemetryOptions } from './appInsights';

/**
 * The Application Insights sink, loaded on first use: the SDK is the heaviest module the monitor has (see
 * test/bench/coldstart-notes.md), and a monitor without a connection string should not pay for it.
 */
export async function loadAppInsightsTelemetry(opts: AppInsightsTelemetryOptions): Promise<TelemetrySink> {
  const { createAppInsightsTelemetry } = await import('./appInsights');
  return createAppInsightsTelemetry(opts);
}
