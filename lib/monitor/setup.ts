import { readFile } from 'node:fs/promises';
import type { LookupFunction } from 'node:net';
import { Agent, ProxyAgent, type Dispatcher } from 'undici';
import {
  CATALOG,
  applyUserConfig,
  excludesTarget,
  resolveScenarios,
  expandTargets,
  fetchNotificationAllowlist,
  notificationAllowlistUrl,
  type UserConfig,
} from '../catalog';
import { type Cloud, type ExpandedTargets, type Scenario } from '../catalog/types';
import { buildTrust, createResolver, hostsOrderOf, redactProxyUrl, type HostsFile, type OsCaBundle } from '../probes';
import type { ProbeContext, ProbeThresholds, ProxyConfig, Resolver } from '../probes/types';

/** Everything that decides what a cycle probes and how; produced from CLI flags or app settings. */
export interface MonitorInputs {
  cloud: Cloud;
  /** Azure region of the Arc resources (e.g. `eastus`); empty = regional wildcards are skipped. */
  region: string;
  /** Scenario names; `all` selects every row for the cloud. Default `['servers']`. */
  scenarios: string[];
  userConfig?: UserConfig;
  /** `ip[:port]`; absent = the system resolver (hosts file per nsswitch.conf, then /etc/resolv.conf). */
  dnsServer?: string;
  /**
   * The files the system resolver reads, as the agent's Go resolver does. Default `/etc/hosts` (on Windows
   * `C:\Windows\System32\drivers\etc\hosts`) and `/etc/nsswitch.conf`.
   */
  systemResolverFiles?: { hosts: string; nsswitch: string };
  proxy?: ProxyConfig;
  privateLink: boolean;
  /**
   * CIDR ranges (`--private-range`, ARCMON_PRIVATE_RANGES) that also count as private endpoint addresses; the
   * endpoints file's `privateRanges` are added. Validated at the edge. Default none.
   */
  privateRanges?: string[];
  /** PEM text of roots that count as genuine (sanctioned inspection, tests). */
  expectedRootsPem?: string;
  /** PEM texts trusted in addition to the OS store (NODE_EXTRA_CA_CERTS contents). */
  extraCaPem: string[];
  /** The operating system's CA bundle (`readOsCaBundle`); absent = Node's bundled roots, labelled as such. */
  osCa?: OsCaBundle;
  timeoutMs: number;
  thresholds: ProbeThresholds;
  /** Fetch the notification service allowlist for `azgn*` hosts when none are configured. Default true. */
  fetchAllowlist: boolean;
}

export interface PreparedCycle {
  expanded: ExpandedTargets;
  ctx: ProbeContext;
  scenarios: Scenario[] | 'all';
  /** What happened to the allowlist fetch, for the report. */
  notes: string[];
}

export const DEFAULT_THRESHOLDS: ProbeThresholds = { slowMs: 3000, certExpiryWarnDays: 14, clockSkewMs: 1000 };

/** Reads NODE_EXTRA_CA_CERTS the way Node does at start, so our own chain checks trust the same CAs. */
export async function readExtraCa(env: Record<string, string | undefined>): Promise<string[]> {
  const file = env.NODE_EXTRA_CA_CERTS;
  if (!file) return [];
  try {
    return [await readFile(file, 'utf8')];
  } catch {
    return [];
  }
}

/**
 * Where Linux distributions keep the CA bundle, in the order Go's crypto/x509 (root_linux.go) looks, the agent
 * being a Go program: Debian/Ubuntu, Fedora/RHEL 6, OpenSUSE, OpenELEC, CentOS/RHEL 7, Alpine.
 */
export const OS_CA_BUNDLE_FILES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/pki/tls/cacert.pem',
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem',
  '/etc/ssl/cert.pem',
] as const;

/**
 * Reads the CA bundle the agent would trust: `SSL_CERT_FILE` when set (Go honours it), else the first of
 * `files` that exists. Undefined when none can be read (Windows, or a machine without a bundle): the probe then
 * verifies against Node's bundled roots and its reports say so.
 */
export async function readOsCaBundle(
  env: Record<string, string | undefined>,
  files: readonly string[] = OS_CA_BUNDLE_FILES,
): Promise<OsCaBundle | undefined> {
  const candidates = env.SSL_CERT_FILE ? [env.SSL_CERT_FILE] : files;
  for (const path of candidates) {
    try {
      return { path, pem: await readFile(path, 'utf8') };
    } catch {
      // Not on this distribution: try the next place.
    }
  }
  return undefined;
}

const DEFAULT_SYSTEM_RESOLVER_FILES = {
  hosts: process.platform === 'win32' ? 'C:\\Windows\\System32\\drivers\\etc\\hosts' : '/etc/hosts',
  nsswitch: '/etc/nsswitch.conf',
};

/** Reads the hosts file and nsswitch order for the system resolver; a missing hosts file is a note, DNS goes on. */
async function systemResolverSetup(
  inputs: MonitorInputs,
  notes: string[],
): Promise<{ hosts?: HostsFile; hostsOrder: ReturnType<typeof hostsOrderOf> }> {
  const files = inputs.systemResolverFiles ?? DEFAULT_SYSTEM_RESOLVER_FILES;
  const nsswitch = await readFile(files.nsswitch, 'utf8').catch(() => undefined);
  const hostsOrder = hostsOrderOf(nsswitch);
  try {
    return { hosts: { path: files.hosts, text: await readFile(files.hosts, 'utf8') }, hostsOrder };
  } catch {
    notes.push(`hosts file ${files.hosts} could not be read: names are resolved by DNS only`);
    return { hostsOrder };
  }
}

