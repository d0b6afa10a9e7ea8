/**
 * Columns of the Application Insights tables the alert rules and the workbook query, by their classic names (the
 * names a query scoped to the Application Insights component uses, which is how the rules and the workbook run).
 *
 * Source: Microsoft Learn, "Migrate to workspace-based Application Insights resources", section "Table schemas"
 * (the classic name and type of every column next to its workspace-based AppAvailabilityResults / AppEvents /
 * AppMetrics counterpart):
 * https://learn.microsoft.com/azure/azure-monitor/app/convert-classic-resource#table-schemas
 * (MicrosoftDocs/azure-monitor-docs, articles/azure-monitor/app/convert-classic-resource.md).
 * That page lists neither `customMeasurements` nor `itemCount` for customMetrics, so neither is listed here.
 */

/** KQL scalar types used by the classic Application Insights schema. */
export type KqlColumnType = 'string' | 'datetime' | 'real' | 'int' | 'dynamic';

/** Column name -> type, in the order the documentation lists them. */
export type TableColumns = Readonly<Record<string, KqlColumnType>>;

/** Columns every classic telemetry table has (identity of the app, client, cloud role, operation, session, user). */
const COMMON: TableColumns = {
  timestamp: 'datetime',
  name: 'string',
  itemType: 'string',
  itemId: 'string',
  customDimensions: 'dynamic',
  appId: 'string',
  appName: 'string',
  iKey: 'string',
  sdkVersion: 'string',
  application_Version: 'string',
  client_Type: 'string',
  client_Model: 'string',
  client_OS: 'string',
  client_IP: 'string',
  client_City: 'string',
  client_StateOrProvince: 'string',
  client_CountryOrRegion: 'string',
  client_Browser: 'string',
  cloud_RoleName: 'string',
  cloud_RoleInstance: 'string',
  operation_Id: 'string',
  operation_ParentId: 'string',
  operation_Name: 'string',
  operation_SyntheticSource: 'string',
  session_Id: 'string',
  user_Id: 'string',
  user_AuthenticatedId: 'string',
  user_AccountId: 'string',
};

/** The three tables the monitor writes to (availability results, events, metrics) and nothing else. */
export const APP_INSIGHTS_TABLES = {
  availabilityResults: {
    ...COMMON,
    id: 'string',
    location: 'string',
    // Classic `success` is a string ("True"/"False"); only the workspace table has it as bool.
    success: 'string',
    message: 'string',
    size: 'real',
    duration: 'real',
    performanceBucket: 'string',
    customMeasurements: 'dynamic',
    itemCount: 'int',
  },
  customEvents: {
    ...COMMON,
    customMeasurements: 'dynamic',
    itemCount: 'int',
  },
  customMetrics: {
    ...COMMON,
    value: 'real',
    valueCount: 'int',
    valueSum: 'real',
    valueMin: 'real',
    valueMax: 'real',
    valueStdDev: 'real',
  },
} as const satisfies Record<string, TableColumns>;

export type AppInsightsTable = keyof typeof APP_INSIGHTS_TABLES;
