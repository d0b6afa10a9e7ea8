metadata description = 'Storage for the Functions host, the deployment package and the monitor\'s tables: shared keys off, TLS 1.2, HTTPS only, no public network access (reached through private endpoints).'

@description('Name of the storage account (3-24 lower-case letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the account.')
param location string

@description('Tags applied to the account.')
param tags object

@description('Replication of the account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string

@description('Blob container that holds the Flex Consumption deployment package.')
@minLength(3)
@maxLength(63)
param deploymentContainerName string

@description('Names of the monitor\'s tables: history, latest state, incidents (ARCMON_TABLE_PREFIX + History/State/Incidents).')
param tableNames string[]

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: 'Disabled'
    supportsHttpsTrafficOnly: true
    networkAcls: {
      bypass: 'None'
      defaultAction: 'Deny'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

@description('Name of the storage account.')
output name string = account.name

@description('Resource id of the storage account.')
output resourceId string = account.id

@description('Blob service endpoint (https://<account>.blob.<storage suffix>/).')
output blobEndpoint string = account.properties.primaryEndpoints.blob

@description('Queue service endpoint.')
output queueEndpoint string = account.properties.primaryEndpoints.queue

@description('Table service endpoint (ARCMON_TABLE_ENDPOINT).')
output tableEndpoint string = account.properties.primaryEndpoints.table

@description('Name of the deployment container.')
output deploymentContainerName string = deploymentContainer.name

@description('Names of the tables created.')
output tableNames string[] = [for i in range(0, length(tableNames)): tables[i].name]
