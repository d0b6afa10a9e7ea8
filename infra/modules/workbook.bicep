metadata description = 'A shared workbook for trends over the monitor\'s telemetry: availability per endpoint and site, per-phase latency percentiles, failures by code and phase, the incidents timeline. Layout from workbook/trends.workbook.json, queries from queries/workbook-*.kql.'

@description('Display name of the workbook in the portal.')
param displayName string

@description('Seed for the workbook\'s name (a GUID derived from it, so a redeployment updates the same workbook).')
param nameSeed string

@description('Azure region of the workbook.')
param location string

@description('Tags applied to the workbook.')
param tags object

@description('Name of the Application Insights component the workbook queries.')
param appInsightsName string

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// The layout is a workbook file of its own (importable in the portal); each query item holds a placeholder
// "{query:NAME}" that is replaced by the JSON-encoded text of queries/workbook-NAME.kql.
var layout = loadTextContent('../workbook/trends.workbook.json')

var queries = {
  sites: loadTextContent('../queries/workbook-sites.kql')
  'availability-trend': loadTextContent('../queries/workbook-availability-trend.kql')
  'availability-table': loadTextContent('../queries/workbook-availability-table.kql')
  'latency-percentiles': loadTextContent('../queries/workbook-latency-percentiles.kql')
  'latency-trend': loadTextContent('../queries/workbook-latency-trend.kql')
  'failures-by-code': loadTextContent('../queries/workbook-failures-by-code.kql')
  'failures-by-phase': loadTextContent('../queries/workbook-failures-by-phase.kql')
  'incidents-timeline': loadTextContent('../queries/workbook-incidents-timeline.kql')
  'monitor-cycles': loadTextContent('../queries/workbook-monitor-cycles.kql')
}

// string([text]) is the JSON array '["<escaped text>"]'; dropping the brackets leaves a JSON string literal.
var withQueries = reduce(items(queries), layout, (done, query) => replace(done, '"{query:${query.key}}"', take(skip(string([query.value]), 1), length(string([query.value])) - 2)))

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, nameSeed, 'arcmon-trends')
  location: location
  tags: union(tags, { 'hidden-title': displayName })
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: appInsights.id
    version: 'Notebook/1.0'
    serializedData: replace(withQueries, '{fallbackResourceId}', appInsights.id)
  }
}

@description('Name (GUID) of the workbook.')
output name string = workbook.name

@description('Resource id of the workbook.')
output resourceId string = workbook.id
