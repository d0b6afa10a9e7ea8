/**
 * Today's Arc: what Microsoft's current pages (MicrosoftDocs/azure-management-docs, read August 2026) say beyond
 * the seeds. Seed rows are never deleted or changed here; a row a page dropped is marked `retired`, a place where
 * a page disagrees with a seed is recorded in `differences` (the seed's value stands), and rows the pages added are
 * entries of their own, sourced `page`.
 */
import { describePage, PAGES, REMOVALS } from './sources';
import type { PageRef, RemovalCommit } from './sources';
import type {
  CatalogEntry,
  Cloud,
  GenuineCa,
  Machine,
  Protocol,
  ProtocolCheck,
  Requirement,
  Retirement,
  Scenario,
} from './types';

function retirement(removed: RemovalCommit, note?: string): Retirement {
  return {
    date: removed.date,
    source: `MicrosoftDocs/azure-management-docs ${removed.path} (commit ${removed.commit.slice(0, 7)}, "${removed.subject}")`,
    ...(note ? { note } : {}),
  };
}

/** What the current pages say about seed rows, by entry id. */
interface Edition {
  retired?: Retirement;
  differences?: string[];
  checks?: ProtocolCheck[];
}

const AKA = retirement(REMOVALS.akaMs, 'the installation script is fetched from download.microsoft.com');
const INSTALL_TOO = `${describePage(PAGES.servers)} adds: "Access to this URL is also needed when updates are performed automatically"`;
const TELEMETRY_1_24 = `${describePage(PAGES.servers)} says "Optional. Not used in agent versions 1.24+"`;
const NOTIFICATION_PUBLIC = `${describePage(PAGES.servers)} marks it Public in the "Private link capable" column; the seed says Private`;
const WEBSOCKET = `${describePage(PAGES.servers)}: "For notifications, one persistent WebSocket connection"`;

export const EDITIONS: Readonly<Record<string, Edition>> = {
  'servers.azurecloud.aka-ms': { retired: AKA },
  'servers.azureusgovernment.aka-ms': { retired: AKA },
  'servers.azurechinacloud.aka-ms': { retired: AKA },
  'servers.azurecloud.login-windows': {
    retired: retirement(REMOVALS.loginWindowsNet, 'the agent signs in at login.microsoftonline.com'),
  },
  'servers.azurecloud.blob': {
    retired: retirement(
      REMOVALS.serversBlob,
      'extensions now come from a Microsoft CDN behind the AzureFrontDoor.Frontend service tag (required as of April 2026)',
    ),
  },
  'servers.azurecloud.download-microsoft': { differences: [INSTALL_TOO] },
  'servers.azurecloud.packages-microsoft': { differences: [INSTALL_TOO] },
  'servers.azurecloud.telemetry': { differences: [TELEMETRY_1_24] },
  'servers.azureusgovernment.telemetry': { differences: [TELEMETRY_1_24] },
  'servers.azurechinacloud.telemetry': { differences: [TELEMETRY_1_24] },
  'servers.azurecloud.notification': { differences: [NOTIFICATION_PUBLIC] },
  'servers.azurecloud.notification-wildcard': { differences: [NOTIFICATION_PUBLIC] },
  'servers.azurecloud.notification-servicebus': { checks: ['websocket'], differences: [WEBSOCKET] },
  'servers.azurechinacloud.notification-servicebus': { checks: ['websocket'], differences: [WEBSOCKET] },
  'bridge.azurearcfork8s': { retired: retirement(REMOVALS.bridgeObsolete) },
  'bridge.adhs-telemetry': { retired: retirement(REMOVALS.bridgeObsolete) },
  'bridge.kvamanagementoperator': { retired: retirement(REMOVALS.bridgeObsolete) },
  'bridge.azurearcfork8sdev': { retired: retirement(REMOVALS.bridgeDevRegistry) },
  'bridge.mcr': {
    differences: [
      `${describePage(PAGES.bridge)}: "Discover container images"; downloads moved to *.data.mcr.microsoft.com`,
    ],
  },
};

/** Applies the editions to the seed entries (new objects; the seed rows themselves are unchanged). */
export function withEditions(seedEntries: readonly CatalogEntry[]): CatalogEntry[] {
  return seedEntries.map((e) => {
    const edition = Object.hasOwn(EDITIONS, e.id) ? EDITIONS[e.id] : undefined;
    return edition ? { ...e, ...edition } : e;
  });
}

