/**
 * The endpoint catalog: every row of the two seed documents, one entry per host.
 *
 * - `seed:000` — "Connected Machine agent network requirements" (ms.date 07/26/2022), tabs Azure Cloud,
 *   Azure Government and Azure China.
 * - `seed:004` — Arc resource bridge "Outbound connectivity", Firewall/Proxy URL allowlist (ms.date 03/19/2024),
 *   treated as public cloud.
 *
 * A cell naming two hosts becomes two entries; a host needed by several rows stays several entries
 * (`expandTargets` merges them into one target). Rows beyond the seeds and retirements live in current.ts.
 */
import { CURRENT_ENTRIES, withEditions } from './current';
import type { CatalogEntry, Cloud, GenuineCa, Machine, PrivateLinkColumn, Requirement, Scenario } from './types';

/** The service tags seed 000 asks to allow (the section applies to every row of the page). */
export const AGENT_SERVICE_TAGS = [
  'AzureActiveDirectory',
  'AzureTrafficManager',
  'AzureResourceManager',
  'AzureArcInfrastructure',
  'Storage',
  'WindowsAdminCenter',
] as const;

/*
 * Which tag covers which row. The seed lists the tags without saying which row each one serves, so the
 * mapping below is ours, by the service that owns each host:
 * - AzureActiveDirectory: Entra ID sign-in hosts (login.*, pas.*, pasff.*, and sts.windows.net in seed 004).
 * - AzureResourceManager: management.* (the ARM front door).
 * - AzureArcInfrastructure: the Arc-owned services — hybrid identity (*.his.*), guest configuration and
 *   the guest notification service (guestnotificationservice.*).
 * - Storage: *.blob.core.* (extension packages; container images for the resource bridge).
 * - WindowsAdminCenter: the SSH / Windows Admin Center relay row, because the seed makes both conditional on
 *   the same thing ("if using Windows Admin Center"); that the tag's prefixes include the relay namespaces
 *   is not established, so treat this as the seed's pairing rather than an address fact.
 * - AzureTrafficManager is assigned to no row: its prefixes are Traffic Manager's health-probe sources, not
 *   addresses an agent connects to.
 * Rows no listed tag covers get []: download/CDN hosts (aka.ms, download.microsoft.com,
 * packages.microsoft.com), the azgn* notification relays (Service Bus, not in the seed's list), agent
 * telemetry (Application Insights) and the resource bridge's registries, SFS and telemetry hosts.
 */
const TAG = {
  entra: ['AzureActiveDirectory'],
  arm: ['AzureResourceManager'],
  arc: ['AzureArcInfrastructure'],
  storage: ['Storage'],
  wac: ['WindowsAdminCenter'],
  none: [],
} as const satisfies Record<string, readonly string[]>;

/** Seed 000 "When required" cells, verbatim, and what they normalise to. */
const WHEN = {
  installation: { text: 'At installation time, only', requirement: 'installation' },
  always: { text: 'Always', requirement: 'always' },
  connect: { text: 'When connecting or disconnecting a server, only', requirement: 'connect-disconnect' },
  sshWac: { text: 'If using SSH or Windows Admin Center from Azure', requirement: 'ssh-admin-center' },
  unlessPrivate: {
    text: 'Always, except when using private endpoints',
    requirement: 'always-unless-private-endpoints',
  },
  optional: { text: 'Optional', requirement: 'optional' },
} as const satisfies Record<string, { text: string; requirement: Requirement }>;

/*
 * Scenarios per kind of agent row: `servers` is what a connected server needs day to day (Always and
 * Always-unless-private-endpoints rows); `onboarding` the installation and connect/disconnect rows;
 * `extensions` what extension management uses (guest configuration, notification, extension download).
 */
const SCN = {
  onboarding: ['onboarding'],
  servers: ['servers'],
  serversAndExtensions: ['servers', 'extensions'],
  sshWac: ['ssh-admin-center'],
  optional: ['optional'],
} as const satisfies Record<string, readonly Scenario[]>;

const CLOUD_SLUG: Record<Cloud, string> = {
  AzureCloud: 'azurecloud',
  AzureUSGovernment: 'azureusgovernment',
  AzureChinaCloud: 'azurechinacloud',
};

