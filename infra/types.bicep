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

  @description('existing mode: subscription of the VNet (default: the deployment\'s subscription; the same tenant). The deploying identity needs Microsoft.Network/virtualNetworks/subnets/join/action on both subnets.')
  virtualNetworkSubscriptionId: string?

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
@description('Resource ids of the three privatelink zones for the monitor\'s storage (blob, table, queue); they may live in another resource group or subscription, e.g. central zones in a hub.')
type privateDnsZoneIds = {
  @description('Resource id of the privatelink.blob.<storage suffix> zone.')
  blob: string

  @description('Resource id of the privatelink.table.<storage suffix> zone.')
  table: string

  @description('Resource id of the privatelink.queue.<storage suffix> zone.')
  queue: string
}

@description('Create the three privatelink zones in this resource group and link them to the VNet (a trial, or a VNet with no central DNS).')
type privateDnsCreate = {
  @description('create: new zones in this resource group, linked to the VNet.')
  mode: 'create'
}

@description('Use zones that already exist, usually central zones in a hub (another resource group or subscription is fine); the private endpoints register their records there.')
type privateDnsExisting = {
  @description('existing: the zones named in zoneIds.')
  mode: 'existing'

  @description('The three zones\' resource ids.')
  zoneIds: privateDnsZoneIds
}

@description('Create no zones and no zone groups: DNS for private endpoints is managed elsewhere (e.g. an Azure Policy that adds zone groups, or on-premises DNS).')
type privateDnsNone = {
  @description('none: no zones, no zone groups.')
  mode: 'none'
}

@export()
@discriminator('mode')
@description('How the storage private endpoints get their DNS records: create zones here, use existing zones, or leave DNS to the customer.')
type privateDnsConfig = privateDnsCreate | privateDnsExisting | privateDnsNone

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

@export()
@description('Azure Arc rules to add to an existing Azure Firewall policy (the hub firewall in front of the Arc machines).')
type firewallRulesConfig = {
  @description('Resource id of the existing firewall policy; it may be in another resource group or subscription.')
  firewallPolicyResourceId: string

  @description('Priority of the rule collection group within the policy (100-65000).')
  @minValue(100)
  @maxValue(65000)
  priority: int?

  @description('Rule collections from arcmon allowlist --format azure-firewall-json (in a parameter file: loadJsonContent(\'arc-rules.json\')).')
  @minLength(1)
  ruleCollections: object[]
}
