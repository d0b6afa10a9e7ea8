import type { Cloud } from './types';

/**
 * Physical Azure region names per cloud, as `az account list-locations --query "[].name"` prints them (lower case,
 * no spaces). Sources: the region tables of Microsoft's "Azure geographies" pages and the AZ CLI column of
 * claranet/terraform-azurerm-regions (REGIONS.md), late 2026; Government and China from their own clouds' lists.
 * Logical groupings (`europe`, `unitedstates`) and staging regions are left out: Arc resources live in physical
 * regions. A region opened after this list is an addition here (one line); until then the CLI says it is unknown.
 */
export const REGIONS: Record<Cloud, readonly string[]> = {
  AzureCloud: [
    'australiacentral',
    'australiacentral2',
    'australiaeast',
    'australiasoutheast',
    'austriaeast',
    'belgiumcentral',
    'brazilsouth',
    'brazilsoutheast',
    'canadacentral',
    'canadaeast',
    'centralindia',
    'centralus',
    'chilecentral',
    'eastasia',
    'eastus',
    'eastus2',
    'francecentral',
    'francesouth',
    'germanynorth',
    'germanywestcentral',
    'indonesiacentral',
    'israelcentral',
    'italynorth',
    'japaneast',
    'japanwest',
    'jioindiacentral',
    'jioindiawest',
    'koreacentral',
    'koreasouth',
    'malaysiawest',
    'mexicocentral',
    'newzealandnorth',
    'northcentralus',
    'northeurope',
    'norwayeast',
    'norwaywest',
    'polandcentral',
    'qatarcentral',
    'southafricanorth',
    'southafricawest',
    'southcentralus',
    'southeastasia',
    'southindia',
    'spaincentral',
    'swedencentral',
    'swedensouth',
    'switzerlandnorth',
    'switzerlandwest',
    'uaecentral',
    'uaenorth',
    'uksouth',
    'ukwest',
    'westcentralus',
    'westeurope',
    'westindia',
    'westus',
    'westus2',
    'westus3',
  ],
  AzureUSGovernment: ['usdodcentral', 'usdodeast', 'usgovarizona', 'usgoviowa', 'usgovtexas', 'usgovvirginia'],
  AzureChinaCloud: ['chinaeast', 'chinaeast2', 'chinaeast3', 'chinanorth', 'chinanorth2', 'chinanorth3'],
};

/** The cloud a region name belongs to, if any. */
export function cloudOfRegion(region: string): Cloud | undefined {
  return (Object.keys(REGIONS) as Cloud[]).find((c) => REGIONS[c].includes(region));
}