interface AgentRow {
  key: string;
  host: string;
  purpose: string;
  when: keyof typeof WHEN;
  /** The private-link column; Azure China has none. */
  privateLink: PrivateLinkColumn;
  tags: readonly string[];
  scenarios: readonly Scenario[];
}

function agentEntries(cloud: Cloud, rows: readonly AgentRow[]): CatalogEntry[] {
  return rows.map((r) => ({
    id: `servers.${CLOUD_SLUG[cloud]}.${r.key}`,
    agent: 'connected-machine',
    cloud,
    hostPattern: r.host,
    port: 443,
    transport: 'tcp',
    protocol: 'https',
    purpose: r.purpose,
    requirement: WHEN[r.when].requirement,
    requirementText: WHEN[r.when].text,
    privateLink: r.privateLink,
    machines: ['server'],
    serviceTags: [...r.tags],
    scenarios: [...r.scenarios],
    inspection: 'tolerated',
    // Every seed 000 host is operated by Microsoft (Entra ID, ARM, Arc services, download and CDN hosts).
    genuineCa: 'microsoft',
    source: { document: 'seed:000' },
  }));
}

const P = {
  script: 'Used to resolve the download script during installation',
  windowsPackage: 'Used to download the Windows installation package',
  linuxPackage: 'Used to download the Linux installation package',
  entra: 'Azure Active Directory',
  arm: 'Azure Resource Manager - to create or delete the Arc server resource',
  his: 'Metadata and hybrid identity services',
  guestConfig: 'Extension management and guest configuration services',
  notification: 'Notification service for extension and connectivity scenarios',
  sshWac: 'For Windows Admin Center and SSH scenarios',
  blob: 'Download source for Azure Arc-enabled servers extensions',
  telemetry: 'Agent telemetry',
} as const;

/** The three installation rows are identical in every tab. */
function installationRows(privateLink: PrivateLinkColumn): AgentRow[] {
  const row = (key: string, host: string, purpose: string): AgentRow => ({
    key,
    host,
    purpose,
    when: 'installation',
    privateLink,
    tags: TAG.none,
    scenarios: SCN.onboarding,
  });
  return [
    row('aka-ms', 'aka.ms', P.script),
    row('download-microsoft', 'download.microsoft.com', P.windowsPackage),
    row('packages-microsoft', 'packages.microsoft.com', P.linuxPackage),
  ];
}

// One seed row per line (here and below) reads like the seed table.
// prettier-ignore
const AZURE_CLOUD_ROWS: AgentRow[] = [
  ...installationRows('public'),
  { key: 'login-windows', host: 'login.windows.net', purpose: P.entra, when: 'always', privateLink: 'public', tags: TAG.entra, scenarios: SCN.servers },
  { key: 'login-microsoftonline', host: 'login.microsoftonline.com', purpose: P.entra, when: 'always', privateLink: 'public', tags: TAG.entra, scenarios: SCN.servers },
  { key: 'pas', host: 'pas.windows.net', purpose: P.entra, when: 'always', privateLink: 'public', tags: TAG.entra, scenarios: SCN.servers },
  { key: 'management', host: 'management.azure.com', purpose: P.arm, when: 'connect', privateLink: 'public-unless-arm-private-link', tags: TAG.arm, scenarios: SCN.onboarding },
  { key: 'his', host: '*.his.arc.azure.com', purpose: P.his, when: 'always', privateLink: 'private', tags: TAG.arc, scenarios: SCN.servers },
  { key: 'guestconfiguration', host: '*.guestconfiguration.azure.com', purpose: P.guestConfig, when: 'always', privateLink: 'private', tags: TAG.arc, scenarios: SCN.serversAndExtensions },
  { key: 'notification', host: 'guestnotificationservice.azure.com', purpose: P.notification, when: 'always', privateLink: 'private', tags: TAG.arc, scenarios: SCN.serversAndExtensions },
  { key: 'notification-wildcard', host: '*.guestnotificationservice.azure.com', purpose: P.notification, when: 'always', privateLink: 'private', tags: TAG.arc, scenarios: SCN.serversAndExtensions },
  { key: 'notification-servicebus', host: 'azgn*.servicebus.windows.net', purpose: P.notification, when: 'always', privateLink: 'public', tags: TAG.none, scenarios: SCN.serversAndExtensions },
  { key: 'ssh-wac-servicebus', host: '*.servicebus.windows.net', purpose: P.sshWac, when: 'sshWac', privateLink: 'public', tags: TAG.wac, scenarios: SCN.sshWac },
  { key: 'blob', host: '*.blob.core.windows.net', purpose: P.blob, when: 'unlessPrivate', privateLink: 'not-used', tags: TAG.storage, scenarios: SCN.serversAndExtensions },
  { key: 'telemetry', host: 'dc.services.visualstudio.com', purpose: P.telemetry, when: 'optional', privateLink: 'public', tags: TAG.none, scenarios: SCN.optional },
];

