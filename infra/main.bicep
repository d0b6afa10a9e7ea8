metadata description = 'Azure Arc connectivity monitor: a Flex Consumption function app inside the customer\'s VNet that probes every endpoint Arc needs, stores history in Table Storage and reports to Application Insights, with alert emails and a trends workbook.'

targetScope = 'resourceGroup'

import { emailReceiver, firewallRulesConfig, monitorThresholds, networkConfig, privateDnsConfig } from 'types.bicep'

// ---------- deployment ----------

@description('Name of the environment (azd environment name); part of every resource name through the resource token.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Azure region of every resource. It must be the region of the VNet the monitor joins.')
param location string = resourceGroup().location

@description('Extra tags for every resource.')
param extraTags object = {}

// ---------- what the monitor checks (ARCMON_* settings) ----------

@description('ARCMON_CLOUD: the Azure cloud whose Arc endpoints are checked; leave it out for the cloud this deployment runs in (environment().name).')
param arcCloud ('AzureCloud' | 'AzureUSGovernment' | 'AzureChinaCloud')?

@description('ARCMON_REGION: Azure region of the Arc resources whose regional endpoints are checked, e.g. eastus.')
@minLength(2)
param arcRegion string

@description('ARCMON_SITE: name of the network this monitor watches from, e.g. hub-westeurope (letters, digits, dot, dash, underscore).')
@minLength(1)
@maxLength(63)
param siteName string

@description('ARCMON_SCENARIOS: the Arc scenarios whose endpoints are checked.')
@allowed([
  'servers'
  'onboarding'
  'resource-bridge'
  'ssh-admin-center'
  'extensions'
  'optional'
  'all'
])
param scenarios string[] = [
  'servers'
]

@description('ARCMON_ENDPOINTS_JSON: your own endpoints, the same JSON as arcmon check --endpoints FILE; empty for none.')
param endpointsJson string = ''

@description('Minutes between probe cycles; PROBE_SCHEDULE becomes "0 */N * * * *" (divisors of 60 only, so cycles stay evenly spaced).')
@allowed([
  1
  2
  3
  4
  5
  6
  10
  12
  15
  20
  30
])
param probeIntervalMinutes int = 5

@description('Regression, timeout and retention thresholds (ARCMON_OPEN_AFTER, ARCMON_RESOLVE_AFTER, ...). Defaults match the monitor\'s own.')
param thresholds monitorThresholds = {
  openAfter: 2
  resolveAfter: 2
  latencyRatio: '3'
  latencyFloorMs: 250
  timeoutMs: 10000
  concurrency: 32
  slowMs: 3000
  certExpiryDays: 14
  clockSkewMs: 1000
  retentionDays: 30
}

@description('ARCMON_PRIVATE_LINK: the site uses Azure Arc private link, so private-link endpoints must resolve to private addresses.')
param privateLinkMode bool = false

@description('ARCMON_PRIVATE_RANGES: comma list of CIDR ranges that also count as private endpoint addresses (VNets outside RFC 1918, e.g. 100.64.0.0/10); empty for none.')
param privateRanges string = ''

@description('ARCMON_DNS_SERVER: DNS server (ip or ip:port) the probes ask, e.g. your on-premises forwarder; empty for the VNet\'s resolver.')
param dnsServer string = ''

@description('ARCMON_PROXY: explicit proxy URL the probes use (may carry credentials, hence secure); empty for direct egress.')
@secure()
param proxyUrl string = ''

@description('NO_PROXY: hosts, .suffixes and CIDRs that bypass the proxy; empty for none.')
param noProxy string = ''

@description('ARCMON_EXPECTED_ROOTS_PEM: extra genuine root certificates (PEM) besides Azure\'s; empty for none.')
param expectedRootsPem string = ''

@description('ARCMON_TABLE_PREFIX: prefix of the monitor\'s tables (<prefix>History, <prefix>State, <prefix>Incidents).')
@minLength(1)
@maxLength(31)
param tablePrefix string = 'arcmon'

// ---------- network ----------

@description('The VNet the monitor joins: an existing one (mode existing, the common case) or a new one for a trial (mode new).')
param network networkConfig = {
  mode: 'new'
  functionSubnetName: 'snet-monitor'
  privateEndpointSubnetName: 'snet-private-endpoints'
}

