metadata description = 'The network the monitor joins: an existing VNet and subnets named by parameters (the common case), or a new VNet for trials. The function subnet is delegated to Microsoft.App/environments; private endpoints live in a separate subnet.'

import { networkConfig } from '../types.bicep'

@description('Network mode and subnet names (and prefixes for a new VNet).')
param config networkConfig

@description('Name of the VNet created in new mode (ignored in existing mode).')
param newVirtualNetworkName string

@description('Azure region of a new VNet; the function app and private endpoints must be in the VNet\'s region.')
param location string

@description('Tags applied to a new VNet.')
param tags object

var isNew = config.mode == 'new'
var virtualNetworkName = isNew ? newVirtualNetworkName : (config.?virtualNetworkName ?? '')
var virtualNetworkResourceGroupName = isNew ? resourceGroup().name : (config.?virtualNetworkResourceGroupName ?? resourceGroup().name)

resource virtualNetwork 'Microsoft.Network/virtualNetworks@2026-03-01' = if (isNew) {
  name: newVirtualNetworkName
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        config.?addressPrefix ?? '10.60.0.0/24'
      ]
    }
    subnets: [
      {
        name: config.functionSubnetName
        properties: {
          addressPrefix: config.?functionSubnetPrefix ?? '10.60.0.0/26'
          delegations: [
            {
              name: 'Microsoft.App.environments'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
          // A trial VNet has no firewall or NAT of its own: the monitor reaches Arc's endpoints and
          // Application Insights through the platform's default outbound access. A customer VNet brings its own egress.
          defaultOutboundAccess: true
        }
      }
      {
        name: config.privateEndpointSubnetName
        properties: {
          addressPrefix: config.?privateEndpointSubnetPrefix ?? '10.60.0.64/27'
          privateEndpointNetworkPolicies: 'Disabled'
          defaultOutboundAccess: false
        }
      }
    ]
  }
}

var virtualNetworkSubscriptionId = isNew ? subscription().subscriptionId : (config.?virtualNetworkSubscriptionId ?? subscription().subscriptionId)
var virtualNetworkId = isNew ? virtualNetwork.id : resourceId(virtualNetworkSubscriptionId, virtualNetworkResourceGroupName, 'Microsoft.Network/virtualNetworks', virtualNetworkName)

@description('Name of the VNet the monitor joins.')
output name string = virtualNetworkName

@description('Resource id of the VNet the monitor joins.')
output resourceId string = virtualNetworkId

@description('Resource id of the function app\'s integration subnet.')
output functionSubnetId string = '${virtualNetworkId}/subnets/${config.functionSubnetName}'

@description('Resource id of the private-endpoint subnet.')
output privateEndpointSubnetId string = '${virtualNetworkId}/subnets/${config.privateEndpointSubnetName}'
