/**
 * The real Bicep compiler for the infra tests: `infra/bicep.sh --print-path` restores the pinned
 * Azure.Bicep.CommandLine package (or fails, and so does every test that needs it: there is no fallback), and
 * `bicep snapshot` evaluates a parameter file against infra/main.bicep offline, giving every resource the
 * deployment would create with its properties. What the snapshot cannot know (a resource's runtime properties,
 * the cloud's metadata, secure parameters) is evaluated by test/infra/armExpressions.ts with values the test gives.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ArmEvaluator, type ArmValue } from './armExpressions';
import { INFRA_DIR, REPO_DIR } from './infraSource';

let compiler: string | undefined;

/** Path of the pinned Bicep compiler (restored on first use). */
export function bicepCompiler(): string {
  compiler ??= execFileSync('bash', [join(INFRA_DIR, 'bicep.sh'), '--print-path'], {
    cwd: REPO_DIR,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
  return compiler;
}

/** Runs the compiler; returns its exit code and everything it printed. */
export function runBicep(args: string[], cwd = INFRA_DIR): { code: number; output: string } {
  try {
    const out = execFileSync(bicepCompiler(), args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: 0, output: out };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    return { code: e.status ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** The deployment's scope, as `az deployment group create` would give it. */
export interface DeploymentScope {
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  tenantId: string;
}

export const TEST_SCOPE: DeploymentScope = {
  subscriptionId: '00000000-0000-0000-0000-0000000000a1',
  resourceGroup: 'rg-arcmon',
  location: 'westeurope',
  tenantId: '00000000-0000-0000-0000-0000000000b2',
};

export interface PredictedResource {
  type: string;
  name: string;
  id: string;
  apiVersion: string;
  properties?: unknown;
  [key: string]: unknown;
}

export interface Snapshot {
  predictedResources: PredictedResource[];
  diagnostics: unknown[];
  outputs: Record<string, unknown>;
}

/**
 * `bicep snapshot` of a parameter file's text. `using` must name main.bicep as `'main.bicep'`; the file is written
 * to a temporary folder and pointed at infra/main.bicep from there.
 */
export function snapshot(bicepparam: string, scope: DeploymentScope = TEST_SCOPE): Snapshot {
  const dir = mkdtempSync(join(tmpdir(), 'arcmon-snapshot-'));
  try {
    const mainPath = relative(dir, join(INFRA_DIR, 'main.bicep'));
    const text = bicepparam.replace(/^using\s+'main\.bicep'/m, `using '${mainPath}'`);
    if (text === bicepparam) throw new Error("the parameter file must start with using 'main.bicep'");
    writeFileSync(join(dir, 'deployment.bicepparam'), text);
    const run = runBicep(
      [
        'snapshot',
        'deployment.bicepparam',
        '--mode',
        'overwrite',
        '--subscription-id',
        scope.subscriptionId,
        '--resource-group',
        scope.resourceGroup,
        '--location',
        scope.location,
        '--tenant-id',
        scope.tenantId,
        '--deployment-name',
        'arcmon',
      ],
      dir,
    );
    if (run.code !== 0) throw new Error(`bicep snapshot failed (exit ${run.code}):\n${run.output}`);
    return JSON.parse(readFileSync(join(dir, 'deployment.snapshot.json'), 'utf8')) as Snapshot;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A Bicep literal for a JSON value (through json(), which parameter files accept). */
export function bicepLiteral(value: unknown): string {
  const json = JSON.stringify(value);
  return `json('${json.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}')`;
}

/**
 * azd's parameter file (infra/main.parameters.json) as azd fills it: `${NAME}` is the environment's value (empty when
 * unset), `${NAME=default}` the default when unset. Returns the parameter values.
 */
export function azdParameters(env: Record<string, string>): Record<string, unknown> {
  const raw = readFileSync(join(INFRA_DIR, 'main.parameters.json'), 'utf8');
  const filled = raw.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:=([^}]*))?\}/g, (_, name: string, dflt?: string) =>
    JSON.stringify(env[name] ?? dflt ?? '').slice(1, -1),
  );
  const doc = JSON.parse(filled) as { parameters: Record<string, { value: unknown }> };
  return Object.fromEntries(Object.entries(doc.parameters).map(([k, v]) => [k, v.value]));
}

/** A .bicepparam text for main.bicep with the given parameter values. */
export function bicepparamOf(values: Record<string, unknown>): string {
  return ["using 'main.bicep'", ...Object.entries(values).map(([k, v]) => `param ${k} = ${bicepLiteral(v)}`), ''].join(
    '\n',
  );
}

export type CloudName = 'AzureCloud' | 'AzureUSGovernment' | 'AzureChinaCloud';

/** What environment() returns in each cloud (the parts the templates read). */
export const CLOUD_ENVIRONMENTS: Record<CloudName, { [key: string]: ArmValue }> = {
  AzureCloud: {
    name: 'AzureCloud',
    suffixes: { storage: 'core.windows.net', acrLoginServer: '.azurecr.io' },
    authentication: { loginEndpoint: 'https://login.microsoftonline.com/' },
    resourceManager: 'https://management.azure.com/',
  },
  AzureUSGovernment: {
    name: 'AzureUSGovernment',
    suffixes: { storage: 'core.usgovcloudapi.net', acrLoginServer: '.azurecr.us' },
    authentication: { loginEndpoint: 'https://login.microsoftonline.us/' },
    resourceManager: 'https://management.usgovcloudapi.net/',
  },
  AzureChinaCloud: {
    name: 'AzureChinaCloud',
    suffixes: { storage: 'core.chinacloudapi.cn', acrLoginServer: '.azurecr.cn' },
    authentication: { loginEndpoint: 'https://login.chinacloudapi.cn/' },
    resourceManager: 'https://management.chinacloudapi.cn/',
  },
};

const INGESTION_SUFFIX: Record<CloudName, string> = {
  AzureCloud: 'applicationinsights.azure.com',
  AzureUSGovernment: 'applicationinsights.us',
  AzureChinaCloud: 'applicationinsights.azure.cn',
};

function fakeGuid(seed: string): string {
  let h = 0;
  for (const c of seed) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  const hex = h.toString(16).padStart(8, '0');
  return `${hex}-0000-4000-8000-${hex}0000`;
}

/**
 * Evaluates a snapshot the way Azure would finish it in `cloud`: runtime properties of the resources it creates
 * come from a small model of what the control plane returns (storage endpoints, identity ids, the Application
 * Insights connection string, the app's host name).
 */
export function evaluator(
  cloud: CloudName,
  parameters: Record<string, ArmValue>,
  location = TEST_SCOPE.location,
  variables: Record<string, unknown> = {},
) {
  const env = CLOUD_ENVIRONMENTS[cloud];
  const suffix = (env.suffixes as { storage: string }).storage;
  return new ArmEvaluator({
    environment: env,
    parameters,
    variables,
    reference(resourceId): { [key: string]: ArmValue } {
      const m = /\/providers\/([^/]+\/[^/]+)\/([^/]+)$/.exec(resourceId);
      const [type, name] = [m?.[1] ?? '', m?.[2] ?? ''];
      switch (type) {
        case 'Microsoft.Storage/storageAccounts':
          return {
            primaryEndpoints: Object.fromEntries(
              ['blob', 'queue', 'table', 'file', 'dfs', 'web'].map((s) => [s, `https://${name}.${s}.${suffix}/`]),
            ),
          };
        case 'Microsoft.ManagedIdentity/userAssignedIdentities':
          return { clientId: fakeGuid(`client-${name}`), principalId: fakeGuid(`principal-${name}`) };
        case 'Microsoft.Insights/components':
          return {
            ConnectionString:
              `InstrumentationKey=${fakeGuid(`ikey-${name}`)};IngestionEndpoint=https://${location}-1.in.` +
              `${INGESTION_SUFFIX[cloud]}/;ApplicationId=${fakeGuid(`app-${name}`)}`,
          };
        case 'Microsoft.Web/sites':
          return { defaultHostName: `${name}.azurewebsites.net` };
        default:
          throw new Error(`the test has no runtime model of ${type} (reference('${resourceId}'))`);
      }
    },
  });
}

/** The app settings the deployment gives the function app, evaluated for `cloud`. */
export function appSettingsOf(
  snap: Snapshot,
  cloud: CloudName,
  parameters: Record<string, ArmValue> = {},
): Record<string, string> {
  const config = snap.predictedResources.find(
    (r) => r.type === 'Microsoft.Web/sites/config' && r.name.endsWith('/appsettings'),
  );
  if (!config) throw new Error('the deployment has no Microsoft.Web/sites/config appsettings resource');
  const value = evaluator(cloud, parameters).resolve(config.properties);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('appsettings is not an object');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new Error(`app setting ${k} is not a string: ${JSON.stringify(v)}`);
    out[k] = v;
  }
  return out;
}

/** Resources of one type in a snapshot. */
export const resourcesOf = (snap: Snapshot, type: string): PredictedResource[] =>
  snap.predictedResources.filter((r) => r.type.toLowerCase() === type.toLowerCase());

/** A template compiled to ARM JSON (`bicep build --stdout`), path relative to infra/. */
export function compiled(path: string): {
  parameters: Record<string, { allowedValues?: unknown[]; defaultValue?: unknown }>;
  variables: Record<string, unknown>;
  resources: Record<string, { type: string; name: unknown; properties?: unknown }> | { type: string; name: unknown }[];
} {
  const run = runBicep(['build', path, '--stdout']);
  if (run.code !== 0) throw new Error(`bicep build ${path} failed:\n${run.output}`);
  return JSON.parse(run.output) as ReturnType<typeof compiled>;
}
