metadata description = 'Least-privilege role assignments for the monitor\'s identity: data roles on its storage account, Monitoring Metrics Publisher on Application Insights. Names come from guid() so a redeployment finds the same assignment.'

@description('Principal (object) id of the user-assigned identity.')
param principalId string

@description('Name of the storage account (host storage, deployment container, monitor tables).')
param storageAccountName string

@description('Name of the Application Insights component the monitor ingests into.')
param appInsightsName string

// Built-in role definition ids (the same in every Azure cloud).
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

// Blob Data Owner: the host's locks, keys and the deployment package; Table: the monitor's history, state and
// incidents; Queue: the host's internal queues.
var storageRoles = [
  storageBlobDataOwner
  storageTableDataContributor
  storageQueueDataContributor
]

resource storageAccount 'Microsoft.Storage/storageAccounts@2026-09-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource storageRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in storageRoles: {
    name: guid(storageAccount.id, principalId, roleId)
    scope: storageAccount
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    }
  }
]

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, principalId, monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
  }
}

@description('Name of the Storage Blob Data Owner assignment (the one deployment needs first).')
output name string = storageRoleAssignments[0].name

@description('Resource id of the Storage Blob Data Owner assignment.')
output resourceId string = storageRoleAssignments[0].id

@description('Resource ids of the storage data-role assignments (blob, table, queue).')
output storageAssignmentIds string[] = [for i in range(0, length(storageRoles)): storageRoleAssignments[i].id]

@description('Resource id of the Monitoring Metrics Publisher assignment on Application Insights.')
output metricsPublisherAssignmentId string = metricsPublisher.id
