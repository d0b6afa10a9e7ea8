/**
 * The allowlist written for the devices that enforce it. Each device has its own wildcard syntax, and each output
 * says in its own comments what a pattern means there:
 * - Azure Firewall application rules: `*` only as the leftmost character, matching anything to its left (several
 *   labels included); a wildcard inside a label (`azgn*.servicebus.windows.net`) is written as its concrete hosts,
 *   or, when none is known, as the broader `*.<rest>`, said so in the rule's description.
 * - Squid: `dstdomain .example.com` matches example.com and every name below it; a wildcard inside a label becomes
 *   an anchored `dstdom_regex` that stays within one label.
 * - PAC files: `shExpMatch` patterns, where `*` matches any characters, dots included.
 * - NSGs: no names at all, only service tags: rows without a tag are listed as not expressible.
 */
import { isWildcard, type Allowlist, type AllowItem } from './allowlist';

/** Every output format `arcmon allowlist --format` knows. */
export const ALLOWLIST_FORMATS = [
  'azure-firewall-bicep',
  'azure-firewall-json',
  'nsg-bicep',
  'squid',
  'pac',
  'fqdn',
  'csv',
] as const;
export type AllowlistFormat = (typeof ALLOWLIST_FORMATS)[number];

export interface FormatOptions {
  /** Source addresses of the Arc machines for firewall rules. Default `['*']`. */
  sourceAddresses?: readonly string[];
  /** `host:port` of the proxy a PAC file sends the Arc hosts to. Required for `pac`. */
  proxyAddress?: string;
  /** The command line that produced the output, for its header. */
  generatedBy?: string;
}

/** API versions the generated Bicep uses: the newest the pinned compiler (infra/bicep.sh) knows. */
export const FIREWALL_POLICY_API = '2025-03-01';
export const NSG_API = '2025-03-01';

const selectionText = (list: Allowlist) =>
  `${list.cloud}, region ${list.region || '(none: regional hosts unresolved)'}, scenarios ${
    list.scenarios === 'all' ? 'all' : list.scenarios.join(',')
  }`;

/** `*.rest` when the pattern's only wildcard is a whole leftmost label; else undefined. */
function leadingLabelWildcard(pattern: string): string | undefined {
  return /^\*\.[^*]+$/.test(pattern) ? pattern.slice(2) : undefined;
}

/** The broader pattern a leftmost-only wildcard syntax can write for `azgn*.servicebus.windows.net`: `*.servicebus.windows.net`. */
function widenToLeftmost(pattern: string): string {
  const labels = pattern.split('.');
  const firstWild = labels.findIndex((l) => l.includes('*'));
  return `*.${labels.slice(firstWild + 1).join('.')}`;
}

interface HostSpec {
  /** Names or patterns the device can write for the item. */
  names: string[];
  /** Why the names are broader than the catalog's pattern, when they are. */
  widened?: string;
}

/** What an Azure Firewall application rule (leftmost `*` only) writes for an item. */
function leftmostWildcardNames(item: AllowItem): HostSpec {
  if (!isWildcard(item)) return { names: [item.pattern] };
  if (leadingLabelWildcard(item.pattern)) return { names: [item.pattern] };
  if (item.hosts.length > 0) return { names: item.hosts };
  const wide = widenToLeftmost(item.pattern);
  return {
    names: [wide],
    widened: `${item.pattern} has a wildcard inside a label, which this device cannot write, and no concrete host is known (${item.unresolved?.fix ?? 'configure the hosts'}): ${wide} is broader`,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Bicep literals

/** A Bicep expression written as is (a parameter reference). */
class Raw {
  constructor(readonly text: string) {}
}

function bicepString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\$\{/g, '\\${').replace(/\n/g, '\\n')}'`;
}

function bicepValue(value: unknown, indent: string): string {
  if (value instanceof Raw) return value.text;
  if (typeof value === 'string') return bicepString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => `${inner}${bicepValue(v, inner)}`).join('\n')}\n${indent}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    return `{\n${entries
      .map(([k, v]) => `${inner}${/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : bicepString(k)}: ${bicepValue(v, inner)}`)
      .join('\n')}\n${indent}}`;
  }
  throw new Error(`cannot write ${typeof value} as Bicep`);
}

