metadata description = 'Log Analytics workspace and workspace-based Application Insights; local (key) authentication off, so only Entra ID identities may ingest.'

@description('Name of the Log Analytics workspace.')
param workspaceName string

@description('Name of the Application Insights component.')
param appInsightsName string

@description('Azure region of both resources.')
param location string

@description('Tags applied to both resources.')
param tags object

@description('Days the workspace keeps data (trends in the workbook reach back this far).')
@minValue(30)
@maxValue(730)
param retentionInDays int

resource workspace 'Microsoft.OperationalInsights/workspaces@2026-03-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      disableLocalAuth: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
    // The monitor reports from inside networks that may block Azure endpoints; ingestion stays reachable
    // over the public ingestion endpoint unless the customer adds an Azure Monitor Private Link Scope.
    publicNetworkAccessForIngestion: 'Enabled'
    publicNetworkAccessForQuery: 'Enabled'
  }
}

@description('Name of the Application Insights component.')
output name string = appInsights.name

@description('Resource id of the Application Insights component.')
output resourceId string = appInsights.id

@description('Name of the Log Analytics workspace.')
output workspaceName string = workspace.name

@description('Resource id of the Log Analytics workspace.')
output workspaceResourceId string = workspace.id