interface PageRow {
  id: string;
  host: string;
  port?: number;
  protocol?: Protocol;
  httpPath?: string;
  purpose: string;
  requirement: Requirement;
  /** The page's "when required" words. */
  when: string;
  scenarios: Scenario[];
  tags?: string[];
  machines?: Machine[];
  page: PageRef;
  note?: string;
  checks?: ProtocolCheck[];
  inspection?: 'tolerated' | 'not-tolerated';
  /** What a genuine chain ends at. Default `microsoft`: every row beyond the seeds is a Microsoft-operated host. */
  genuineCa?: GenuineCa;
}

function agentRow(cloud: Cloud, r: PageRow): CatalogEntry {
  return pageEntry(r, cloud, 'connected-machine', ['server'], 'tolerated');
}

function bridgeRow(r: PageRow): CatalogEntry {
  return pageEntry(r, 'AzureCloud', 'resource-bridge', ['appliance-vm'], 'not-tolerated');
}

function pageEntry(
  r: PageRow,
  cloud: Cloud,
  agent: CatalogEntry['agent'],
  machines: Machine[],
  inspection: 'tolerated' | 'not-tolerated',
): CatalogEntry {
  const protocol = r.protocol ?? 'https';
  const udp = protocol === 'dns';
  return {
    id: r.id,
    agent,
    cloud,
    hostPattern: r.host,
    port: r.port ?? (protocol === 'http' ? 80 : protocol === 'dns' ? 53 : 443),
    transport: udp ? 'udp' : 'tcp',
    protocol,
    purpose: r.purpose,
    requirement: r.requirement,
    requirementText: r.when,
    privateLink: agent === 'resource-bridge' ? 'not-applicable' : 'public',
    machines: r.machines ?? machines,
    serviceTags: r.tags ?? [],
    scenarios: r.scenarios,
    inspection: r.inspection ?? inspection,
    genuineCa: r.genuineCa ?? 'microsoft',
    source: { document: 'page', page: r.page, note: r.note ?? `beyond the seeds: ${describePage(r.page)}` },
    ...(r.httpPath ? { httpPath: r.httpPath } : {}),
    ...(r.checks ? { checks: r.checks } : {}),
  };
}

const S = PAGES.servers;
const ENTRA = 'Microsoft Entra ID';
const ALWAYS = 'Always.';
const SQL_WHEN = 'If you use Azure Arc-enabled SQL Server.';
const ESU_WHEN =
  'If you use Extended Security Updates enabled by Azure Arc. Always required for automatic updates or temporarily if you download certificates manually.';
const ESU = 'Intermediate certificate updates for Extended Security Updates (uses HTTP/TCP 80 and HTTPS/TCP 443)';
const DLS_WHEN =
  'Required when you use hotpatching, Windows Server Azure Benefits, or Windows Server pay-as-you-go billing on Azure Arc-enabled machines.';

// prettier-ignore
const SERVERS_AZURE_CLOUD: PageRow[] = [
  { id: 'servers.azurecloud.login-microsoft', host: '*.login.microsoft.com', purpose: ENTRA, requirement: 'always', when: ALWAYS, scenarios: ['servers'], tags: ['AzureActiveDirectory'], page: S },
  { id: 'servers.azurecloud.waconazure', host: '*.waconazure.com', purpose: 'For Windows Admin Center connectivity', requirement: 'conditional', when: 'If you use Windows Admin Center.', scenarios: ['wac'], tags: ['WindowsAdminCenter'], page: S },
  { id: 'servers.azurecloud.arcdataservices', host: '*.<region>.arcdataservices.com', purpose: 'SQL Server enabled by Azure Arc: data processing, telemetry, performance monitoring (TLS 1.2 or 1.3 only)', requirement: 'conditional', when: SQL_WHEN, scenarios: ['sql'], page: S },
  { id: 'servers.azurecloud.sql-keyvault', host: '*.vault.azure.net', purpose: 'Microsoft Entra authentication with SQL Server enabled by Azure Arc (your key vault)', requirement: 'conditional', when: SQL_WHEN, scenarios: ['sql'], page: S },
  { id: 'servers.azurecloud.sql-graph', host: 'graph.microsoft.com', purpose: 'Microsoft Entra authentication with SQL Server enabled by Azure Arc', requirement: 'conditional', when: SQL_WHEN, scenarios: ['sql'], page: S },
  { id: 'servers.azurecloud.pkiops-http', host: 'www.microsoft.com', protocol: 'http', httpPath: '/pkiops/certs', purpose: ESU, requirement: 'conditional', when: ESU_WHEN, scenarios: ['esu'], page: S },
  { id: 'servers.azurecloud.pkiops-https', host: 'www.microsoft.com', httpPath: '/pkiops/certs', purpose: ESU, requirement: 'conditional', when: ESU_WHEN, scenarios: ['esu'], page: S },
  { id: 'servers.azurecloud.dls', host: 'dls.microsoft.com', purpose: 'License validation (hotpatching, Azure Benefits, pay-as-you-go)', requirement: 'conditional', when: DLS_WHEN, scenarios: ['update-manager'], page: S },
];