/** JSON with Raw values replaced by their ARM expression (`[parameters('x')]`). */
function armValue(value: unknown, raw: (r: Raw) => unknown): unknown {
  if (value instanceof Raw) return raw(value);
  if (Array.isArray(value)) return value.map((v) => armValue(v, raw));
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, armValue(v, raw)]));
  return value;
}

const ruleName = (item: AllowItem) =>
  `${item.pattern.replace(/\*/g, 'any').replace(/[^A-Za-z0-9.-]/g, '-')}-${item.transport}${item.port}`.slice(0, 80);

function description(item: AllowItem, extra?: string): string {
  const text = `${item.requirement}: ${item.purpose}${extra ? ` (${extra})` : ''}`;
  return text.length > 1024 ? `${text.slice(0, 1021)}...` : text;
}

// ---------------------------------------------------------------------------------------------------------------
// Azure Firewall

/** The rule collections of an Azure Firewall policy rule collection group, as ARM JSON values. */
function firewallRuleCollections(list: Allowlist, sources: unknown): unknown[] {
  const appRules: unknown[] = [];
  const netRules: unknown[] = [];
  const tagRules = new Map<string, { ports: Set<string> }>();
  for (const item of list.items) {
    const spec = leftmostWildcardNames(item);
    const web = item.transport === 'tcp' && (item.port === 443 || item.port === 80);
    if (web) {
      appRules.push({
        ruleType: 'ApplicationRule',
        name: ruleName(item),
        description: description(item, spec.widened),
        sourceAddresses: sources,
        protocols: [{ protocolType: item.port === 443 ? 'Https' : 'Http', port: item.port }],
        targetFqdns: spec.names,
      });
    } else {
      // Network rules take FQDNs only without wildcards (and need the firewall's DNS proxy on).
      const names = isWildcard(item) ? item.hosts : [item.pattern];
      if (names.length === 0) continue;
      netRules.push({
        ruleType: 'NetworkRule',
        name: ruleName(item),
        description: description(item, 'FQDNs in network rules need DNS proxy enabled on the firewall policy'),
        ipProtocols: [item.transport === 'udp' ? 'UDP' : 'TCP'],
        sourceAddresses: sources,
        destinationFqdns: names,
        destinationPorts: [String(item.port)],
      });
    }
    for (const tag of item.serviceTags) {
      if (item.transport !== 'tcp') continue;
      const slot = tagRules.get(tag) ?? { ports: new Set<string>() };
      slot.ports.add(String(item.port));
      tagRules.set(tag, slot);
    }
  }
  const collections: unknown[] = [];
  if (netRules.length > 0)
    collections.push({
      ruleCollectionType: 'FirewallPolicyFilterRuleCollection',
      name: 'arc-network',
      priority: 100,
      action: { type: 'Allow' },
      rules: netRules,
    });
  if (tagRules.size > 0)
    collections.push({
      ruleCollectionType: 'FirewallPolicyFilterRuleCollection',
      name: 'arc-service-tags',
      priority: 110,
      action: { type: 'Allow' },
      rules: [...tagRules.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([tag, { ports }]) => ({
          ruleType: 'NetworkRule',
          name: `tag-${tag}`,
          description: `the ${tag} service tag, as the Arc documentation lists it; network rules match before application rules, so this collection allows the tag's whole address range: remove it to rely on the FQDN rules alone`,
          ipProtocols: ['TCP'],
          sourceAddresses: sources,
          destinationAddresses: [tag],
          destinationPorts: [...ports].sort(),
        })),
    });
  if (appRules.length > 0)
    collections.push({
      ruleCollectionType: 'FirewallPolicyFilterRuleCollection',
      name: 'arc-fqdns',
      priority: 200,
      action: { type: 'Allow' },
      rules: appRules,
    });
  return collections;
}

const FIREWALL_NOTES = [
  'Azure Firewall application rules: "*" may stand only as the leftmost character and matches anything to its left,',
  'several labels included ("*.his.arc.azure.com" matches eus.his.arc.azure.com and a.b.his.arc.azure.com).',
  'A catalog wildcard inside a label (azgn*.servicebus.windows.net) is written as its concrete hosts, or as the',
  'broader "*.<rest>" when none is known; the rule description says so.',
  'Network rules with FQDNs (NTP, other ports) need DNS proxy enabled on the firewall policy.',
];

