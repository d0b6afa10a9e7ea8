# azd preprovision hook on Windows (azure.yaml); the same checks as preprovision.sh.
$ErrorActionPreference = 'Stop'

if (-not $env:ARCMON_ALERT_EMAIL) {
  Write-Error "preprovision: ARCMON_ALERT_EMAIL is not set, so no one would receive the monitor's alerts. Set it first: azd env set ARCMON_ALERT_EMAIL ops@contoso.com"
  exit 1
}

if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
  if ($env:ARCMON_SKIP_PROVIDER_REGISTRATION -eq 'true') { exit 0 }
  Write-Error "preprovision: the Azure CLI (az) is not installed, so the Microsoft.App resource provider cannot be registered here. Register it once per subscription (portal: Subscription > Resource providers > Microsoft.App > Register), then run azd again with ARCMON_SKIP_PROVIDER_REGISTRATION=true."
  exit 1
}

$subscription = $env:AZURE_SUBSCRIPTION_ID
if (-not $subscription) { Write-Error 'preprovision: azd sets AZURE_SUBSCRIPTION_ID'; exit 1 }
$state = az provider show --namespace Microsoft.App --subscription $subscription --query registrationState --output tsv 2>$null
if ($state -eq 'Registered') {
  Write-Output "preprovision: Microsoft.App is registered in subscription $subscription"
  exit 0
}
Write-Output "preprovision: registering the Microsoft.App resource provider in subscription $subscription"
az provider register --namespace Microsoft.App --subscription $subscription --wait
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
Write-Output 'preprovision: Microsoft.App is registered'