// prettier-ignore
const SERVERS_AZURE_GOVERNMENT: PageRow[] = [
  { id: 'servers.azureusgovernment.arcdataservices', host: '*.<region>.arcdataservices.azure.us', purpose: 'SQL Server enabled by Azure Arc: data processing, telemetry, performance monitoring (TLS 1.2 or 1.3 only)', requirement: 'conditional', when: SQL_WHEN, scenarios: ['sql'], page: S },
  { id: 'servers.azureusgovernment.pkiops-http', host: 'www.microsoft.com', protocol: 'http', httpPath: '/pkiops/certs', purpose: ESU, requirement: 'conditional', when: ESU_WHEN, scenarios: ['esu'], page: S },
  { id: 'servers.azureusgovernment.pkiops-https', host: 'www.microsoft.com', httpPath: '/pkiops/certs', purpose: ESU, requirement: 'conditional', when: ESU_WHEN, scenarios: ['esu'], page: S },
];

const G = PAGES.gateway;
const GW_WHEN = 'Azure Arc gateway: allowed in the environment where your Azure Arc resources live';
// The gateway page's table has 7 rows naming 8 hosts (one row names two Entra ID hosts).
// prettier-ignore
const GATEWAY: PageRow[] = [
  { id: 'gateway.url', host: '*.gw.arc.azure.com', purpose: 'Your Azure Arc gateway URL (az arcgateway list); exempt it from TLS inspection', requirement: 'always', when: GW_WHEN, scenarios: ['gateway'], page: G, inspection: 'not-tolerated' },
  { id: 'gateway.management', host: 'management.azure.com', purpose: 'Azure Resource Manager control channel', requirement: 'always', when: GW_WHEN, scenarios: ['gateway'], tags: ['AzureResourceManager'], page: G },
  { id: 'gateway.login-microsoftonline', host: 'login.microsoftonline.com', purpose: 'Microsoft Entra ID: identity access tokens', requirement: 'always', when: GW_WHEN, scenarios: ['gateway'], tags: ['AzureActiveDirectory'], page: G },
  { id: 'gateway.login-microsoft', host: '*.login.microsoft.com', purpose: 'Microsoft Entra ID: identity access tokens (<region>.login.microsoft.com)', requirement: 'always', when: GW_WHEN, scenarios: ['gateway'], tags: ['AzureActiveDirectory'], page: G },
  { id: 'gateway.his', host: '*.his.arc.azure.com', purpose: 'Azure Arc core control channel (gbl.his.arc.azure.com and <region>.his.arc.azure.com)', requirement: 'always', when: GW_WHEN, scenarios: ['gateway'], tags: ['AzureArcInfrastructure'], page: G },
  { id: 'gateway.packages-microsoft', host: 'packages.microsoft.com', purpose: 'Required to connect Linux servers to Azure Arc', requirement: 'always', when: GW_WHEN, scenarios: ['gateway'], page: G },
  { id: 'gateway.download-microsoft', host: 'download.microsoft.com', purpose: 'Used to download the Windows installation package', requirement: 'always', when: GW_WHEN, scenarios: ['gateway'], page: G },
];