@description('DNS for the storage private endpoints: {mode: \'create\'} makes the privatelink zones here and links them to the VNet; {mode: \'existing\', zoneIds: {...}} uses zones you already have (a hub\'s, any subscription); {mode: \'none\'} leaves DNS to you (e.g. a policy that adds zone groups). Default: create for a new VNet, none for an existing one, so a spoke never shadows the hub\'s zones.')
param privateDns privateDnsConfig?

@description('Optional: add the Azure Arc allowlist to an existing Azure Firewall policy as a rule collection group "azure-arc", from arcmon allowlist --format azure-firewall-json, so the firewall allows exactly what the monitor checks. Leave out to change no firewall.')
param arcFirewallRules firewallRulesConfig?

// ---------- hosting ----------

@description('Memory of each Flex Consumption instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound of Flex Consumption instances (timers run on one instance; the status function may scale).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Replication of the storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSkuName string = 'Standard_LRS'

@description('Days the Log Analytics workspace keeps telemetry (the workbook\'s reach).')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 90

// ---------- alerts ----------

@description('People or mailboxes that receive alert emails (common alert schema); at least one, so an alert always reaches a person.')
@minLength(1)
param alertEmailReceivers emailReceiver[]

@description('Schedule intervals without any MonitorCycle before the dead-man\'s switch fires.')
@minValue(2)
@maxValue(48)
param silentAfterIntervals int = 3

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName, location))
var tags = union(extraTags, { 'azd-env-name': environmentName })
var storageServices = [
  'blob'
  'table'
  'queue'
]
var tableNames = [
  '${tablePrefix}History'
  '${tablePrefix}State'
  '${tablePrefix}Incidents'
]
var deploymentContainerName = 'app-package-${resourceToken}'
var dns = privateDns ?? (network.mode == 'new' ? { mode: 'create' } : { mode: 'none' })
// Nested deployment names carry the resource token, so two environments in one resource group never overwrite
// each other's deployment records.
var deploymentPrefix = 'arcmon-${resourceToken}'

module monitoring 'modules/monitoring.bicep' = {
  name: '${deploymentPrefix}-monitoring'
  params: {
    workspaceName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    appInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
  }
}

module identity 'modules/identity.bicep' = {
  name: '${deploymentPrefix}-identity'
  params: {
    name: '${abbrs.managedIdentities}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: '${deploymentPrefix}-storage'
  params: {
    name: '${abbrs.storageAccounts}${resourceToken}'
    location: location
    tags: tags
    skuName: storageSkuName
    deploymentContainerName: deploymentContainerName
    tableNames: tableNames
    workspaceResourceId: monitoring.outputs.workspaceResourceId
  }
}

module vnet 'modules/network.bicep' = {
  name: '${deploymentPrefix}-network'
  params: {
    config: network
    newVirtualNetworkName: '${abbrs.virtualNetworks}${resourceToken}'
    location: location
    tags: tags
  }
}

module dnsZones 'modules/privateDnsZone.bicep' = [
  for service in storageServices: if (dns.mode == 'create') {
    name: '${deploymentPrefix}-dns-${service}'
    params: {
      zoneName: 'privatelink.${service}.${environment().suffixes.storage}'
      virtualNetworkId: vnet.outputs.resourceId
      tags: tags
    }
  }
]

var zoneIds = dns.mode == 'existing'
  ? dns.zoneIds
  : (dns.mode == 'create'
      ? { blob: dnsZones[0].?outputs.resourceId ?? '', table: dnsZones[1].?outputs.resourceId ?? '', queue: dnsZones[2].?outputs.resourceId ?? '' }
      : { blob: '', table: '', queue: '' })

module privateEndpoints 'modules/privateEndpoint.bicep' = [
  for (service, i) in storageServices: {
    name: '${deploymentPrefix}-pe-${service}'
    params: {
      name: '${abbrs.privateEndpoints}${service}-${resourceToken}'
      location: location
      tags: tags
      subnetId: vnet.outputs.privateEndpointSubnetId
      storageAccountName: storage.outputs.name
      groupId: service
      privateDnsZoneId: zoneIds[service]
    }
  }
]

module roles 'modules/roles.bicep' = {
  name: '${deploymentPrefix}-roles'
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    appInsightsName: monitoring.outputs.name
  }
}