// prettier-ignore
const AZURE_GOVERNMENT_ROWS: AgentRow[] = [
  ...installationRows('public'),
  { key: 'login-microsoftonline', host: 'login.microsoftonline.us', purpose: P.entra, when: 'always', privateLink: 'public', tags: TAG.entra, scenarios: SCN.servers },
  { key: 'pas', host: 'pasff.usgovcloudapi.net', purpose: P.entra, when: 'always', privateLink: 'public', tags: TAG.entra, scenarios: SCN.servers },
  { key: 'management', host: 'management.usgovcloudapi.net', purpose: P.arm, when: 'connect', privateLink: 'public-unless-arm-private-link', tags: TAG.arm, scenarios: SCN.onboarding },
  { key: 'his', host: '*.his.arc.azure.us', purpose: P.his, when: 'always', privateLink: 'private', tags: TAG.arc, scenarios: SCN.servers },
  { key: 'guestconfiguration', host: '*.guestconfiguration.azure.us', purpose: P.guestConfig, when: 'always', privateLink: 'private', tags: TAG.arc, scenarios: SCN.serversAndExtensions },
  { key: 'blob', host: '*.blob.core.usgovcloudapi.net', purpose: P.blob, when: 'unlessPrivate', privateLink: 'not-used', tags: TAG.storage, scenarios: SCN.serversAndExtensions },
  { key: 'telemetry', host: 'dc.applicationinsights.us', purpose: P.telemetry, when: 'optional', privateLink: 'public', tags: TAG.none, scenarios: SCN.optional },
];

// The China tab has no private-link column ("Private link is not available ... in Azure China regions").
const NA = 'not-applicable';
// prettier-ignore
const AZURE_CHINA_ROWS: AgentRow[] = [
  ...installationRows(NA),
  { key: 'login', host: 'login.chinacloudapi.cn', purpose: P.entra, when: 'always', privateLink: NA, tags: TAG.entra, scenarios: SCN.servers },
  { key: 'login-partner', host: 'login.partner.chinacloudapi.cn', purpose: P.entra, when: 'always', privateLink: NA, tags: TAG.entra, scenarios: SCN.servers },
  { key: 'pas', host: 'pas.chinacloudapi.cn', purpose: P.entra, when: 'always', privateLink: NA, tags: TAG.entra, scenarios: SCN.servers },
  { key: 'management', host: 'management.chinacloudapi.cn', purpose: P.arm, when: 'connect', privateLink: NA, tags: TAG.arm, scenarios: SCN.onboarding },
  { key: 'his', host: '*.his.arc.azure.cn', purpose: P.his, when: 'always', privateLink: NA, tags: TAG.arc, scenarios: SCN.servers },
  { key: 'guestconfiguration', host: '*.guestconfiguration.azure.cn', purpose: P.guestConfig, when: 'always', privateLink: NA, tags: TAG.arc, scenarios: SCN.serversAndExtensions },
  { key: 'notification', host: 'guestnotificationservice.azure.cn', purpose: P.notification, when: 'always', privateLink: NA, tags: TAG.arc, scenarios: SCN.serversAndExtensions },
  { key: 'notification-wildcard', host: '*.guestnotificationservice.azure.cn', purpose: P.notification, when: 'always', privateLink: NA, tags: TAG.arc, scenarios: SCN.serversAndExtensions },
  { key: 'notification-servicebus', host: 'azgn*.servicebus.chinacloudapi.cn', purpose: P.notification, when: 'always', privateLink: NA, tags: TAG.none, scenarios: SCN.serversAndExtensions },
  { key: 'ssh-wac-servicebus', host: '*.servicebus.chinacloudapi.cn', purpose: P.sshWac, when: 'sshWac', privateLink: NA, tags: TAG.wac, scenarios: SCN.sshWac },
  { key: 'blob', host: '*.blob.core.chinacloudapi.cn', purpose: P.blob, when: 'unlessPrivate', privateLink: NA, tags: TAG.storage, scenarios: SCN.serversAndExtensions },
  { key: 'telemetry', host: 'dc.applicationinsights.azure.cn', purpose: P.telemetry, when: 'optional', privateLink: NA, tags: TAG.none, scenarios: SCN.optional },
];

