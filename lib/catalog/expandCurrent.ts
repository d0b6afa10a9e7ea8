/**
 * Wildcard rules for the rows beyond the seeds (current.ts): region-derived hosts, and the customer values
 * (gateway prefix, workspace id, DNS servers) without which a row is skipped with the option that fixes it.
 */
import type { Cloud } from './types';

export const REGION_FIX = 'set the region (app setting ARCMON_REGION, or --region)';
export const WHERE = 'in the endpoints JSON (app setting ARCMON_ENDPOINTS_JSON, or the file given to --endpoints)';

/** What the rules need of the expansion options (a subset of ExpandOptions). */
interface RuleOptions {
  cloud: Cloud;
  region: string;
  wildcards?: { gatewayPrefix?: string; workspaceId?: string; dnsServers?: string[] };
}

interface Concrete {
  hosts: string[];
  skipped?: { reason: string; fix: string };
}

/** Suffixes whose concrete host is `<region>.<suffix>` (the pages write `<region>.…` or `<virtual-machine-region-name>.…`). */
const REGIONAL_SUFFIXES = [
  'login.microsoft.com',
  'dp.kubernetesconfiguration.azure.com',
  'handler.control.monitor.azure.com',
  'monitoring.azure.com',
];

function customerValue(
  value: string | undefined,
  reason: string,
  fix: string,
  toHost: (v: string) => string,
): Concrete {
  const v = value?.trim().toLowerCase();
  if (v) return { hosts: [toHost(v)] };
  return { hosts: [], skipped: { reason, fix } };
}

/** The concrete hosts for a pattern a current row uses, or undefined when no rule here applies. */
export function currentRule(pattern: string, opts: RuleOptions): Concrete | undefined {
  const w = opts.wildcards ?? {};
  if (pattern === '<dns-server>') {
    const servers = (w.dnsServers ?? []).map((s) => s.trim()).filter(Boolean);
    if (servers.length > 0) return { hosts: servers };
    return {
      hosts: [],
      skipped: {
        reason: 'the resource bridge must reach the DNS servers it was given on port 53, and none were named',
        fix: 'give the DNS server (--dns-server, or app setting ARCMON_DNS_SERVER)',
      },
    };
  }
  const suffix = pattern.startsWith('*.') ? pattern.slice(2) : undefined;
  if (suffix === undefined) return undefined;
  if (REGIONAL_SUFFIXES.includes(suffix)) {
    if (opts.region) return { hosts: [`${opts.region}.${suffix}`] };
    return { hosts: [], skipped: { reason: `no region was given for <region>.${suffix}`, fix: REGION_FIX } };
  }
  if (suffix === 'gw.arc.azure.com') {
    return customerValue(
      w.gatewayPrefix,
      'the gateway URL carries the prefix Azure gave your Arc gateway resource (az arcgateway list)',
      `give --gateway-prefix, or set wildcards.gatewayPrefix ${WHERE}`,
      (v) => `${v}.${suffix}`,
    );
  }
  if (suffix === 'ods.opinsights.azure.com') {
    return customerValue(
      w.workspaceId,
      'Azure Monitor Agent sends to <workspace-id>.ods.opinsights.azure.com, and no workspace id was given',
      `give --workspace-id, or set wildcards.workspaceId ${WHERE}`,
      (v) => `${v}.${suffix}`,
    );
  }
  return undefined;
}