function unresolvedNotes(list: Allowlist): string[] {
  return list.items
    .filter((i) => i.unresolved)
    .map((i) => `unresolved here: ${i.pattern}:${i.port} (${i.requirement}): ${i.unresolved?.fix ?? ''}`);
}

function azureFirewallBicep(list: Allowlist, opts: FormatOptions): string {
  const collections = firewallRuleCollections(list, new Raw('sourceAddresses'));
  const header = [
    `Azure Firewall policy rules for the Azure Arc endpoints: ${selectionText(list)}.`,
    ...(opts.generatedBy ? [`Generated by: ${opts.generatedBy}`] : []),
    ...FIREWALL_NOTES,
    ...unresolvedNotes(list),
  ];
  // The rules name one cloud's hosts on purpose: the linter's cloud-portability rule does not apply to this file.
  return `#disable-diagnostics no-hardcoded-env-urls
${header.map((l) => `// ${l}`).join('\n')}
metadata description = 'Azure Arc endpoints as a rule collection group of an existing Azure Firewall policy (generated by arcmon allowlist).'

@description('Name of the existing firewall policy, in the resource group this file is deployed to.')
param firewallPolicyName string

@description('Priority of the rule collection group within the policy (100-65000).')
@minValue(100)
@maxValue(65000)
param priority int = 300

@description('Source addresses of the Arc machines (CIDRs or IP addresses); * for any.')
@minLength(1)
param sourceAddresses string[] = ${bicepValue([...(opts.sourceAddresses ?? ['*'])], '')}

resource policy 'Microsoft.Network/firewallPolicies@${FIREWALL_POLICY_API}' existing = {
  name: firewallPolicyName
}

resource arcRules 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@${FIREWALL_POLICY_API}' = {
  parent: policy
  name: 'azure-arc'
  properties: {
    priority: priority
    ruleCollections: ${bicepValue(collections, '    ')}
  }
}

@description('Name of the rule collection group.')
output name string = arcRules.name

