/** The endpoint catalog's public API: seed data, user configuration, wildcard expansion, notification allowlist. */
export * from './types';
export { AGENT_SERVICE_TAGS, CATALOG } from './entries';
export { expandTargets, HIS_REGIONAL_PREFIXES, isDnsName, matchesHostPattern, resolveScenarios } from './expand';
export type { ExpandOptions, WildcardHosts } from './expand';
export {
  applyUserConfig,
  closest,
  ConfigError,
  excludesTarget,
  formatPath,
  parseUserConfig,
  userEntries,
} from './userConfig';
export { cloudOfRegion, REGIONS } from './regions';
export type { UserConfig, UserEndpoint } from './userConfig';
export { fetchNotificationAllowlist, notificationAllowlistUrl } from './allowlist';
export type { AllowlistFetchOptions, AllowlistResult } from './allowlist';
