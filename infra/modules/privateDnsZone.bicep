metadata description = 'One privatelink DNS zone for a storage service, created here and linked to the monitor\'s VNet (privateDns mode create).'

@description('Zone name, privatelink.<service>.<storage suffix> (built from environment().suffixes.storage by the caller).')
param zoneName string

@description('Resource id of the VNet to link a created zone to.')
param virtualNetworkId string

@description('Tags applied to a created zone and its link.')
param tags object

resource zone 'Microsoft.Network/privateDnsZones@2024-06-01' = {
  name: zoneName
  location: 'global'
  tags: tags
}

resource link 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = {
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

@description('Resource id of the zone.')
output resourceId string = zone.id

@description('Resource id of the zone\'s link to the VNet.')
output linkResourceId string = link.id
