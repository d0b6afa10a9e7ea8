metadata description = 'The user-assigned managed identity the monitor runs as: host storage, the monitor\'s tables, deployment blobs and Application Insights ingestion.'

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region of the identity.')
param location string

@description('Tags applied to the identity.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

@description('Name of the identity.')
output name string = identity.name

@description('Resource id of the identity.')
output resourceId string = identity.id

@description('Client id of the identity (AZURE_CLIENT_ID, AzureWebJobsStorage__clientId).')
output clientId string = identity.properties.clientId

@description('Object (principal) id of the identity, for role assignments.')
output principalId string = identity.properties.principalId
