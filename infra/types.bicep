metadata description = 'Structured inputs shared by main.bicep and its modules.'

@export()
@description('Where the monitor joins the network: a new VNet for a trial, or the customer\'s existing VNet (the common case).')
type networkConfig = {
  @description('new: create a VNet for a trial. existing: join a VNet and subnets the customer already owns.')
  mode: 'new' | 'existing'

  @description('existing mode: name of the VNet. new mode: ignored (the name comes from the resource token).')
  virtualNetworkName: string?

  @description('existing mode: resource group of the VNet (default: the deployment\'s resource group).')
  virtualNetworkResourceGroupName: string?

  @description('new mode: address space of the VNet, e.g. 10.60.0.0/24.')
  addressPrefix: string?

  @description('Subnet for the function app\'s VNet integration: delegated to Microsoft.App/environments, no private endpoints in it, no underscore in its name (Flex Consumption refuses one).')
  @minLength(1)
  @maxLength(80)
  functionSubnetName: string

  @description('new mode: address prefix of the function subnet, /27 or larger, e.g. 10.60.0.0/26.')
  functionSubnetPrefix: string?

  @description('Subnet that holds the storage private endpoints; separate from the function subnet.')
  @minLength(1)
  @maxLength(80)
  privateEndpointSubnetName: string

  @description('new mode: address prefix of the private-endpoint subnet, e.g. 10.60.0.64/27.')
  privateEndpointSubnetPrefix: string?
}

@export()
@description('Existing private DNS zones (resource ids), usually central privatelink zones in a hub. A zone left out is created in this resource group and linked to the VNet.')
type privateDnsZoneIds = {
  @description('Resource id of the privatelink.blob zone.')
  blob: string?

  @description('Resource id of the privatelink.table zone.')
  table: string?

  @description('Resource id of the privatelink.queue zone.')
  queue: string?
}

@export()
@description('One person or mailbox that receives alert emails.')
type emailReceiver = {
  @description('Display name of the receiver within the action group (unique within it).')
  @minLength(1)
  @maxLength(128)
  name: string

  @description('Email address that receives the alerts.')
  @minLength(3)
  emailAddress: string
}

@export()
@description('Thresholds of the monitor; each maps to one ARCMON_* app setting (see lib/config/settings.ts).')
type monitorThresholds = {
  @description('ARCMON_OPEN_AFTER: consecutive failing cycles that open an incident.')
  @minValue(1)
  @maxValue(100)
  openAfter: int

  @description('ARCMON_RESOLVE_AFTER: consecutive passing cycles that resolve it.')
  @minValue(1)
  @maxValue(100)
  resolveAfter: int

  @description('ARCMON_LATENCY_RATIO: latency regression when total latency exceeds baseline times this ratio (a number as text, e.g. "3" or "2.5").')
  latencyRatio: string

  @description('ARCMON_LATENCY_FLOOR_MS: a latency regression also needs at least this many milliseconds above baseline.')
  @minValue(0)
  @maxValue(600000)
  latencyFloorMs: int

  @description('ARCMON_TIMEOUT_MS: per-probe deadline in milliseconds.')
  @minValue(100)
  @maxValue(120000)
  timeoutMs: int

  @description('ARCMON_CONCURRENCY: probes in flight at once.')
  @minValue(1)
  @maxValue(1024)
  concurrency: int

  @description('ARCMON_SLOW_MS: an answer slower than this is degraded.')
  @minValue(1)
  @maxValue(600000)
  slowMs: int

  @description('ARCMON_CERT_EXPIRY_DAYS: a certificate expiring within this many days is degraded.')
  @minValue(0)
  @maxValue(365)
  certExpiryDays: int

  @description('ARCMON_CLOCK_SKEW_MS: clock offset against NTP beyond which the site is degraded.')
  @minValue(1)
  @maxValue(3600000)
  clockSkewMs: int

  @description('ARCMON_RETENTION_DAYS: history older than this is deleted by the daily retention function.')
  @minValue(1)
  @maxValue(3650)
  retentionDays: int
}
