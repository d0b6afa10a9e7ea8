metadata description = 'The Azure Arc allowlist as a rule collection group of an existing Azure Firewall policy. The rule collections come from `arcmon allowlist --format azure-firewall-json`, so the firewall allows exactly what the monitor checks.'

@description('Name of the existing firewall policy (in the resource group this module is deployed to).')
param firewallPolicyName string

@description('Name of the rule collection group.')
@minLength(1)
@maxLength(80)
param ruleCollectionGroupName string

@description('Priority of the rule collection group within the policy (100-65000).')
@minValue(100)
@maxValue(65000)
param priority int

@description('Rule collections (FirewallPolicyFilterRuleCollection objects), as arcmon allowlist --format azure-firewall-json writes them.')
@minLength(1)
param ruleCollections object[]

resource policy 'Microsoft.Network/firewallPolicies@2025-03-01' existing = {
  name: firewallPolicyName
}

resource group 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2025-03-01' = {
  parent: policy
  name: ruleCollectionGroupName
  properties: {
    priority: priority
    ruleCollections: ruleCollections
  }
}

@description('Name of the rule collection group.')
output name string = group.name

@description('Resource id of the rule collection group.')
output resourceId string = group.id