/** A `lookup` for sockets that resolves through our resolver, so every name goes to the configured DNS server. */
export function lookupVia(resolver: Resolver, timeoutMs: number): LookupFunction {
  return (hostname, options, callback) => {
    const signal = AbortSignal.timeout(timeoutMs);
    void (async () => {
      const v4 = await resolver.resolve(hostname, 4, signal);
      const answer = v4.ok ? v4 : await resolver.resolve(hostname, 6, signal);
      if (!answer.ok || answer.addresses.length === 0) {
        const err = Object.assign(new Error(answer.ok ? `${hostname}: no address` : answer.message), {
          code: 'ENOTFOUND',
        });
        callback(err, '', 4);
        return;
      }
      const family = answer === v4 ? 4 : 6;
      if ((options as { all?: boolean }).all) {
        (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(
          null,
          answer.addresses.map((address) => ({ address, family })),
        );
      } else {
        callback(null, answer.addresses[0] as string, family);
      }
    })();
  };
}

function allowlistDispatcher(inputs: MonitorInputs, resolver: Resolver, ca: string[]): Dispatcher {
  if (inputs.proxy) {
    return new ProxyAgent({ uri: inputs.proxy.url.toString(), requestTls: { ca } });
  }
  return new Agent({ connect: { lookup: lookupVia(resolver, inputs.timeoutMs), ca } });
}

/**
 * Turns inputs into the targets and probe context of a cycle. The only network call here is the notification
 * allowlist (when `azgn*` hosts are not configured); its failure is a note and a skipped target, never an error.
 */
export async function prepareCycle(inputs: MonitorInputs): Promise<PreparedCycle> {
  const scenarios = resolveScenarios(
    inputs.scenarios.length > 0 ? inputs.scenarios : (inputs.userConfig?.scenarios ?? []),
  );
  const notes: string[] = [];
  const resolver = createResolver({
    server: inputs.dnsServer,
    timeoutMs: inputs.timeoutMs,
    ...(inputs.dnsServer === undefined ? await systemResolverSetup(inputs, notes) : {}),
  });
  const trust = buildTrust({
    extraCaPem: inputs.extraCaPem,
    expectedRootsPem: inputs.expectedRootsPem,
    ...(inputs.osCa ? { osCa: inputs.osCa } : {}),
  });
  const entries = inputs.userConfig ? applyUserConfig(CATALOG, inputs.userConfig) : [...CATALOG];
  const wildcards = { ...(inputs.userConfig?.wildcards ?? {}) };

  const cfg = inputs.userConfig;
  const expand = (extra: { notificationAllowlistProblem?: string } = {}) => {
    const all = expandTargets(entries, { cloud: inputs.cloud, region: inputs.region, scenarios, wildcards, ...extra });
    return cfg ? { ...all, targets: all.targets.filter((t) => !excludesTarget(cfg, t)) } : all;
  };
  let expanded = expand();

  // Only when an azgn* wildcard is still unresolved is the allowlist fetched, and the targets expanded again.
  const needsAllowlist =
    inputs.fetchAllowlist &&
    inputs.region !== '' &&
    !wildcards.notificationHosts?.length &&
    expanded.skipped.some((s) => s.hostPattern.startsWith('azgn*'));
  if (needsAllowlist) {
    const url = notificationAllowlistUrl(inputs.cloud, inputs.region);
    const dispatcher = allowlistDispatcher(inputs, resolver, trust.ca);
    try {
      const patterns = [...new Set(expanded.skipped.map((s) => s.hostPattern).filter((p) => p.startsWith('azgn*')))];
      const got = await fetchNotificationAllowlist(url, {
        dispatcher,
        signal: AbortSignal.timeout(inputs.timeoutMs),
        patterns,
      });
      if (got.ok) {
        wildcards.notificationHosts = got.hosts;
        notes.push(`notification allowlist: ${got.hosts.length} host(s) from ${url}`);
        if (got.leftOut.count > 0) {
          notes.push(
            `notification allowlist: left out ${got.leftOut.count} entries that are not ${patterns.join(' or ')} host names or past the first ${got.hosts.length} (e.g. ${got.leftOut.examples.join(', ')})`,
          );
        }
        expanded = expand();
      } else {
        notes.push(`notification allowlist unavailable (${got.message}); azgn* hosts skipped`);
        expanded = expand({
          notificationAllowlistProblem: `the allowlist at ${url} could not be read: ${got.message}`,
        });
      }
    } finally {
      await dispatcher.close();
    }
  }

  const ctx: ProbeContext = {
    resolver,
    trust,
    privateLinkMode: inputs.privateLink,
    thresholds: inputs.thresholds,
    timeoutMs: inputs.timeoutMs,
    privateRanges: [...(inputs.privateRanges ?? []), ...(inputs.userConfig?.privateRanges ?? [])],
    maxBodyBytes: 4096,
    now: () => new Date(),
    ...(inputs.proxy ? { proxy: inputs.proxy } : {}),
  };
  if (inputs.proxy) notes.push(`proxy: ${redactProxyUrl(inputs.proxy.url)}`);
  return { expanded, ctx, scenarios, notes };
}
