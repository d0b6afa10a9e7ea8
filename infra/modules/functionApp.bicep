metadata description = 'The monitor\'s Functions app on the Flex Consumption plan (FC1, Linux, Node 22), integrated into the customer\'s VNet, deployed from a blob container with its managed identity, and configured with exactly the settings the monitor\'s schema reads (lib/config/settings.ts).'

import { monitorThresholds } from '../types.bicep'

@description('Name of the function app.')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Azure region of the plan and the app (the VNet\'s region).')
param location string

@description('Tags applied to the plan and the app.')
param tags object

@description('azd service name this app hosts (tag azd-service-name).')
param serviceName string

@description('Resource id of the user-assigned identity the app runs as.')
param identityResourceId string

@description('Client id of that identity.')
param identityClientId string

@description('Name of the storage account: host storage, deployment container and the monitor\'s tables.')
param storageAccountName string

@description('Blob container that holds the deployment package.')
param deploymentContainerName string

@description('Name of the Application Insights component.')
param appInsightsName string

@description('Resource id of the Log Analytics workspace that receives the app\'s platform logs and metrics (diagnostic settings).')
param workspaceResourceId string

@description('Resource id of the subnet for VNet integration (delegated to Microsoft.App/environments).')
param functionSubnetId string

@description('Memory of each instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('Upper bound of instances the plan may scale out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('ARCMON_CLOUD: the Azure cloud whose Arc endpoints are checked (AzureCloud, AzureUSGovernment or AzureChinaCloud; main.bicep passes the deployment\'s own cloud when none is given).')
param arcCloud string

@description('ARCMON_REGION: Azure region of the Arc resources, e.g. eastus.')
param arcRegion string

@description('ARCMON_SITE: name of the network this monitor watches from.')
param siteName string

@description('ARCMON_SCENARIOS: scenarios to check.')
param scenarios string[]

@description('ARCMON_ENDPOINTS_JSON: the user\'s own endpoints (same JSON as arcmon check --endpoints); empty for none.')
param endpointsJson string

@description('Minutes between probe cycles; PROBE_SCHEDULE becomes "0 */N * * * *".')
param probeIntervalMinutes int

@description('Regression, timeout and retention thresholds.')
param thresholds monitorThresholds

@description('ARCMON_PRIVATE_LINK: expect Arc private-link endpoints to resolve to private addresses.')
param privateLinkMode bool

@description('ARCMON_PRIVATE_RANGES: comma list of CIDR ranges that also count as private endpoint addresses; empty for none.')
param privateRanges string

@description('ARCMON_DNS_SERVER: DNS server (ip or ip:port) the probes ask; empty for the platform resolver.')
param dnsServer string

@description('ARCMON_PROXY: explicit proxy URL for the probes, possibly with credentials; empty for none.')
@secure()
param proxyUrl string

@description('NO_PROXY: hosts, suffixes and CIDRs that bypass the proxy; empty for none.')
param noProxy string

@description('ARCMON_EXPECTED_ROOTS_PEM: extra genuine root certificates (PEM); empty for none.')
param expectedRootsPem string

@description('ARCMON_TABLE_PREFIX: prefix of the monitor\'s table names.')
param tablePrefix string

resource storageAccount 'Microsoft.Storage/storageAccounts@2026-09-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityResourceId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // The status function (function key) and azd's deployment reach the app publicly; everything the app
    // itself calls goes out through the VNet.
    publicNetworkAccess: 'Enabled'
    virtualNetworkSubnetId: functionSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageAccount.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityResourceId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// Settings the monitor's schema reads (lib/config/settings.ts SETTINGS_SHAPE). ARCMON_STORAGE_CONNECTION_STRING is
// deliberately absent: shared keys are off, the tables are reached with the managed identity.
var monitorSettings = {
  ARCMON_CLOUD: arcCloud
  ARCMON_REGION: arcRegion
  ARCMON_SITE: siteName
  ARCMON_SCENARIOS: join(scenarios, ',')
  PROBE_SCHEDULE: '0 */${probeIntervalMinutes} * * * *'
  ARCMON_RETENTION_DAYS: string(thresholds.retentionDays)
  ARCMON_OPEN_AFTER: string(thresholds.openAfter)
  ARCMON_RESOLVE_AFTER: string(thresholds.resolveAfter)
  ARCMON_LATENCY_RATIO: thresholds.latencyRatio
  ARCMON_LATENCY_FLOOR_MS: string(thresholds.latencyFloorMs)
  ARCMON_TIMEOUT_MS: string(thresholds.timeoutMs)
  ARCMON_CONCURRENCY: string(thresholds.concurrency)
  ARCMON_SLOW_MS: string(thresholds.slowMs)
  ARCMON_CERT_EXPIRY_DAYS: string(thresholds.certExpiryDays)
  ARCMON_CLOCK_SKEW_MS: string(thresholds.clockSkewMs)
  // string(bool) would give "True"; the schema accepts true/false/1/0 only.
  ARCMON_PRIVATE_LINK: privateLinkMode ? 'true' : 'false'
  ARCMON_TABLE_ENDPOINT: storageAccount.properties.primaryEndpoints.table
  ARCMON_TABLE_PREFIX: tablePrefix
  AZURE_CLIENT_ID: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  // Application Insights has local auth off: telemetry goes with the identity's Entra ID token, never the key.
  ARCMON_TELEMETRY_AUTH: 'entra'
}

// Optional monitor settings, set only when given (an empty value would be parsed as "unset" anyway).
var optionalMonitorSettings = {
  ARCMON_ENDPOINTS_JSON: endpointsJson
  ARCMON_DNS_SERVER: dnsServer
  ARCMON_PRIVATE_RANGES: privateRanges
  ARCMON_PROXY: proxyUrl
  NO_PROXY: noProxy
  ARCMON_EXPECTED_ROOTS_PEM: expectedRootsPem
}

// Settings the Functions host owns (HOST_OWNED_SETTINGS): identity-based host storage, Entra ID auth for the
// host's own logs. No AzureWebJobsStorage connection string, no FUNCTIONS_WORKER_RUNTIME/WEBSITE_* on Flex.
var hostSettings = {
  AzureWebJobsStorage__blobServiceUri: storageAccount.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storageAccount.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storageAccount.properties.primaryEndpoints.table
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

var givenOptionalSettings = toObject(filter(items(optionalMonitorSettings), s => !empty(s.value)), s => s.key, s => s.value)

resource appSettings 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: site
  name: 'appsettings'
  properties: union(hostSettings, monitorSettings, givenOptionalSettings)
}

// The host's own logs (start-up failures, function errors, timeouts) and the app's metrics go to the workspace
// beside the monitor's telemetry, so a monitor that cannot start is diagnosable where its silence is alerted on.
// The only GA version (2016-09-01) has no metric categories; 2021-05-01-preview is the current one and the one
// Microsoft's verified modules deploy.
#disable-next-line use-recent-api-versions
resource siteDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: site
  properties: {
    workspaceId: workspaceResourceId
    logs: [
      {
        category: 'FunctionAppLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

// Deployment and management go through Entra ID only.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

@description('Name of the function app.')
output name string = site.name

@description('Resource id of the function app.')
output resourceId string = site.id

@description('Default host name of the function app (status endpoint: https://<host>/api/status).')
output defaultHostName string = site.properties.defaultHostName

@description('Name of the Flex Consumption plan.')
output planName string = plan.name

@description('Resource id of the Flex Consumption plan.')
output planResourceId string = plan.id
