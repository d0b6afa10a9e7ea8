/**
 * Wildcard expansion: catalog entries (host patterns) → the concrete targets a cycle probes, for one cloud,
 * region and set of scenarios. A wildcard that cannot be made concrete becomes a SkippedTarget naming the
 * setting that would fix it; nothing is dropped silently.
 */
import type {
  Agent,
  CatalogEntry,
  Cloud,
  ExpandedTargets,
  PrivateLinkColumn,
  Requirement,
  Scenario,
  SkippedTarget,
  Target,
} from './types';
import { currentRule, REGION_FIX, WHERE } from './expandCurrent';
import { AGENTS, PROTOCOL_CHECKS, REQUIREMENTS, SCENARIOS } from './types';

/** Concrete hosts the user (or the notification allowlist) supplies for wildcard rows. */
export interface WildcardHosts {
  /**
   * Short region code of the regional hybrid identity host (`<prefix>.his.arc.azure.com`), e.g. `weu`.
   * Default: the built-in map (HIS_REGIONAL_PREFIXES, public cloud only).
   */
  hisRegionalPrefix?: string;
  /** Hosts for `azgn*.servicebus.*`: the notification service's current allowlist. Default: none (skipped). */
  notificationHosts?: string[];
  /** Storage account names for `*.blob.core.*` (`<account>.blob.core.windows.net`). Default: none (skipped). */
  blobAccounts?: string[];
  /** Azure Relay namespace names for the SSH / Windows Admin Center `*.servicebus.*` row. Default: none. */
  serviceBusNamespaces?: string[];
  /** Concrete hosts for any wildcard, keyed by the pattern exactly as in the catalog. Always wins. */
  hosts?: Record<string, string[]>;
  /** Prefix of your Azure Arc gateway URL (`<prefix>.gw.arc.azure.com`). Default: none (skipped). */
  gatewayPrefix?: string;
  /** Log Analytics workspace id for Azure Monitor Agent (`<id>.ods.opinsights.azure.com`). Default: none. */
  workspaceId?: string;
  /** DNS servers the resource bridge was given (port 53 reachability). Default: none (skipped). */
  dnsServers?: string[];
}

export interface ExpandOptions {
  cloud: Cloud;
  /** Azure region name, lower case, e.g. `eastus`. Empty: regional hosts are reported as skipped. */
  region: string;
  /** Entries are selected when any of their scenarios is; `all` selects every entry of the cloud. */
  scenarios: readonly Scenario[] | 'all';
  wildcards?: WildcardHosts;
  /** Why the notification allowlist could not be fetched, added to the skipped azgn* row's reason. */
  notificationAllowlistProblem?: string;
}

/**
 * Region → short code of the regional `*.his.arc.azure.com` host. No complete map is published (the agent
 * learns it from `gbl.his.arc.azure.com/discovery`). The codes are the ones the Arc-enabled Kubernetes
 * documentation listed as regional identity hosts (eus, weu, wcus, scus, sea, uks, wus2, ae, eus2, ne); pairing
 * each code with its region is inferred from the abbreviations and unverified beyond them.
 */
export const HIS_REGIONAL_PREFIXES: Readonly<Record<string, string>> = Object.freeze({
  eastus: 'eus',
  eastus2: 'eus2',
  westeurope: 'weu',
  northeurope: 'ne',
  westus2: 'wus2',
  westcentralus: 'wcus',
  southcentralus: 'scus',
  southeastasia: 'sea',
  uksouth: 'uks',
  australiaeast: 'ae',
});

/** Concrete hosts for wildcards where one well-known host is what clients actually reach. */
const WELL_KNOWN_HOSTS: Readonly<Record<string, readonly string[]>> = {
  // pip downloads package files from here (pypi.org serves the index, which has its own row).
  '*.pythonhosted.org': ['files.pythonhosted.org'],
};

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** True for a concrete DNS host name (no wildcard, not an IP address): dot-separated labels of letters, digits and inner hyphens, ≤ 253 chars. */
export function isDnsName(host: string): boolean {
  const h = host.toLowerCase();
  if (h.length === 0 || h.length > 253) return false;
  const labels = h.split('.');
  return labels.every((l) => LABEL.test(l)) && !/^\d+$/.test(labels[labels.length - 1] ?? '');
}

const LABEL_CHAR = /^[a-z0-9-]$/;