/** Seed 004 "Direction" cells, verbatim (the seed's only words on who needs a row, and when). */
const DIRECTION = {
  both: 'Management machine & Appliance VM IPs need outbound connection.',
  appliance: 'Appliance VM IPs need outbound connection.',
  appliances: 'Appliance VMs IP need outbound connection.',
  management: 'Management machine needs outbound connection.',
  ntp: 'Appliance VM & Management machine (if Hyper-V default is Windows NTP) need outbound connection on UDP',
} as const;

const MACHINES_BY_DIRECTION: Record<keyof typeof DIRECTION, Machine[]> = {
  both: ['management-machine', 'appliance-vm'],
  appliance: ['appliance-vm'],
  appliances: ['appliance-vm'],
  management: ['management-machine'],
  ntp: ['management-machine', 'appliance-vm'],
};

interface BridgeRow {
  key: string;
  host: string;
  service: string;
  notes: string;
  direction: keyof typeof DIRECTION;
  tags?: readonly string[];
  /** Default `always`. */
  requirement?: Requirement;
  /** Default `microsoft`; `public` for hosts a third party operates with its own public CA. */
  genuineCa?: GenuineCa;
}

/*
 * Requirement of resource bridge rows: the seed has no "when" column, so every row is `always`, except
 * - NTP: only when the Hyper-V default time source is Windows NTP → `conditional`;
 * - the management-machine-only Python rows ("Validate Kubernetes and Python versions", "Python packages
 *   for Azure CLI installation"): the management machine needs them while deploying or upgrading the
 *   bridge, not while it runs → `installation`.
 */
function bridgeEntries(rows: readonly BridgeRow[]): CatalogEntry[] {
  return rows.map((r) => {
    const ntp = r.direction === 'ntp';
    return {
      id: `bridge.${r.key}`,
      agent: 'resource-bridge',
      cloud: 'AzureCloud',
      hostPattern: r.host,
      port: ntp ? 123 : 443,
      transport: ntp ? 'udp' : 'tcp',
      protocol: ntp ? 'ntp' : 'https',
      purpose: `${r.service}: ${r.notes}`,
      requirement: r.requirement ?? 'always',
      requirementText: DIRECTION[r.direction],
      privateLink: 'not-applicable',
      machines: [...MACHINES_BY_DIRECTION[r.direction]],
      serviceTags: [...(r.tags ?? TAG.none)],
      scenarios: ['resource-bridge'],
      inspection: 'not-tolerated',
      genuineCa: r.genuineCa ?? 'microsoft',
      source: { document: 'seed:004' },
    };
  });
}

const BRIDGE_IMAGES = 'Resource bridge (appliance) container image download';
const ARC_K8S_IMAGES = 'Azure Arc for Kubernetes container image download';
const PYTHON = 'Python package';
const CLI = 'Azure CLI';
const PYTHON_NOTES = 'Validate Kubernetes and Python versions.';
/*
 * PyPI (pypi.org, files.pythonhosted.org) is run by the Python Software Foundation and served by Fastly with
 * GlobalSign certificates, not Microsoft's: its rows expect any publicly trusted root (`genuineCa: public`).
 */
const CLI_NOTES = 'Python packages for Azure CLI installation.';

