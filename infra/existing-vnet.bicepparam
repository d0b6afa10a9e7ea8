// Example for the common case: join a VNet the customer already owns (hub-and-spoke, central DNS zones).
// az deployment group create -g rg-arcmon -f infra/main.bicep -p infra/existing-vnet.bicepparam
using 'main.bicep'

param environmentName = 'arcmon-prod'
param arcRegion = 'westeurope'
param siteName = 'spoke-westeurope'
param scenarios = [
  'servers'
  'extensions'
]
param probeIntervalMinutes = 5
param network = {
  mode: 'existing'
  virtualNetworkName: 'vnet-spoke-weu'
  virtualNetworkResourceGroupName: 'rg-network-weu'
  functionSubnetName: 'snet-arcmon-func'
  privateEndpointSubnetName: 'snet-arcmon-pe'
}
// The hub's own zones, in the connectivity subscription: resource ids the customer owns, whose names carry its
// cloud's storage suffix. The private endpoints register their records there; no zone is created in the spoke.
#disable-next-line no-hardcoded-env-urls
param privateDns = { mode: 'existing', zoneIds: { blob: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-hub-dns/providers/Microsoft.Network/privateDnsZones/privatelink.blob.core.windows.net', table: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-hub-dns/providers/Microsoft.Network/privateDnsZones/privatelink.table.core.windows.net', queue: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-hub-dns/providers/Microsoft.Network/privateDnsZones/privatelink.queue.core.windows.net' } }
param alertEmailReceivers = [
  {
    name: 'network-operations'
    emailAddress: 'netops@contoso.com'
  }
]