module functionApp 'modules/functionApp.bicep' = {
  name: '${deploymentPrefix}-functionApp'
  // The app reads its deployment package and host storage through the private endpoints with its identity:
  // both must exist before it starts.
  dependsOn: [
    roles
    privateEndpoints
  ]
  params: {
    name: '${abbrs.functionApps}${resourceToken}'
    planName: '${abbrs.appServicePlans}${resourceToken}'
    location: location
    tags: tags
    serviceName: 'monitor'
    identityResourceId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    appInsightsName: monitoring.outputs.name
    functionSubnetId: vnet.outputs.functionSubnetId
    workspaceResourceId: monitoring.outputs.workspaceResourceId
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    arcCloud: arcCloud ?? environment().name
    arcRegion: arcRegion
    siteName: siteName
    scenarios: scenarios
    endpointsJson: endpointsJson
    probeIntervalMinutes: probeIntervalMinutes
    thresholds: thresholds
    privateLinkMode: privateLinkMode
    privateRanges: privateRanges
    dnsServer: dnsServer
    proxyUrl: proxyUrl
    noProxy: noProxy
    expectedRootsPem: expectedRootsPem
    tablePrefix: tablePrefix
  }
}

module alerts 'modules/alerts.bicep' = {
  name: '${deploymentPrefix}-alerts'
  params: {
    actionGroupName: '${abbrs.actionGroups}${resourceToken}'
    actionGroupShortName: 'arcmon'
    emailReceivers: alertEmailReceivers
    ruleNamePrefix: '${abbrs.alertRules}${resourceToken}-'
    location: location
    tags: tags
    appInsightsName: monitoring.outputs.name
    probeIntervalMinutes: probeIntervalMinutes
    openAfter: thresholds.openAfter
    silentAfterIntervals: silentAfterIntervals
    privateLinkMode: privateLinkMode
  }
}

// Without the parameter the module is not deployed; the fallback id only keeps its scope expression valid.
var firewallPolicyIdParts = split(arcFirewallRules.?firewallPolicyResourceId ?? resourceId('Microsoft.Network/firewallPolicies', 'none'), '/')

module firewallRules 'modules/firewallRules.bicep' = if (arcFirewallRules != null) {
  name: '${deploymentPrefix}-firewall-rules'
  // The policy usually lives in the hub: its own subscription and resource group.
  scope: resourceGroup(firewallPolicyIdParts[2], firewallPolicyIdParts[4])
  params: {
    firewallPolicyName: last(firewallPolicyIdParts)
    ruleCollectionGroupName: 'azure-arc'
    priority: arcFirewallRules.?priority ?? 300
    ruleCollections: arcFirewallRules.?ruleCollections ?? []
  }
}

module workbook 'modules/workbook.bicep' = {
  name: '${deploymentPrefix}-workbook'
  params: {
    displayName: 'Azure Arc connectivity trends (${siteName})'
    nameSeed: resourceToken
    location: location
    tags: tags
    appInsightsName: monitoring.outputs.name
  }
}

@description('Region the resources were deployed to (azd).')
output AZURE_LOCATION string = location

@description('Tenant of the deployment (azd).')
output AZURE_TENANT_ID string = tenant().tenantId

@description('Name of the function app that runs the monitor.')
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name

@description('Status endpoint of the monitor (needs a function key).')
output MONITOR_STATUS_URL string = 'https://${functionApp.outputs.defaultHostName}/api/status'

@description('Client id of the monitor\'s managed identity (AZURE_CLIENT_ID).')
output AZURE_CLIENT_ID string = identity.outputs.clientId

@description('Name of the storage account holding the monitor\'s tables.')
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name

@description('Table endpoint of the monitor\'s tables (ARCMON_TABLE_ENDPOINT).')
output ARCMON_TABLE_ENDPOINT string = storage.outputs.tableEndpoint

@description('Resource id of the Application Insights component.')
output APPLICATIONINSIGHTS_RESOURCE_ID string = monitoring.outputs.resourceId

@description('Resource id of the trends workbook.')
output WORKBOOK_RESOURCE_ID string = workbook.outputs.resourceId

@description('Resource id of the action group that emails the alerts.')
output ACTION_GROUP_RESOURCE_ID string = alerts.outputs.resourceId