// prettier-ignore
const RESOURCE_BRIDGE_ROWS: BridgeRow[] = [
  { key: 'sfs-api', host: 'msk8s.api.cdp.microsoft.com', service: 'SFS API endpoint', notes: 'Download product catalog, product bits, and OS images from SFS.', direction: 'both' },
  { key: 'dp-appliances', host: '*.dp.prod.appliances.azure.com', service: 'Resource bridge (appliance) Dataplane service', notes: 'Communicate with resource provider in Azure.', direction: 'appliances' },
  { key: 'image-blob', host: '*.blob.core.windows.net', service: BRIDGE_IMAGES, notes: 'Required to pull container images.', direction: 'appliance', tags: TAG.storage },
  { key: 'image-ecpacr', host: 'ecpacr.azurecr.io', service: BRIDGE_IMAGES, notes: 'Required to pull container images.', direction: 'appliance' },
  { key: 'his', host: '*.his.arc.azure.com', service: 'Managed Identity', notes: 'Required to pull system-assigned Managed Identity certificates.', direction: 'appliance', tags: TAG.arc },
  { key: 'os-image', host: 'msk8s.sb.tlu.dl.delivery.mp.microsoft.com', service: 'Resource bridge (appliance) image download', notes: 'Download the Arc Resource Bridge OS images.', direction: 'both' },
  { key: 'azurearcfork8s', host: 'azurearcfork8s.azurecr.io', service: ARC_K8S_IMAGES, notes: 'Required to pull container images.', direction: 'appliance' },
  { key: 'adhs-telemetry', host: 'adhs.events.data.microsoft.com', service: 'ADHS telemetry service', notes: 'Periodically sends Microsoft required diagnostic data from appliance VM.', direction: 'appliance' },
  { key: 'v20-events', host: 'v20.events.data.microsoft.com', service: 'Microsoft events data service', notes: 'Send diagnostic data from Windows, like Windows Server or Azure Stack HCI.', direction: 'appliance' },
  { key: 'linuxgeneva', host: 'linuxgeneva-microsoft.azurecr.io', service: 'Log collection for Arc Resource Bridge', notes: 'Push logs for Appliance managed components.', direction: 'appliance' },
  { key: 'azurearcfork8sdev', host: 'azurearcfork8sdev.azurecr.io', service: ARC_K8S_IMAGES, notes: 'Pull container images.', direction: 'appliance' },
  { key: 'kvamanagementoperator', host: 'kvamanagementoperator.azurecr.io', service: 'Resource bridge components download', notes: 'Pull artifacts for Appliance managed components.', direction: 'appliance' },
  { key: 'mcr', host: 'mcr.microsoft.com', service: 'Microsoft Container Registry', notes: 'Download container images for Arc Resource Bridge.', direction: 'both' },
  { key: 'packages-microsoft', host: 'packages.microsoft.com', service: 'Microsoft open source packages manager', notes: 'Download Linux installation package.', direction: 'appliance' },
  { key: 'custom-locations-sts', host: 'sts.windows.net', service: 'Custom Locations', notes: 'Required for use by the Custom Locations cluster extension.', direction: 'appliance', tags: TAG.entra },
  { key: 'pypi', host: 'pypi.org', service: PYTHON, notes: PYTHON_NOTES, direction: 'management', requirement: 'installation', genuineCa: 'public' },
  { key: 'pypi-wildcard', host: '*.pypi.org', service: PYTHON, notes: PYTHON_NOTES, direction: 'management', requirement: 'installation', genuineCa: 'public' },
  { key: 'pythonhosted', host: 'pythonhosted.org', service: CLI, notes: CLI_NOTES, direction: 'management', requirement: 'installation', genuineCa: 'public' },
  { key: 'pythonhosted-wildcard', host: '*.pythonhosted.org', service: CLI, notes: CLI_NOTES, direction: 'management', requirement: 'installation', genuineCa: 'public' },
  { key: 'gcs-diagnostics', host: 'gcs.prod.monitoring.core.windows.net', service: 'Diagnostic data', notes: 'Periodically sends Microsoft required diagnostic data.', direction: 'appliance' },
  { key: 'ntp', host: 'time.windows.com', service: 'Windows NTP Server', notes: 'OS time sync in appliance VM & Management machine (Windows NTP).', direction: 'ntp', requirement: 'conditional' },
];

/** Every endpoint the seeds name, in seed order: agent rows per cloud, then the resource bridge. */
export const SEED_CATALOG: readonly CatalogEntry[] = Object.freeze([
  ...agentEntries('AzureCloud', AZURE_CLOUD_ROWS),
  ...agentEntries('AzureUSGovernment', AZURE_GOVERNMENT_ROWS),
  ...agentEntries('AzureChinaCloud', AZURE_CHINA_ROWS),
  ...bridgeEntries(RESOURCE_BRIDGE_ROWS),
]);

/**
 * The catalog: every seed row (with what today's pages say of it: retired, differences, protocol checks), then the
 * rows the current pages add (current.ts).
 */
export const CATALOG: readonly CatalogEntry[] = Object.freeze([...withEditions(SEED_CATALOG), ...CURRENT_ENTRIES]);