@description('Resource id of the rule collection group.')
output resourceId string = arcRules.id
`;
}

function azureFirewallJson(list: Allowlist, opts: FormatOptions): string {
  // The rule collections themselves, with the source addresses filled in: the value of main.bicep's
  // arcFirewallRules.ruleCollections (loadJsonContent in a parameter file), or of a policy's rule collection group.
  const collections = armValue(firewallRuleCollections(list, [...(opts.sourceAddresses ?? ['*'])]), () => {
    throw new Error('no expressions in the JSON output');
  });
  return `${JSON.stringify(collections, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------------------------------
// Network security group

function nsgBicep(list: Allowlist, opts: FormatOptions): string {
  const byTag = new Map<string, Set<number>>();
  const notExpressible: string[] = [];
  for (const item of list.items) {
    if (item.serviceTags.length === 0 || item.transport !== 'tcp') {
      notExpressible.push(`${item.pattern}:${item.port}/${item.transport} (${item.requirement})`);
      continue;
    }
    for (const tag of item.serviceTags) byTag.set(tag, (byTag.get(tag) ?? new Set()).add(item.port));
  }
  const rules = [...byTag.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([tag, ports], i) => ({
      name: `allow-arc-${tag.replace(/[^A-Za-z0-9-]/g, '-')}`,
      properties: {
        description: `Azure Arc: the ${tag} service tag (generated by arcmon allowlist)`,
        priority: new Raw(`firstPriority + ${i * 10}`),
        direction: 'Outbound',
        access: 'Allow',
        protocol: 'Tcp',
        sourceAddressPrefix: new Raw('sourceAddressPrefix'),
        sourcePortRange: '*',
        destinationAddressPrefix: tag,
        ...([...ports].length === 1
          ? { destinationPortRange: String([...ports][0]) }
          : { destinationPortRanges: [...ports].sort((a, b) => a - b).map(String) }),
      },
    }));
  const header = [
    `Network security group outbound rules for the Azure Arc endpoints: ${selectionText(list)}.`,
    ...(opts.generatedBy ? [`Generated by: ${opts.generatedBy}`] : []),
    'An NSG matches addresses, not names: each rule allows one service tag (its whole address range) on the ports',
    'the catalog gives it. Endpoints without a service tag cannot be expressed here; allow them on a firewall or proxy:',
    ...notExpressible.map((n) => `  ${n}`),
  ];
  return `${header.map((l) => `// ${l}`).join('\n')}
metadata description = 'Azure Arc endpoints as outbound rules of an existing network security group, by service tag (generated by arcmon allowlist).'

@description('Name of the existing network security group of the Arc machines\\' subnet, in the resource group this file is deployed to.')
param networkSecurityGroupName string

@description('Priority of the first rule; the others follow in steps of 10 (100-4096).')
@minValue(100)
@maxValue(4000)
param firstPriority int = 200

@description('Source of the traffic: the Arc machines\\' address prefix, or VirtualNetwork.')
param sourceAddressPrefix string = 'VirtualNetwork'

resource nsg 'Microsoft.Network/networkSecurityGroups@${NSG_API}' existing = {
  name: networkSecurityGroupName
}

var rules = ${bicepValue(rules, '')}

resource arcRules 'Microsoft.Network/networkSecurityGroups/securityRules@${NSG_API}' = [
  for rule in rules: {
    parent: nsg
    name: rule.name
    properties: rule.properties
  }
]

@description('Name of the network security group.')
output name string = nsg.name

@description('Resource id of the network security group.')
output resourceId string = nsg.id
`;
}

// ---------------------------------------------------------------------------------------------------------------
// Squid

const regexEscape = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

/** Squid's view of an item: domains for dstdomain, anchored one-label regexes for dstdom_regex. */
function squidNames(item: AllowItem): { domains: string[]; regexes: string[] } {
  if (!isWildcard(item)) return { domains: [item.pattern], regexes: [] };
  const suffix = leadingLabelWildcard(item.pattern);
  if (suffix) return { domains: [`.${suffix}`], regexes: [] };
  const re = `^${item.pattern
    .split('*')
    .map((part) => regexEscape(part))
    .join('[a-z0-9-]+')}$`;
  return { domains: [], regexes: [re] };
}

/** Drops names a `.domain` of the same list already covers (Squid warns about them and ignores one). */
function withoutCovered(domains: string[]): string[] {
  const unique = [...new Set(domains)].sort();
  const wide = unique.filter((d) => d.startsWith('.'));
  return unique.filter((d) => !wide.some((w) => w !== d && (d === w.slice(1) || d.endsWith(w))));
}

function squid(list: Allowlist, opts: FormatOptions): string {
  const lines = [
    `# Squid access rules for the Azure Arc endpoints: ${selectionText(list)}.`,
    ...(opts.generatedBy ? [`# Generated by: ${opts.generatedBy}`] : []),
    '# Include this file before "http_access deny all". dstdomain ".example.com" matches example.com and every name',
    '# below it; a plain name matches itself only. Wildcards inside a label (azgn*.servicebus.windows.net) become',
    '# dstdom_regex, anchored, matching within one label. HTTPS goes through CONNECT to the port; plain HTTP (port',
    '# 80) is forwarded. Traffic that is not HTTP (NTP on UDP 123) cannot pass an HTTP proxy: allow it on the firewall.',
    ...unresolvedNotes(list).map((n) => `# ${n}`),
    'acl arc_connect method CONNECT',
  ];
  const ports = [...new Set(list.items.filter((i) => i.transport === 'tcp').map((i) => i.port))].sort((a, b) => a - b);
  for (const port of ports) {
    const items = list.items.filter((i) => i.transport === 'tcp' && i.port === port);
    const names = items.map(squidNames);
    const domains = withoutCovered(names.flatMap((n) => n.domains));
    const regexes = [...new Set(names.flatMap((n) => n.regexes))].sort();
    lines.push('', `# TCP ${port}: ${items.length} catalog row(s)`, `acl arc_port_${port} port ${port}`);
    const connect = port === 80 ? '!arc_connect' : 'arc_connect';
    if (domains.length > 0) {
      for (const d of domains) lines.push(`acl arc_domains_${port} dstdomain ${d}`);
      lines.push(`http_access allow ${connect} arc_port_${port} arc_domains_${port}`);
    }
    if (regexes.length > 0) {
      for (const r of regexes) lines.push(`acl arc_patterns_${port} dstdom_regex -i ${r}`);
      lines.push(`http_access allow ${connect} arc_port_${port} arc_patterns_${port}`);
    }
  }
  const udp = list.items.filter((i) => i.transport !== 'tcp');
  if (udp.length > 0) {
    lines.push('', '# Not through this proxy (allow on the firewall):');
    for (const i of udp) lines.push(`#   ${i.pattern} ${i.transport.toUpperCase()} ${i.port} (${i.purpose})`);
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------------------
// PAC

function pac(list: Allowlist, opts: FormatOptions): string {
  if (!opts.proxyAddress) throw new RangeError('the pac format needs --proxy-address HOST:PORT');
  const patterns = [
    ...new Set(
      list.items
        .filter((i) => i.transport === 'tcp')
        .flatMap((i) =>
          isWildcard(i) && !leadingLabelWildcard(i.pattern) && i.hosts.length > 0 ? i.hosts : [i.pattern],
        ),
    ),
  ].sort();
  const header = [
    `Proxy auto-configuration for the Azure Arc endpoints: ${selectionText(list)}.`,
    ...(opts.generatedBy ? [`Generated by: ${opts.generatedBy}`] : []),
    `Arc hosts go to the proxy ${opts.proxyAddress}; everything else goes DIRECT.`,
    'shExpMatch: "*" matches any characters, dots included ("*.his.arc.azure.com" also matches a.b.his.arc.azure.com).',
    'The Connected Machine agent does not read PAC files (azcmagent config set proxy.url): this file is for browsers,',
    'WinHTTP and other clients on the same machines.',
  ];
  return `${header.map((l) => `// ${l}`).join('\n')}
var ARC_PROXY = ${JSON.stringify(`PROXY ${opts.proxyAddress}`)};
var ARC_HOSTS = ${JSON.stringify(patterns, null, 2)};

function FindProxyForURL(url, host) {
  var name = host.toLowerCase();
  for (var i = 0; i < ARC_HOSTS.length; i++) {
    if (shExpMatch(name, ARC_HOSTS[i])) return ARC_PROXY;
  }
  return "DIRECT";
}
`;
}

// ---------------------------------------------------------------------------------------------------------------
// Plain lists

function fqdn(list: Allowlist): string {
  // One name a line, nothing else: wildcards in the leading-label form most appliances accept (*.example.com),
  // concrete hosts for wildcards inside a label; a pattern with neither is left out (the CLI says so on stderr).
  const names = new Set<string>();
  for (const item of list.items) {
    if (!isWildcard(item) || leadingLabelWildcard(item.pattern)) names.add(item.pattern);
    else for (const h of item.hosts) names.add(h);
  }
  return `${[...names].sort().join('\n')}\n`;
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function csv(list: Allowlist): string {
  const rows = [
    ['host', 'pattern', 'port', 'transport', 'protocol', 'requirement', 'purpose', 'service_tags', 'entries', 'note'],
  ];
  for (const item of list.items) {
    const base = [
      String(item.port),
      item.transport,
      item.protocol,
      item.requirement,
      item.purpose,
      item.serviceTags.join(' '),
      item.entryIds.join(' '),
    ];
    if (item.hosts.length === 0)
      rows.push([item.pattern, item.pattern, ...base, `no concrete host: ${item.unresolved?.fix ?? ''}`]);
    for (const host of item.hosts) rows.push([host, item.pattern, ...base, '']);
  }
  return `${rows.map((r) => r.map(csvField).join(',')).join('\r\n')}\r\n`;
}

/** Writes the allowlist in one device format. Throws RangeError when the format needs an option it lacks. */
export function formatAllowlist(list: Allowlist, format: AllowlistFormat, opts: FormatOptions = {}): string {
  switch (format) {
    case 'azure-firewall-bicep':
      return azureFirewallBicep(list, opts);
    case 'azure-firewall-json':
      return azureFirewallJson(list, opts);
    case 'nsg-bicep':
      return nsgBicep(list, opts);
    case 'squid':
      return squid(list, opts);
    case 'pac':
      return pac(list, opts);
    case 'fqdn':
      return fqdn(list);
    case 'csv':
      return csv(list);
  }
}