const P = PAGES.proxy;
const AMA_WHEN = 'If Azure Monitor Agent is installed (proxy.bypass category AMA)';
// prettier-ignore
const AMA: PageRow[] = [
  { id: 'ama.handler-global', host: 'global.handler.control.monitor.azure.com', purpose: 'Azure Monitor Agent: data collection rules (global)', requirement: 'conditional', when: AMA_WHEN, scenarios: ['ama'], page: P },
  { id: 'ama.handler-regional', host: '*.handler.control.monitor.azure.com', purpose: 'Azure Monitor Agent: data collection rules (<region>.handler.control.monitor.azure.com)', requirement: 'conditional', when: AMA_WHEN, scenarios: ['ama'], page: P },
  { id: 'ama.workspace', host: '*.ods.opinsights.azure.com', purpose: 'Azure Monitor Agent: Log Analytics workspace ingestion (<workspace-id>.ods.opinsights.azure.com)', requirement: 'conditional', when: AMA_WHEN, scenarios: ['ama'], page: P },
  { id: 'ama.management', host: 'management.azure.com', purpose: 'Azure Monitor Agent: Azure Resource Manager', requirement: 'conditional', when: AMA_WHEN, scenarios: ['ama'], tags: ['AzureResourceManager'], page: P },
  { id: 'ama.metrics', host: '*.monitoring.azure.com', purpose: 'Azure Monitor Agent: custom metrics (<region>.monitoring.azure.com)', requirement: 'conditional', when: AMA_WHEN, scenarios: ['ama'], page: P },
  { id: 'ama.dce', host: '*.ingest.monitor.azure.com', purpose: 'Azure Monitor Agent: data collection endpoint (<dce>.<region>.ingest.monitor.azure.com)', requirement: 'conditional', when: AMA_WHEN, scenarios: ['ama'], page: P },
];

const E = PAGES.gatewayEndpoints;
const GW_LIST =
  "listed among the endpoints Azure Arc gateway carries; the extension's own page is not in this repository";
// prettier-ignore
const EXTENSIONS: PageRow[] = [
  { id: 'defender.endpoint-security', host: '*.endpoint.security.microsoft.com', purpose: 'Microsoft Defender for Endpoint', requirement: 'conditional', when: 'If Microsoft Defender for Endpoint is onboarded', scenarios: ['defender'], page: E, note: GW_LIST },
  { id: 'defender.wd', host: '*.wd.microsoft.com', purpose: 'Microsoft Defender for Endpoint (cloud protection)', requirement: 'conditional', when: 'If Microsoft Defender for Endpoint is onboarded', scenarios: ['defender'], page: E, note: GW_LIST },
  { id: 'update-manager.windowsupdate', host: 'windowsupdate.microsoft.com', purpose: 'Windows Update (Azure Update Manager)', requirement: 'conditional', when: 'If Azure Update Manager patches Windows machines', scenarios: ['update-manager'], page: E, note: GW_LIST },
  { id: 'update-manager.delivery', host: 'fe3.delivery.mp.microsoft.com', purpose: 'Windows Update delivery (Azure Update Manager)', requirement: 'conditional', when: 'If Azure Update Manager patches Windows machines', scenarios: ['update-manager'], page: E, note: GW_LIST },
  { id: 'update-manager.update', host: '*.update.microsoft.com', purpose: 'Windows Update (Azure Update Manager)', requirement: 'conditional', when: 'If Azure Update Manager patches Windows machines', scenarios: ['update-manager'], page: E, note: GW_LIST },
];

