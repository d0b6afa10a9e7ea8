import { parseUserConfig } from '../catalog';
import type { Settings } from '../config/settings';
import { proxyFromEnv, type OsCaBundle } from '../probes';
import type { RegressionConfig } from './types';
import type { MonitorInputs } from './setup';

/**
 * Converts parsed app settings into cycle inputs. The NODE_EXTRA_CA_CERTS file and the OS CA bundle are read by
 * the caller and passed in (`extraCaPem`, `osCa`), so this stays pure; ARCMON_EXPECTED_ROOTS_PEM holds its certificates itself.
 */
export function inputsFromSettings(s: Settings, files: { extraCaPem: string[]; osCa?: OsCaBundle }): MonitorInputs {
  const userConfig = s.ARCMON_ENDPOINTS_JSON
    ? parseUserConfig(s.ARCMON_ENDPOINTS_JSON, 'ARCMON_ENDPOINTS_JSON')
    : undefined;
  const proxyUrl = s.ARCMON_PROXY ?? s.HTTPS_PROXY;
  const proxy = proxyUrl ? proxyFromEnv({ HTTPS_PROXY: proxyUrl, NO_PROXY: s.NO_PROXY }) : undefined;
  return {
    cloud: s.ARCMON_CLOUD,
    region: s.ARCMON_REGION,
    scenarios: s.ARCMON_SCENARIOS,
    ...(userConfig ? { userConfig } : {}),
    ...(s.ARCMON_DNS_SERVER ? { dnsServer: s.ARCMON_DNS_SERVER } : {}),
    ...(proxy ? { proxy } : {}),
    privateLink: s.ARCMON_PRIVATE_LINK,
    privateRanges: s.ARCMON_PRIVATE_RANGES,
    ...(s.ARCMON_EXPECTED_ROOTS_PEM ? { expectedRootsPem: s.ARCMON_EXPECTED_ROOTS_PEM } : {}),
    extraCaPem: files.extraCaPem,
    ...(files.osCa ? { osCa: files.osCa } : {}),
    timeoutMs: s.ARCMON_TIMEOUT_MS,
    thresholds: {
      slowMs: s.ARCMON_SLOW_MS,
      certExpiryWarnDays: s.ARCMON_CERT_EXPIRY_DAYS,
      clockSkewMs: s.ARCMON_CLOCK_SKEW_MS,
    },
    fetchAllowlist: true,
  };
}

export function regressionConfigFromSettings(s: Settings): RegressionConfig {
  return {
    openAfter: s.ARCMON_OPEN_AFTER,
    resolveAfter: s.ARCMON_RESOLVE_AFTER,
    latencyRatio: s.ARCMON_LATENCY_RATIO,
    latencyFloorMs: s.ARCMON_LATENCY_FLOOR_MS,
  };
}
