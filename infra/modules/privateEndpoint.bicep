metadata description = 'A private endpoint for one storage sub-resource (blob, table or queue) with its private DNS zone group.'

@description('Name of the private endpoint.')
param name string

@description('Azure region of the private endpoint (the VNet\'s region).')
param location string

@description('Tags applied to the private endpoint.')
param tags object

@description('Resource id of the private-endpoint subnet (never the function subnet).')
param subnetId string

@description('Name of the storage account the endpoint connects to.')
param storageAccountName string

@description('Storage sub-resource the endpoint serves.')
@allowed([
  'blob'
  'table'
  'queue'
])
param groupId string

@description('Resource id of the privatelink DNS zone for this sub-resource; empty for no zone group (DNS managed elsewhere).')
param privateDnsZoneId string

resource storageAccount 'Microsoft.Storage/storageAccounts@2026-09-01' existing = {
  name: storageAccountName
}

resource privateEndpoint 'Microsoft.Network/privateEndpoints@2026-03-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: name
        properties: {
          privateLinkServiceId: storageAccount.id
          groupIds: [
            groupId
          ]
        }
      }
    ]
  }
}

resource zoneGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2026-03-01' = if (!empty(privateDnsZoneId)) {
  parent: privateEndpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: groupId
        properties: {
          privateDnsZoneId: privateDnsZoneId
        }
      }
    ]
  }
}

@description('Name of the private endpoint.')
output name string = privateEndpoint.name

@description('Resource id of the private endpoint.')
output resourceId string = privateEndpoint.id

@description('Resource id of its private DNS zone group, empty when DNS is managed elsewhere.')
output zoneGroupResourceId string = zoneGroup.?id ?? ''
