import { z } from 'zod';
import { CLOUDS, SCENARIOS } from '../catalog/types';
import { parseCidr } from '../probes/addresses';
import { parseDnsServer } from '../probes/dns';
import { parseProxyUrl } from '../probes/proxy';
import { faultText, readPemCertificates } from './pem';

/**
 * The monitor's app settings: one schema, parsed once at the edge (Functions handler, local runner).
 * Every ARCMON_* variable must be known here: a typo is an error, not a silently ignored setting.
 * Infra (infra/modules/functionApp.bicep) sets exactly these; a test compares the two.
 */

/** The non-empty, trimmed items of a comma-separated setting. */
const commaList = (v: string): string[] =>
  v
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

const intIn = (name: string, min: number, max: number, dflt: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, { message: `${name} must be a whole number between ${min} and ${max}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, { message: `${name} must be at least ${min}` })
        .max(max, { message: `${name} must be at most ${max}` }),
    )
    .prefault(String(dflt));

const numIn = (name: string, min: number, max: number, dflt: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, { message: `${name} must be a number between ${min} and ${max}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, { message: `${name} must be at least ${min}` })
        .max(max, { message: `${name} must be at most ${max}` }),
    )
    .prefault(String(dflt));

const bool = (name: string) =>
  z
    .enum(['true', 'false', '1', '0'], { message: `${name} must be true or false` })
    .transform((v) => v === 'true' || v === '1')
    .prefault('false');

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

/**
 * PEM text of certificates, re-wrapped canonically (see readPemCertificates). The value is the certificates
 * themselves, never a file: a Flex Consumption app has no file share to hold one.
 */
const rootCertificatesPem = (name: string) =>
  optionalText.transform((v, ctx) => {
    if (v === undefined) return undefined;
    const read = readPemCertificates(v);
    if (read.ok) return read.pem;
    if (read.problem === 'no-certificate') {
      ctx.addIssue({
        code: 'custom',
        message: `${name} must hold the PEM text of the root certificates, not a file path; set it to the contents of the PEM file (one or more -----BEGIN CERTIFICATE----- blocks), or give arcmon run the file with --expected-roots FILE`,
      });
    } else {
      for (const { index, fault } of read.faults) {
        ctx.addIssue({
          code: 'custom',
          message: `${name}: certificate ${index} of ${read.count} cannot be parsed (${faultText(fault)}); give each certificate whole, from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----`,
        });
      }
    }
    return z.NEVER;
  });

/** NCRONTAB with six fields (seconds first), or an Azure Functions TimeSpan like 00:05:00. */
const NCRONTAB = /^(\S+\s+){5}\S+$/;

export /** A proxy URL checked as the probes will read it (http:// only, a host, well-formed % escapes in the user info). */
function proxyUrl(name: string) {
  return optionalText.superRefine((v, ctx) => {
    if (v === undefined) return;
    try {
      parseProxyUrl(v, [], name);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
    }
  });
}

