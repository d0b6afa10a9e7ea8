/**
 * Domain types of the endpoint catalog: what Azure Arc must reach, as the seed documents state it,
 * and the concrete targets a cycle probes once wildcards are expanded for a cloud and region.
 */

export const CLOUDS = ['AzureCloud', 'AzureUSGovernment', 'AzureChinaCloud'] as const;
/** The Azure cloud whose endpoints are checked. Default: `AzureCloud`. */
export type Cloud = (typeof CLOUDS)[number];

/**
 * Scenarios a user picks. `servers` is what an Arc-enabled server needs day to day (the default);
 * `onboarding` adds installation-time and connect/disconnect endpoints; `all` (CLI/config shorthand) selects every row.
 */
export const SCENARIOS = [
  'servers',
  'onboarding',
  'resource-bridge',
  'ssh-admin-center',
  'extensions',
  'optional',
  // Beyond the seeds (Microsoft's current pages): what customers turn on.
  'gateway',
  'esu',
  'sql',
  'ama',
  'defender',
  'update-manager',
  'wac',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** When the seed says the endpoint is required, normalised. */
export const REQUIREMENTS = [
  'always',
  'always-unless-private-endpoints',
  'connect-disconnect',
  'installation',
  'ssh-admin-center',
  'conditional',
  'optional',
] as const;
export type Requirement = (typeof REQUIREMENTS)[number];

/**
 * The seed's "Endpoint used with private link" column.
 * - `private`: must resolve to a private address when private-link mode is on.
 * - `public`: stays public.
 * - `public-unless-arm-private-link`: public unless a resource management private link exists.
 * - `not-used`: not used when private link is configured.
 * - `not-applicable`: the table has no such column (Azure China, resource bridge).
 */
export const PRIVATE_LINK_COLUMNS = [
  'private',
  'public',
  'public-unless-arm-private-link',
  'not-used',
  'not-applicable',
] as const;
export type PrivateLinkColumn = (typeof PRIVATE_LINK_COLUMNS)[number];

export const MACHINES = ['server', 'management-machine', 'appliance-vm'] as const;
/** Which machine makes the connection. */
export type Machine = (typeof MACHINES)[number];

export const AGENTS = ['connected-machine', 'resource-bridge', 'custom'] as const;
export type Agent = (typeof AGENTS)[number];

export type Transport = 'tcp' | 'udp';
/**
 * How a target is probed: `https` (DNS, TCP, TLS, HTTP GET), `http` (plain HTTP, no TLS: TCP 80), `tcp` (connect
 * only), `ntp` (UDP), `dns` (a DNS query to a DNS server's port 53, over UDP).
 */
export type Protocol = 'https' | 'ntp' | 'tcp' | 'http' | 'dns';

/**
 * Checks beyond the plain request that a consumer's protocol needs: `websocket` (an HTTP Upgrade to WebSocket
 * through the path, as the notification relay uses) and `http2` (ALPN negotiates h2, as the bridge's data plane
 * client does).
 */
export const PROTOCOL_CHECKS = ['websocket', 'http2'] as const;
export type ProtocolCheck = (typeof PROTOCOL_CHECKS)[number];

/** A Microsoft page as read (see sources.ts). */
export interface DocumentedAt {
  repo: string;
  path: string;
  /** The page's `ms.date`. */
  msDate: string;
  commit: string;
}

/**
 * Where a genuine TLS chain for a host ends, so that inspection is judged per host:
 * - `microsoft`: the Microsoft / DigiCert roots Microsoft-operated services chain to (lib/probes/roots.ts);
 * - `public`: any publicly trusted root (third-party hosts such as pypi.org on Fastly/GlobalSign, and user
 *   endpoints unless they say otherwise).
 */
export const GENUINE_CAS = ['microsoft', 'public'] as const;
export type GenuineCa = (typeof GENUINE_CAS)[number];

/** Where a catalog row comes from. Rows beyond the seeds say so. */
export interface EntrySource {
  /**
   * `seed:000` (Connected Machine agent), `seed:004` (resource bridge), `page` (a current Microsoft page, beyond
   * the seeds), `extra` (documented elsewhere), `user`.
   */
  document: 'seed:000' | 'seed:004' | 'page' | 'extra' | 'user';
  /** For `page` rows: the page and its date. */
  page?: DocumentedAt;
  /** For extras and page rows: where the row is documented and why it was added. */
  note?: string;
}

/** A row a later page dropped: still probed and shown, never a required endpoint blocked, never an incident. */
export interface Retirement {
  /** Day the page dropped it (the removing commit's date). */
  date: string;
  /** Page path and removing commit, e.g. `MicrosoftDocs/azure-management-docs articles/… (commit 5777653)`. */
  source: string;
  /** What replaced it, if the page says. */
  note?: string;
}

/** Seed rows, current rows, rows a later page dropped. */
export type EntryStatus = 'seed' | 'current' | 'retired';

/** One row of the catalog: a host pattern (possibly a wildcard) an agent must reach. */
export interface CatalogEntry {
  /** Stable id, e.g. `servers.azurecloud.his`. Used in telemetry and tables. */
  id: string;
  agent: Agent;
  cloud: Cloud;
  /** As written in the seed, e.g. `*.his.arc.azure.com`, `azgn*.servicebus.windows.net`. */
  hostPattern: string;
  port: number;
  transport: Transport;
  protocol: Protocol;
  /** The seed's description / service / notes. */
  purpose: string;
  requirement: Requirement;
  /** The seed's own words for when it is required. */
  requirementText: string;
  privateLink: PrivateLinkColumn;
  machines: Machine[];
  serviceTags: string[];
  scenarios: Scenario[];
  /** Whether the consumer tolerates TLS inspection. The resource bridge does not; the agent does. */
  inspection: 'tolerated' | 'not-tolerated';
  /** What a genuine chain for this host ends at. */
  genuineCa: GenuineCa;
  source: EntrySource;
  /** HTTP path requested after TLS (user endpoints may set it). Default: `/`. */
  httpPath?: string;
  /** Set when a later Microsoft page dropped the row (seed rows are never deleted). */
  retired?: Retirement;
  /** Where a current page disagrees with the seed: the seed's value stands, the difference is recorded here. */
  differences?: string[];
  /** Protocol checks beyond the request. Default none. */
  checks?: ProtocolCheck[];
}

/** A concrete host:port the cycle probes, merged from every catalog entry that needs it. */
export interface Target {
  /** `host:port` for TCP, `host:port/udp` for UDP. */
  id: string;
  host: string;
  port: number;
  transport: Transport;
  protocol: Protocol;
  /** Catalog entries served by this target. */
  entryIds: string[];
  /** The pattern it was expanded from (first entry's). */
  hostPattern: string;
  /** The strongest requirement over its entries (order of REQUIREMENTS). */
  requirement: Requirement;
  /** Under private-link mode: must the name resolve to a private address? */
  mustBePrivate: boolean;
  privateLink: PrivateLinkColumn;
  /** `not-tolerated` if any entry does not tolerate inspection. */
  inspection: 'tolerated' | 'not-tolerated';
  /** `microsoft` if any entry expects a Microsoft root (the stricter), else `public`. */
  genuineCa: GenuineCa;
  agents: Agent[];
  scenarios: Scenario[];
  purpose: string;
  serviceTags: string[];
  /** HTTP path for the request after TLS. Default `/`. */
  httpPath: string;
  /**
   * Why the target no longer counts (every entry behind it is retired): it is probed and shown, but a block is
   * never a required endpoint blocked and never opens an incident. Absent when any entry is current.
   */
  retired?: string;
  /** Union of the entries' protocol checks. Absent when none. */
  checks?: ProtocolCheck[];
}

/** A wildcard that could not be made concrete: reported, never dropped. */
export interface SkippedTarget {
  entryId: string;
  hostPattern: string;
  requirement: Requirement;
  /** Port of the wildcard row. Default 443. */
  port?: number;
  reason: string;
  /** The setting / CLI flag / config key that would make it concrete. */
  fix: string;
  /** Every selected entry with this pattern (the first is `entryId`). Set by `expandTargets`. */
  entryIds?: string[];
  /** Transport the concrete hosts would be probed on (with `port`). Set by `expandTargets`. */
  transport?: Transport;
  /** Union over `entryIds`, as on a Target. Set by `expandTargets`. */
  agents?: Agent[];
  scenarios?: Scenario[];
  purpose?: string;
  /** As on a Target: every entry behind the row is retired. */
  retired?: string;
}

export interface ExpandedTargets {
  targets: Target[];
  skipped: SkippedTarget[];
}