/**
 * True when `host` is an instance of `pattern`; `*` stands for one or more characters within one label. Linear in the
 * length of the host whatever the pattern (no regular expression, no backtracking across labels): hosts and patterns
 * are split into labels, which must pair up one to one, and each label (at most 63 characters once the host passed
 * the count check) is matched greedily, retrying only from the last star.
 */
export function matchesHostPattern(host: string, pattern: string): boolean {
  const hostLabels = host.toLowerCase().split('.');
  const patternLabels = pattern.toLowerCase().split('.');
  if (hostLabels.length !== patternLabels.length) return false;
  return hostLabels.every((label, i) => label.length <= 63 && labelMatches(label, patternLabels[i] ?? ''));
}

/** Glob match of one label: `*` is one or more label characters. O(label × pattern) at worst, both short. */
function labelMatches(label: string, pattern: string): boolean {
  let l = 0;
  let p = 0;
  let star = -1;
  let resume = 0;
  while (l < label.length) {
    const c = label[l] as string;
    if (p < pattern.length && pattern[p] === '*') {
      // A star must take at least one character: take it now, remember where to give more.
      if (!LABEL_CHAR.test(c)) return false;
      star = p++;
      resume = ++l;
    } else if (p < pattern.length && pattern[p] === c) {
      p++;
      l++;
    } else if (star >= 0 && LABEL_CHAR.test(label[resume] as string)) {
      p = star + 1;
      l = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') return false;
  return p === pattern.length;
}

/**
 * Turns CLI / setting / config scenario names into a selection. Empty → `['servers']` (the default);
 * any `all` → `'all'`. Throws RangeError on an unknown name (callers validate at the edge first).
 */
export function resolveScenarios(input: readonly string[]): Scenario[] | 'all' {
  const names = input.map((s) => s.trim()).filter(Boolean);
  if (names.includes('all')) return 'all';
  const unknown = names.filter((n) => !(SCENARIOS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new RangeError(`unknown scenario ${unknown.join(', ')}; use ${[...SCENARIOS, 'all'].join(', ')}`);
  }
  if (names.length === 0) return ['servers'];
  return SCENARIOS.filter((s) => names.includes(s));
}

interface Concrete {
  hosts: string[];
  skipped?: { reason: string; fix: string };
}

function fromList(values: readonly string[] | undefined, toHost: (v: string) => string): string[] {
  return (values ?? []).map((v) => toHost(v.trim().toLowerCase())).filter((h) => h.length > 0);
}

/** The concrete hosts of one entry's pattern, and what is missing when it cannot be (fully) made concrete. */
function concreteHosts(entry: CatalogEntry, opts: ExpandOptions): Concrete {
  const pattern = entry.hostPattern.toLowerCase();
  const w = opts.wildcards ?? {};
  const region = opts.region;
  const given = fromList(w.hosts?.[entry.hostPattern] ?? w.hosts?.[pattern], (h) => h);
  if (given.length > 0 && pattern.includes('*')) return { hosts: given };
  const current = currentRule(pattern, opts);
  if (current) return current;
  if (!pattern.includes('*')) return { hosts: [pattern] };

  const suffix = pattern.startsWith('*.') ? pattern.slice(2) : undefined;
  const hostsKey = `wildcards.hosts["${entry.hostPattern}"]`;

  if (suffix && /^his\.arc\.azure\.(com|us|cn)$/.test(suffix)) {
    const prefix =
      w.hisRegionalPrefix?.trim().toLowerCase() ||
      (opts.cloud === 'AzureCloud' && Object.hasOwn(HIS_REGIONAL_PREFIXES, region)
        ? HIS_REGIONAL_PREFIXES[region]
        : undefined);
    const gbl = `gbl.${suffix}`;
    if (prefix) return { hosts: [gbl, `${prefix}.${suffix}`] };
    const why = region
      ? `uses a short code that is not published for region "${region}" in ${opts.cloud}`
      : 'needs the region (or its short code), and none was given';
    return {
      hosts: [gbl],
      skipped: {
        reason: `the regional host <code>.${suffix} ${why}; only ${gbl} is probed`,
        fix: `${region ? 'set' : `${REGION_FIX}, or set`} wildcards.hisRegionalPrefix (e.g. "weu") ${WHERE}`,
      },
    };
  }
  if (suffix && /^guestconfiguration\.azure\.(com|us|cn)$/.test(suffix)) {
    const global = `agentserviceapi.${suffix}`;
    if (region) return { hosts: [global, `${region}-gas.${suffix}`] };
    return {
      hosts: [global],
      skipped: { reason: `no region was given for the regional host <region>-gas.${suffix}`, fix: REGION_FIX },
    };
  }
  if (suffix === 'dp.prod.appliances.azure.com') {
    if (region) return { hosts: [`${region}.${suffix}`] };
    return { hosts: [], skipped: { reason: `no region was given for <region>.${suffix}`, fix: REGION_FIX } };
  }
  if (pattern.startsWith('azgn*.servicebus.')) {
    const hosts = fromList(w.notificationHosts, (h) => h);
    if (hosts.length > 0) return { hosts };
    const why = opts.notificationAllowlistProblem
      ? `; fetching the notification allowlist failed: ${opts.notificationAllowlistProblem}`
      : '';
    return {
      hosts: [],
      skipped: {
        reason: `the notification service names its relay hosts only in its allowlist, and no hosts were given${why}`,
        fix: `set wildcards.notificationHosts ${WHERE}, or let the monitor fetch the notification allowlist`,
      },
    };
  }
  if (suffix && suffix.startsWith('blob.core.')) {
    const hosts = fromList(w.blobAccounts, (a) => `${a}.${suffix}`);
    if (hosts.length > 0) return { hosts };
    return {
      hosts: [],
      skipped: {
        reason: 'the storage accounts are chosen by the service (or by you); there is no generic host to probe',
        fix: `set wildcards.blobAccounts (storage account names) ${WHERE}`,
      },
    };
  }
  if (suffix && suffix.startsWith('servicebus.')) {
    const hosts = fromList(w.serviceBusNamespaces, (n) => `${n}.${suffix}`);
    if (hosts.length > 0) return { hosts };
    return {
      hosts: [],
      skipped: {
        reason:
          'the relay namespaces for SSH and Windows Admin Center are not published; name the ones your firewall allows',
        fix: `set wildcards.serviceBusNamespaces (namespace names) ${WHERE}`,
      },
    };
  }
  const known = Object.hasOwn(WELL_KNOWN_HOSTS, pattern) ? WELL_KNOWN_HOSTS[pattern] : undefined;
  if (known) return { hosts: [...known] };
  return {
    hosts: [],
    skipped: { reason: 'no concrete host is known for this wildcard', fix: `set ${hostsKey} ${WHERE}` },
  };
}

const rank = (r: Requirement) => REQUIREMENTS.indexOf(r);
const strongest = (rs: Requirement[]): Requirement => rs.reduce((a, b) => (rank(b) < rank(a) ? b : a));

/*
 * The merged private-link column: the most demanding wins, so a host the agent may skip under private link
 * (`not-used`) but the resource bridge needs (`not-applicable`) is still treated as needed.
 */
const PRIVATE_LINK_PRECEDENCE: readonly PrivateLinkColumn[] = [
  'private',
  'public-unless-arm-private-link',
  'public',
  'not-applicable',
  'not-used',
];

function ordered<T extends string>(order: readonly T[], values: Iterable<T>): T[] {
  const set = new Set(values);
  return order.filter((v) => set.has(v));
}

function uniqueJoined(values: readonly string[]): string {
  return [...new Set(values)].join('; ');
}

function targetId(host: string, port: number, transport: 'tcp' | 'udp'): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return `${h}:${port}${transport === 'udp' ? '/udp' : ''}`;
}

/** What a merged target or skipped row says about all its entries. */
function shared(entries: readonly CatalogEntry[]) {
  return {
    requirement: strongest(entries.map((e) => e.requirement)),
    agents: ordered<Agent>(
      AGENTS,
      entries.map((e) => e.agent),
    ),
    scenarios: ordered<Scenario>(
      SCENARIOS,
      entries.flatMap((e) => e.scenarios),
    ),
    purpose: uniqueJoined(entries.map((e) => e.purpose)),
  };
}

function mergeTarget(host: string, entries: readonly CatalogEntry[]): Target {
  const first = entries[0];
  if (!first) throw new Error('mergeTarget needs at least one entry');
  const { requirement, agents, scenarios, purpose } = shared(entries);
  const columns = ordered(
    PRIVATE_LINK_PRECEDENCE,
    entries.map((e) => e.privateLink),
  );
  return {
    id: targetId(host, first.port, first.transport),
    host,
    port: first.port,
    transport: first.transport,
    protocol: first.protocol,
    entryIds: entries.map((e) => e.id),
    hostPattern: first.hostPattern,
    requirement,
    mustBePrivate: entries.some((e) => e.privateLink === 'private'),
    privateLink: columns[0] ?? first.privateLink,
    inspection: entries.some((e) => e.inspection === 'not-tolerated') ? 'not-tolerated' : 'tolerated',
    genuineCa: entries.some((e) => e.genuineCa === 'microsoft') ? 'microsoft' : 'public',
    agents,
    scenarios,
    purpose,
    serviceTags: [...new Set(entries.flatMap((e) => e.serviceTags))].sort(),
    httpPath: entries.find((e) => e.httpPath !== undefined)?.httpPath ?? '/',
    ...retiredAndChecks(entries),
  };
}

/** A target is retired only when every entry behind it is; its checks are the union of its entries'. */
function retiredAndChecks(entries: readonly CatalogEntry[]): Pick<Target, 'retired' | 'checks'> {
  const retired = entries.every((e) => e.retired)
    ? uniqueJoined(entries.map((e) => `retired ${e.retired?.date ?? ''}: ${e.retired?.source ?? ''}`))
    : undefined;
  const checks = ordered(
    PROTOCOL_CHECKS,
    entries.flatMap((e) => e.checks ?? []),
  );
  return { ...(retired ? { retired } : {}), ...(checks.length > 0 ? { checks } : {}) };
}

function mergeSkipped(entries: readonly CatalogEntry[], reason: string, fix: string): SkippedTarget {
  const first = entries[0];
  if (!first) throw new Error('mergeSkipped needs at least one entry');
  const { requirement, agents, scenarios, purpose } = shared(entries);
  return {
    entryId: first.id,
    hostPattern: first.hostPattern,
    requirement,
    reason,
    fix,
    entryIds: entries.map((e) => e.id),
    port: first.port,
    transport: first.transport,
    agents,
    scenarios,
    purpose,
    ...(retiredAndChecks(entries).retired ? { retired: retiredAndChecks(entries).retired } : {}),
  };
}

function isSelected(entry: CatalogEntry, opts: ExpandOptions): boolean {
  if (entry.cloud !== opts.cloud) return false;
  // The user listed custom endpoints explicitly: they run whatever scenarios are chosen.
  if (opts.scenarios === 'all' || entry.agent === 'custom') return true;
  const wanted = opts.scenarios;
  return entry.scenarios.some((s) => wanted.includes(s));
}

function byStrengthThen<T extends { requirement: Requirement }>(key: (t: T) => string) {
  return (a: T, b: T) => rank(a.requirement) - rank(b.requirement) || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

/**
 * Expands the entries of one cloud and the selected scenarios into concrete targets.
 * Targets sharing host, port and transport are merged (strongest requirement, union of agents, scenarios and
 * service tags, `mustBePrivate` if any entry's column is `private`, `not-tolerated` if any entry is).
 * Wildcards without concrete hosts become `skipped` (merged per pattern, port and transport).
 * Both lists are ordered by requirement strength (REQUIREMENTS order), then host or pattern.
 * @throws RangeError when `region` is neither empty nor a lower-case region name (the edge validates it first).
 */
export function expandTargets(entries: readonly CatalogEntry[], opts: ExpandOptions): ExpandedTargets {
  if (!/^[a-z0-9]*$/.test(opts.region)) {
    throw new RangeError(`region must be a lower-case Azure region name such as eastus, got "${opts.region}"`);
  }
  const targets = new Map<string, { host: string; entries: CatalogEntry[] }>();
  const skipped = new Map<string, { reason: string; fix: string; entries: CatalogEntry[] }>();

  for (const entry of entries) {
    if (!isSelected(entry, opts)) continue;
    const concrete = concreteHosts(entry, opts);
    for (const host of new Set(concrete.hosts)) {
      const key = `${host}|${entry.port}|${entry.transport}`;
      const slot = targets.get(key) ?? { host, entries: [] };
      slot.entries.push(entry);
      targets.set(key, slot);
    }
    if (concrete.skipped) {
      const key = `${entry.hostPattern.toLowerCase()}|${entry.port}|${entry.transport}`;
      const slot = skipped.get(key) ?? { ...concrete.skipped, entries: [] };
      slot.entries.push(entry);
      skipped.set(key, slot);
    }
  }

  return {
    targets: [...targets.values()]
      .map((t) => mergeTarget(t.host, t.entries))
      .sort(byStrengthThen((t) => `${t.host}|${t.port}|${t.transport}`)),
    skipped: [...skipped.values()]
      .map((s) => mergeSkipped(s.entries, s.reason, s.fix))
      .sort(byStrengthThen((s) => `${s.hostPattern}|${s.port ?? 0}`)),
  };
}