const SETTINGS_SHAPE = {
  ARCMON_CLOUD: z.enum(CLOUDS, { message: `ARCMON_CLOUD must be one of ${CLOUDS.join(', ')}` }).default('AzureCloud'),
  ARCMON_REGION: z
    .string({ message: 'ARCMON_REGION is required: set it to the Azure region of your Arc resources, e.g. eastus' })
    .trim()
    .regex(/^[a-z0-9]+$/, {
      message: 'ARCMON_REGION must be a region name such as eastus or westeurope (lower case, no spaces)',
    }),
  ARCMON_SITE: z
    .string({ message: 'ARCMON_SITE is required: name the network this monitor watches from, e.g. hub-westeurope' })
    .trim()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, {
      message: 'ARCMON_SITE must be 1-63 letters, digits, dot, dash or underscore, starting with a letter or digit',
    }),
  ARCMON_SCENARIOS: z
    .string()
    .trim()
    .default('servers')
    .transform((v, ctx) => {
      const parts = commaList(v);
      const allowed = [...SCENARIOS, 'all'] as string[];
      for (const p of parts) {
        if (!allowed.includes(p)) {
          ctx.addIssue({
            code: 'custom',
            message: `ARCMON_SCENARIOS: unknown scenario "${p}"; use a comma list of ${allowed.join(', ')}`,
          });
        }
      }
      return parts;
    }),
  /** The user endpoint configuration (same JSON as `arcmon check --endpoints FILE`), inline. */
  ARCMON_ENDPOINTS_JSON: optionalText,
  PROBE_SCHEDULE: z
    .string()
    .trim()
    .regex(NCRONTAB, { message: 'PROBE_SCHEDULE must be a six-field NCRONTAB expression such as "0 */5 * * * *"' })
    .default('0 */5 * * * *'),
  ARCMON_RETENTION_DAYS: intIn('ARCMON_RETENTION_DAYS', 1, 3650, 30),
  ARCMON_OPEN_AFTER: intIn('ARCMON_OPEN_AFTER', 1, 100, 2),
  ARCMON_RESOLVE_AFTER: intIn('ARCMON_RESOLVE_AFTER', 1, 100, 2),
  ARCMON_LATENCY_RATIO: numIn('ARCMON_LATENCY_RATIO', 1, 100, 3),
  ARCMON_LATENCY_FLOOR_MS: intIn('ARCMON_LATENCY_FLOOR_MS', 0, 600_000, 250),
  ARCMON_TIMEOUT_MS: intIn('ARCMON_TIMEOUT_MS', 100, 120_000, 10_000),
  ARCMON_CONCURRENCY: intIn('ARCMON_CONCURRENCY', 1, 1024, 32),
  ARCMON_SLOW_MS: intIn('ARCMON_SLOW_MS', 1, 600_000, 3000),
  ARCMON_CERT_EXPIRY_DAYS: intIn('ARCMON_CERT_EXPIRY_DAYS', 0, 365, 14),
  ARCMON_CLOCK_SKEW_MS: intIn('ARCMON_CLOCK_SKEW_MS', 1, 3_600_000, 1000),
  ARCMON_PRIVATE_LINK: bool('ARCMON_PRIVATE_LINK'),
  /**
   * Comma list of CIDR ranges that also count as private endpoint addresses under private-link mode, beyond
   * RFC 1918 and fc00::/7 (VNets on other space, e.g. 100.64.0.0/10). Default none.
   */
  ARCMON_PRIVATE_RANGES: z
    .string()
    .default('')
    .transform((v, ctx) => {
      const ranges = commaList(v);
      for (const range of ranges) {
        try {
          parseCidr(range);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: `ARCMON_PRIVATE_RANGES: ${(err as Error).message}` });
        }
      }
      return ranges;
    }),
  ARCMON_DNS_SERVER: optionalText.superRefine((v, ctx) => {
    if (v === undefined) return;
    try {
      parseDnsServer(v);
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: `ARCMON_DNS_SERVER "${v}" is not an IP address with an optional port; use e.g. 10.0.0.4, 10.0.0.4:53 or [fd00::4]:53`,
      });
    }
  }),
  ARCMON_PROXY: proxyUrl('ARCMON_PROXY'),
  /** PEM text (not a path) of root certificates that count as genuine besides Azure's. Default none. */
  ARCMON_EXPECTED_ROOTS_PEM: rootCertificatesPem('ARCMON_EXPECTED_ROOTS_PEM'),
  /** https://<account>.table.core.windows.net (or the cloud's equivalent). Managed identity is used. */
  ARCMON_TABLE_ENDPOINT: optionalText.pipe(
    z
      .url({ message: 'ARCMON_TABLE_ENDPOINT must be a URL such as https://myaccount.table.core.windows.net' })
      .optional(),
  ),
  /** For Azurite or on-premises sites only; never set in Azure (shared keys are disabled there). */
  ARCMON_STORAGE_CONNECTION_STRING: optionalText,
  ARCMON_TABLE_PREFIX: z
    .string()
    .trim()
    .regex(/^[A-Za-z][A-Za-z0-9]{0,30}$/, {
      message: 'ARCMON_TABLE_PREFIX must be 1-31 letters or digits, starting with a letter',
    })
    .default('arcmon'),
  /**
   * How telemetry authenticates to Application Insights: `entra` (a Microsoft Entra ID token, see credentialFor in
   * lib/monitor/deps.ts) or `key` (the connection string's instrumentation key alone, for a resource that still
   * accepts local authentication). Default `entra`: the deployed resource refuses keys.
   */
  ARCMON_TELEMETRY_AUTH: z
    .enum(['entra', 'key'], {
      message:
        'ARCMON_TELEMETRY_AUTH must be entra (send with a Microsoft Entra ID token, the default) or key (instrumentation key only, for an Application Insights resource that accepts local authentication)',
    })
    .default('entra'),
  /** Client id of the user-assigned managed identity (tables and Application Insights ingestion). */
  AZURE_CLIENT_ID: optionalText,
  /**
   * Set with AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or a certificate) for a service principal, or by workload
   * identity: AZURE_CLIENT_ID then names that application, not a managed identity.
   */
  AZURE_TENANT_ID: optionalText,
  APPLICATIONINSIGHTS_CONNECTION_STRING: optionalText,
  HTTPS_PROXY: proxyUrl('HTTPS_PROXY'),
  NO_PROXY: optionalText,
} as const;

/** Settings the Functions host itself owns; the template may set them and the monitor does not read them. */
export const HOST_OWNED_SETTINGS = [
  'AzureWebJobsStorage__accountName',
  'AzureWebJobsStorage__blobServiceUri',
  'AzureWebJobsStorage__queueServiceUri',
  'AzureWebJobsStorage__tableServiceUri',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  'AzureFunctionsJobHost__logging__logLevel__default',
] as const;

export const settingsSchema = z.object(SETTINGS_SHAPE).superRefine((s, ctx) => {
  if (!s.ARCMON_TABLE_ENDPOINT && !s.ARCMON_STORAGE_CONNECTION_STRING) {
    ctx.addIssue({
      code: 'custom',
      path: ['ARCMON_TABLE_ENDPOINT'],
      message:
        'ARCMON_TABLE_ENDPOINT is required in Azure (https://<account>.table.core.windows.net, used with the managed identity); locally set ARCMON_STORAGE_CONNECTION_STRING instead',
    });
  }
});

export type Settings = z.output<typeof settingsSchema>;
export const KNOWN_SETTINGS: readonly string[] = Object.keys(SETTINGS_SHAPE);

export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid monitor settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SettingsError';
  }
}

/**
 * Parses the monitor settings from an environment map. Reports every problem at once; unknown ARCMON_*
 * variables are problems too (they are almost always typos).
 */
export function parseSettings(env: Record<string, string | undefined>): Settings {
  const picked: Record<string, string> = {};
  const problems: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (k in SETTINGS_SHAPE) picked[k] = v;
    else if (k.startsWith('ARCMON_'))
      problems.push(
        `${k}: unknown setting; known ones are ${KNOWN_SETTINGS.filter((n) => n.startsWith('ARCMON_')).join(', ')}`,
      );
  }
  const parsed = settingsSchema.safeParse(picked);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = issue.path.join('.') || 'settings';
      problems.push(issue.message.startsWith(name) ? issue.message : `${name}: ${issue.message}`);
    }
  }
  if (problems.length > 0 || !parsed.success) throw new SettingsError(problems);
  return parsed.data;
}
