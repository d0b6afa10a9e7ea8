#!/bin/sh
# azd preprovision hook (azure.yaml): what must hold before infra/main.bicep is deployed.
#  1. Someone receives the alerts: ARCMON_ALERT_EMAIL is set in the azd environment.
#  2. The subscription has the Microsoft.App resource provider registered: Flex Consumption's VNet integration uses a
#     subnet delegated to Microsoft.App/environments, and the delegation fails on a subscription that never
#     registered it.
# azd passes the environment's values (AZURE_SUBSCRIPTION_ID, ARCMON_*) as environment variables.
set -eu

if [ -z "${ARCMON_ALERT_EMAIL:-}" ]; then
  echo "preprovision: ARCMON_ALERT_EMAIL is not set, so no one would receive the monitor's alerts." >&2
  echo "preprovision: set it first: azd env set ARCMON_ALERT_EMAIL ops@contoso.com" >&2
  exit 1
fi

if ! command -v az >/dev/null 2>&1; then
  echo "preprovision: the Azure CLI (az) is not installed, so the Microsoft.App resource provider cannot be registered here." >&2
  echo "preprovision: register it once per subscription (portal: Subscription > Resource providers > Microsoft.App > Register," >&2
  echo "preprovision: or az provider register --namespace Microsoft.App), then run azd again with ARCMON_SKIP_PROVIDER_REGISTRATION=true." >&2
  [ "${ARCMON_SKIP_PROVIDER_REGISTRATION:-}" = "true" ] && exit 0
  exit 1
fi

subscription="${AZURE_SUBSCRIPTION_ID:?azd sets AZURE_SUBSCRIPTION_ID}"
state="$(az provider show --namespace Microsoft.App --subscription "$subscription" --query registrationState --output tsv 2>/dev/null || true)"
if [ "$state" = "Registered" ]; then
  echo "preprovision: Microsoft.App is registered in subscription $subscription"
  exit 0
fi
echo "preprovision: registering the Microsoft.App resource provider in subscription $subscription (state: ${state:-unknown})"
az provider register --namespace Microsoft.App --subscription "$subscription" --wait
echo "preprovision: Microsoft.App is registered"
