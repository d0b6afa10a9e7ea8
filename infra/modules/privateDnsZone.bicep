metadata description = 'One privatelink DNS zone for a storage service: the customer\'s existing zone (usually central, in a hub), or a new zone linked to the monitor\'s VNet.'

@description('Zone name, privatelink.<service>.<storage suffix> (built from environment().suffixes.storage by the caller).')
param zoneName string

@description('Resource id of an existing zone to use; empty to create the zone here.')
param existingZoneId string

@description('Resource id of the VNet to link a created zone to.')
param virtualNetworkId string

@description('Tags applied to a created zone and its link.')
param tags object

var create = empty(existingZoneId)

resource zone 'Microsoft.Network/privateDnsZones@2024-06-01' = if (create) {
  name: zoneName
  location: 'global'
  tags: tags
}

resource link 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = if (create) {
  parent: zone
  name: 'link-${uniqueString(virtualNetworkId)}'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: virtualNetworkId
    }
  }
}

@description('Name of the zone.')
output name string = zoneName

@description('Resource id of the zone (created or passed in).')
output resourceId string = create ? zone.id : existingZoneId

@description('Resource id of the VNet link, empty when the zone was passed in.')
output linkResourceId string = create ? link.id : ''
