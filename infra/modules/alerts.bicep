metadata description = 'The action group (email, common alert schema) and the log alert rules over the monitor\'s Application Insights: a required endpoint blocked (per endpoint and site, auto-resolving), regression events, the monitor gone silent (dead-man\'s switch), certificate expiry. Queries live in queries/alert-*.kql.'

import { emailReceiver } from '../types.bicep'

@description('Name of the action group.')
param actionGroupName string

@description('Short name of the action group (shown in emails and SMS, at most 12 characters).')
@minLength(1)
@maxLength(12)
param actionGroupShortName string

@description('People or mailboxes that receive the alert emails (at least one).')
@minLength(1)
param emailReceivers emailReceiver[]

@description('Prefix of the alert rule names (abbreviation plus resource token).')
param ruleNamePrefix string

@description('Azure region of the alert rules (the Application Insights component\'s region).')
param location string

@description('Tags applied to the action group and the rules.')
param tags object

@description('Name of the Application Insights component the rules query.')
param appInsightsName string

@description('Minutes between probe cycles (PROBE_SCHEDULE).')
param probeIntervalMinutes int

@description('Consecutive blocked results at a site before the required-endpoint alert fires (ARCMON_OPEN_AFTER).')
@minValue(1)
@maxValue(100)
param openAfter int

@description('Schedule intervals without any MonitorCycle before the monitor counts as silent.')
@minValue(2)
@maxValue(48)
param silentAfterIntervals int

@description('Whether the site uses Arc private link (endpoints required "unless private endpoints" then do not count).')
param privateLinkMode bool

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'global'
  tags: tags
  properties: {
    groupShortName: actionGroupShortName
    enabled: true
    emailReceivers: [
      for receiver in emailReceivers: {
        name: receiver.name
        emailAddress: receiver.emailAddress
        useCommonAlertSchema: true
      }
    ]
  }
}

var silentMinutes = probeIntervalMinutes * silentAfterIntervals

// The blocked rule reads only each endpoint's latest result (which carries the monitor's own count of blocked
// cycles), so its window needs to hold two schedule intervals, whatever ARCMON_OPEN_AFTER is: the smallest window
// a log alert offers that is at least twice the interval. A monitor that stops reporting lets the alert resolve
// after that window; the dead-man's switch rules cover that case.
var blockedWindow = probeIntervalMinutes * 2 <= 5
  ? 'PT5M'
  : (probeIntervalMinutes * 2 <= 10
      ? 'PT10M'
      : (probeIntervalMinutes * 2 <= 15 ? 'PT15M' : (probeIntervalMinutes * 2 <= 30 ? 'PT30M' : (probeIntervalMinutes * 2 <= 45 ? 'PT45M' : 'PT1H'))))

var requiredBlockedQuery = replace(replace(loadTextContent('../queries/alert-required-endpoint-blocked.kql'), '__OPEN_AFTER__', string(openAfter)), '__PRIVATE_LINK__', privateLinkMode ? 'true' : 'false')
var regressionQuery = loadTextContent('../queries/alert-regression-event.kql')
var silentSiteQuery = replace(loadTextContent('../queries/alert-monitor-silent-site.kql'), '__SILENT_MINUTES__', string(silentMinutes))
var silentAllQuery = replace(loadTextContent('../queries/alert-monitor-silent-all.kql'), '__SILENT_MINUTES__', string(silentMinutes))
var certificateQuery = loadTextContent('../queries/alert-certificate-expiry.kql')

resource requiredEndpointBlocked 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: '${ruleNamePrefix}required-endpoint-blocked'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Arc connectivity: required endpoint blocked'
    description: 'A required Azure Arc endpoint has been blocked at a site for at least ${openAfter} consecutive cycles. One alert per endpoint and site; it resolves by itself when the endpoint answers again.'
    severity: 1
    enabled: true
    scopes: [
      appInsights.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: blockedWindow
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: requiredBlockedQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            {
              name: 'endpoint'
              operator: 'Include'
              values: [
                '*'
              ]
            }
            {
              name: 'site'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource regressionEvent 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: '${ruleNamePrefix}regression-event'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Arc connectivity: regression (interception, private link bypassed, latency)'
    description: 'The monitor reported a regression: TLS interception appeared, a private-link endpoint resolves to a public address, latency regressed against its baseline, or the clock drifted. One email per regression.'
    severity: 2
    enabled: true
    scopes: [
      appInsights.id
    ]
    // Window = frequency: each event falls in exactly one evaluation, so it is mailed once without muting the rule
    // (a mute would also swallow another endpoint's regression in the same minutes).
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    // Events are one-off facts: a stateful rule would send a "resolved" mail five minutes later.
    autoMitigate: false
    criteria: {
      allOf: [
        {
          query: regressionQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            {
              name: 'site'
              operator: 'Include'
              values: [
                '*'
              ]
            }
            {
              name: 'endpoint'
              operator: 'Include'
              values: [
                '*'
              ]
            }
            {
              name: 'incidentKind'
              operator: 'Include'
              values: [
                '*'
              ]
            }
            {
              name: 'incidentId'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource monitorSilentSite 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: '${ruleNamePrefix}monitor-silent-site'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Arc connectivity: monitor silent at a site'
    description: 'A site that reported in the last two days has sent no MonitorCycle for ${silentMinutes} minutes (${silentAfterIntervals} schedule intervals). The monitor is down or cannot reach Application Insights: its silence says nothing about the network.'
    severity: 1
    enabled: true
    scopes: [
      appInsights.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    overrideQueryTimeRange: 'P2D'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: silentSiteQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            {
              name: 'site'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource monitorSilentAll 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: '${ruleNamePrefix}monitor-silent'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Arc connectivity: monitor silent everywhere'
    description: 'No site has sent a MonitorCycle for ${silentMinutes} minutes. Fires for as long as the silence lasts.'
    severity: 1
    enabled: true
    scopes: [
      appInsights.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    overrideQueryTimeRange: 'P2D'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: silentAllQuery
          timeAggregation: 'Count'
          operator: 'LessThan'
          threshold: 1
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource certificateExpiry 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: '${ruleNamePrefix}certificate-expiry'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Arc connectivity: certificate expiring or expired'
    description: 'The latest result of an endpoint at a site reports a certificate that expires soon (ARCMON_CERT_EXPIRY_DAYS) or has expired. Under TLS inspection this is usually the inspecting CA\'s certificate.'
    severity: 2
    enabled: true
    scopes: [
      appInsights.id
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT6H'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: certificateQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            {
              name: 'endpoint'
              operator: 'Include'
              values: [
                '*'
              ]
            }
            {
              name: 'site'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

@description('Name of the action group.')
output name string = actionGroup.name

@description('Resource id of the action group.')
output resourceId string = actionGroup.id

@description('Resource ids of the alert rules.')
output ruleIds string[] = [
  requiredEndpointBlocked.id
  regressionEvent.id
  monitorSilentSite.id
  monitorSilentAll.id
  certificateExpiry.id
]