const B = PAGES.bridge;
const BOTH: Machine[] = ['management-machine', 'appliance-vm'];
const MGMT: Machine[] = ['management-machine'];
const BOTH_WHEN = 'Management machine & Appliance VM IPs need outbound connection.';
const APPLIANCE_WHEN = 'Appliance VM IPs need outbound connection.';
const MGMT_WHEN = 'Management machine needs outbound connection.';
const RB: Scenario[] = ['resource-bridge'];
// prettier-ignore
const BRIDGE: PageRow[] = [
  { id: 'bridge.dns-servers', host: '<dns-server>', protocol: 'dns', purpose: 'DNS servers: resolve the required service endpoints (the DNS servers given at deployment)', requirement: 'always', when: BOTH_WHEN, scenarios: RB, machines: BOTH, page: B },
  { id: 'bridge.data-mcr', host: '*.data.mcr.microsoft.com', purpose: 'Microsoft Container Registry: download container images', requirement: 'always', when: BOTH_WHEN, scenarios: RB, machines: BOTH, page: B },
  { id: 'bridge.management', host: 'management.azure.com', purpose: 'Azure Resource Manager: manage resources in Azure', requirement: 'always', when: BOTH_WHEN, scenarios: RB, machines: BOTH, tags: ['AzureResourceManager'], page: B },
  { id: 'bridge.graph', host: 'graph.microsoft.com', purpose: 'Microsoft Graph: required for Azure RBAC', requirement: 'always', when: BOTH_WHEN, scenarios: RB, machines: BOTH, page: B },
  { id: 'bridge.login-microsoftonline', host: 'login.microsoftonline.com', purpose: 'Azure Resource Manager: update ARM tokens', requirement: 'always', when: BOTH_WHEN, scenarios: RB, machines: BOTH, tags: ['AzureActiveDirectory'], page: B },
  { id: 'bridge.login-microsoft', host: '*.login.microsoft.com', purpose: 'Azure Resource Manager: update ARM tokens', requirement: 'always', when: BOTH_WHEN, scenarios: RB, machines: BOTH, tags: ['AzureActiveDirectory'], page: B },
  { id: 'bridge.login-windows', host: 'login.windows.net', purpose: 'Azure Resource Manager: update ARM tokens', requirement: 'always', when: BOTH_WHEN, scenarios: RB, machines: BOTH, tags: ['AzureActiveDirectory'], page: B },
  { id: 'bridge.guestnotification', host: 'guestnotificationservice.azure.com', purpose: 'Azure Arc: required for Azure Arc', requirement: 'always', when: APPLIANCE_WHEN, scenarios: RB, tags: ['AzureArcInfrastructure'], page: B },
  { id: 'bridge.microsoftmetrics', host: '*.prod.microsoftmetrics.com', purpose: 'Diagnostic data', requirement: 'always', when: APPLIANCE_WHEN, scenarios: RB, page: B },
  { id: 'bridge.hot-ingest', host: '*.prod.hot.ingest.monitor.core.windows.net', purpose: 'Diagnostic data', requirement: 'always', when: APPLIANCE_WHEN, scenarios: RB, page: B },
  { id: 'bridge.warm-ingest', host: '*.prod.warm.ingest.monitor.core.windows.net', purpose: 'Diagnostic data', requirement: 'always', when: APPLIANCE_WHEN, scenarios: RB, page: B },
  { id: 'bridge.servicebus', host: '*.servicebus.windows.net', purpose: 'Azure Service Bus: secure control channel (outbound WebSocket wss:// must be allowed)', requirement: 'always', when: `${APPLIANCE_WHEN} Outbound WebSocket (wss://) connections must be allowed.`, scenarios: RB, page: B, checks: ['websocket'] },
  { id: 'bridge.cli-blob', host: '*.blob.core.windows.net', purpose: 'Azure CLI: download the Azure CLI installer', requirement: 'installation', when: MGMT_WHEN, scenarios: RB, machines: MGMT, tags: ['Storage'], page: B },
  { id: 'bridge.web-core', host: '*.web.core.windows.net', purpose: 'Arc extension: download the Arc resource bridge extension', requirement: 'installation', when: MGMT_WHEN, scenarios: RB, machines: MGMT, page: B },
  { id: 'bridge.kubernetesconfiguration', host: '*.dp.kubernetesconfiguration.azure.com', purpose: 'Azure Arc agent data plane (HTTP/2; an inspecting proxy that breaks it shows as "http2: server sent GOAWAY")', requirement: 'installation', when: MGMT_WHEN, scenarios: RB, machines: MGMT, page: B, checks: ['http2'] },
];

/** Every row the current pages add beyond the seeds. */
export const CURRENT_ENTRIES: readonly CatalogEntry[] = [
  ...SERVERS_AZURE_CLOUD.map((r) => agentRow('AzureCloud', r)),
  ...SERVERS_AZURE_GOVERNMENT.map((r) => agentRow('AzureUSGovernment', r)),
  ...GATEWAY.map((r) => agentRow('AzureCloud', r)),
  ...AMA.map((r) => agentRow('AzureCloud', r)),
  ...EXTENSIONS.map((r) => agentRow('AzureCloud', r)),
  ...BRIDGE.map(bridgeRow),
];

/** seed (from a seed document, current), current (a page beyond the seeds), retired (a later page dropped it). */
export function entryStatus(e: CatalogEntry): 'seed' | 'current' | 'retired' {
  if (e.retired) return 'retired';
  return e.source.document.startsWith('seed:') ? 'seed' : 'current';
}
