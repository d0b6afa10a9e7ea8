/**
 * The user's endpoint configuration: extra endpoints, excluded catalog rows, concrete hosts for wildcards and
 * the scenarios to check. The same JSON comes from `arcmon check --endpoints FILE` or the app setting
 * ARCMON_ENDPOINTS_JSON. Parsed once, strictly: every problem is reported with its path, and a configuration
 * with any problem does not run at all.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseCidr } from '../probes/addresses';
import { isDnsName, matchesHostPattern } from './expand';
import type { WildcardHosts } from './expand';
import type { CatalogEntry, GenuineCa, PrivateLinkColumn, Protocol, Requirement, Scenario, Transport } from './types';
import { CLOUDS, GENUINE_CAS, PRIVATE_LINK_COLUMNS, REQUIREMENTS, SCENARIOS } from './types';

/** Every problem of a configuration, each as `<source>: <path>: <what is wrong>`. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid endpoints configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** One endpoint the user adds, defaults applied. */
export interface UserEndpoint {
  /** Default: `custom.<host>.<port>` (plus `.udp` for UDP). */
  id: string;
  host: string;
  /** Default: 443, or 123 for the ntp protocol. */
  port: number;
  /** Default: `udp` for the ntp protocol, else `tcp`. */
  transport: Transport;
  /** Default: `ntp` over UDP, else `https`. */
  protocol: Protocol;
  purpose: string;
  /** Default: `always`. */
  requirement: Requirement;
  /** Default: `public`. */
  privateLink: PrivateLinkColumn;
  /** Default: `tolerated`. */
  inspection: 'tolerated' | 'not-tolerated';
  /** What a genuine chain ends at. Default: `public` (any publicly trusted root). */
  genuineCa: GenuineCa;
  /** Default: `/`. */
  httpPath?: string;
}

/** A parsed endpoints configuration. */
export interface UserConfig {
  /** Where it came from (file name or setting name), used in every message. */
  source: string;
  version: 1;
  /** Scenario names (or `all`) as written; absent means "use the monitor's setting". */
  scenarios?: (Scenario | 'all')[];
  /** Default: `{}`. */
  wildcards: WildcardHosts;
  /** Default: `[]`. */
  endpoints: UserEndpoint[];
  /** Catalog ids or host patterns (exactly as in the catalog) to leave out. Default: `[]`. */
  exclude: string[];
  /** CIDR ranges that also count as private endpoint addresses under private-link mode. Default: `[]`. */
  privateRanges: string[];
}

type ErrorFn = (iss: { input?: unknown }) => string;
/** Field message, or "is required" when the key is absent. */
const says =
  (message: string): ErrorFn =>
  (iss) =>
    iss.input === undefined ? 'is required' : message;

const SCENARIO_NAMES = [...SCENARIOS, 'all'] as const;
const PORT_MESSAGE = 'must be a whole number from 1 to 65535';
const HOST_MESSAGE = 'must be a DNS host name such as proxy.contoso.com or an IP address';
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

const hostName = z.string({ error: says(HOST_MESSAGE) }).superRefine((h, ctx) => {
  if (h.includes('*')) {
    ctx.addIssue({ code: 'custom', message: `"${h}" is a wildcard; give a concrete host name or IP address` });
  } else if (!isDnsName(h) && isIP(h) === 0) {
    ctx.addIssue({ code: 'custom', message: `"${h}" ${HOST_MESSAGE.replace('must be', 'is not')}` });
  }
});

const concreteHostList = z
  .array(
    z.string({ error: says('must be a DNS host name') }).refine((h) => isDnsName(h), {
      error: (iss) => `"${String(iss.input)}" is not a DNS host name (no wildcards, no IP addresses)`,
    }),
    { error: says('must be a list of host names') },
  )
  .min(1, { error: 'must list at least one host name' });

const WILDCARD_SHAPE = {
  gatewayPrefix: z
    .string({ error: says('must be the prefix of your Arc gateway URL') })
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, {
      error: 'must be the first label of your Arc gateway URL (<prefix>.gw.arc.azure.com)',
    })
    .optional(),
  workspaceId: z
    .string({ error: says('must be a Log Analytics workspace id') })
    .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, {
      error: 'must be a Log Analytics workspace id (a GUID)',
    })
    .optional(),
  hisRegionalPrefix: z
    .string({ error: says('must be a short region code such as eus or weu') })
    .regex(/^[a-z0-9]{1,20}$/, {
      error: 'must be a short region code such as eus or weu (lower-case letters and digits)',
    })
    .optional(),
  notificationHosts: concreteHostList.optional(),
  blobAccounts: z
    .array(
      z
        .string({ error: says('must be a storage account name') })
        .regex(/^[a-z0-9]{3,24}$/, { error: 'must be a storage account name: 3 to 24 lower-case letters and digits' }),
      { error: says('must be a list of storage account names') },
    )
    .min(1, { error: 'must list at least one storage account name' })
    .optional(),
  serviceBusNamespaces: z
    .array(
      z.string({ error: says('must be a namespace name') }).regex(/^[A-Za-z][A-Za-z0-9-]{4,48}[A-Za-z0-9]$/, {
        error: 'must be a namespace name: 6 to 50 letters, digits and hyphens, starting with a letter',
      }),
      { error: says('must be a list of namespace names') },
    )
    .min(1, { error: 'must list at least one namespace name' })
    .optional(),
  hosts: z
    .record(z.string(), concreteHostList, { error: says('must map wildcard patterns to lists of host names') })
    .superRefine((hosts, ctx) => {
      for (const [pattern, list] of Object.entries(hosts)) {
        if (!pattern.includes('*')) {
          ctx.addIssue({
            code: 'custom',
            path: [pattern],
            message: 'is not a wildcard pattern; add concrete hosts under endpoints instead',
          });
          continue;
        }
        list.forEach((h, i) => {
          if (!matchesHostPattern(h, pattern)) {
            ctx.addIssue({ code: 'custom', path: [pattern, i], message: `"${h}" does not match ${pattern}` });
          }
        });
      }
    })
    .optional(),
};

const ENDPOINT_SHAPE = {
  id: z
    .string({ error: says('must be a text id') })
    .regex(ID, {
      error: 'must be 1 to 128 letters, digits, dot, colon, dash or underscore, starting with a letter or digit',
    })
    .optional(),
  host: hostName,
  port: z
    .number({ error: says(PORT_MESSAGE) })
    .int({ error: PORT_MESSAGE })
    .min(1, { error: PORT_MESSAGE })
    .max(65535, { error: PORT_MESSAGE })
    .optional(),
  transport: z.enum(['tcp', 'udp'], { error: says('must be tcp or udp') }).optional(),
  protocol: z.enum(['https', 'tcp', 'ntp'], { error: says('must be https, tcp or ntp') }).optional(),
  purpose: z
    .string({ error: says('must be a text saying why the endpoint matters') })
    .trim()
    .min(1, { error: 'must not be empty: say why the endpoint matters' }),
  requirement: z.enum(REQUIREMENTS, { error: says(`must be one of ${REQUIREMENTS.join(', ')}`) }).default('always'),
  privateLink: z
    .enum(PRIVATE_LINK_COLUMNS, { error: says(`must be one of ${PRIVATE_LINK_COLUMNS.join(', ')}`) })
    .default('public'),
  inspection: z
    .enum(['tolerated', 'not-tolerated'], { error: says('must be tolerated or not-tolerated') })
    .default('tolerated'),
  genuineCa: z.enum(GENUINE_CAS, { error: says(`must be one of ${GENUINE_CAS.join(', ')}`) }).default('public'),
  httpPath: z
    .string({ error: says('must be a path starting with /') })
    .regex(/^\/\S*$/, { error: 'must be a path starting with / (no spaces)' })
    .optional(),
};

const endpointSchema = z
  .object(ENDPOINT_SHAPE, { error: says('must be an object with at least host and purpose') })
  .strict()
  .superRefine((e, ctx) => {
    if (e.protocol === 'ntp' && e.transport === 'tcp') {
      ctx.addIssue({ code: 'custom', path: ['transport'], message: 'must be udp (or left out) for the ntp protocol' });
    }
    if (e.transport === 'udp' && e.protocol !== undefined && e.protocol !== 'ntp') {
      ctx.addIssue({ code: 'custom', path: ['protocol'], message: 'must be ntp (or left out) over udp' });
    }
  })
  .transform((e): UserEndpoint => {
    const transport: Transport = e.transport ?? (e.protocol === 'ntp' ? 'udp' : 'tcp');
    const protocol: Protocol = e.protocol ?? (transport === 'udp' ? 'ntp' : 'https');
    const port = e.port ?? (protocol === 'ntp' ? 123 : 443);
    const host = e.host.toLowerCase();
    return {
      id: e.id ?? `custom.${host}.${port}${transport === 'udp' ? '.udp' : ''}`,
      host,
      port,
      transport,
      protocol,
      purpose: e.purpose,
      requirement: e.requirement,
      privateLink: e.privateLink,
      inspection: e.inspection,
      genuineCa: e.genuineCa,
      ...(e.httpPath !== undefined ? { httpPath: e.httpPath } : {}),
    };
  });

const ROOT_SHAPE = {
  $schema: z.string({ error: says('must be a URL or path of the JSON schema') }).optional(),
  version: z.literal(1, { error: says('must be 1') }),
  scenarios: z
    .array(z.enum(SCENARIO_NAMES, { error: says(`must be one of ${SCENARIO_NAMES.join(', ')}`) }), {
      error: says('must be a list of scenario names'),
    })
    .optional(),
  wildcards: z
    .object(WILDCARD_SHAPE, { error: says('must be an object') })
    .strict()
    .default({}),
  endpoints: z
    .array(endpointSchema, { error: says('must be a list of endpoints') })
    .superRefine((list, ctx) => {
      const seen = new Map<string, number>();
      list.forEach((e, i) => {
        // An entry that failed its own validation has no id yet: it is reported for what is wrong with it.
        if (typeof e.id !== 'string') return;
        const first = seen.get(e.id);
        if (first === undefined) seen.set(e.id, i);
        else
          ctx.addIssue({
            code: 'custom',
            path: [i, 'id'],
            message: `"${e.id}" is already used by endpoints[${first}]`,
          });
      });
    })
    .default([]),
  exclude: z
    .array(z.string({ error: says('must be a catalog id or host pattern') }).min(1, { error: 'must not be empty' }), {
      error: says('must be a list of catalog ids or host patterns'),
    })
    .default([]),
  privateRanges: z
    .array(
      z.string({ error: says('must be a CIDR range such as 100.64.0.0/10') }).superRefine((text, ctx) => {
        try {
          parseCidr(text);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
        }
      }),
      { error: says('must be a list of CIDR ranges') },
    )
    .default([]),
};

const configSchema = z.object(ROOT_SHAPE, { error: 'must be a JSON object such as {"version": 1}' }).strict();

/** Known keys per object, for "did you mean" hints. */
function knownKeys(path: readonly PropertyKey[]): string[] {
  if (path.length === 0) return Object.keys(ROOT_SHAPE);
  if (path.length === 1 && path[0] === 'wildcards') return Object.keys(WILDCARD_SHAPE);
  if (path.length === 2 && path[0] === 'endpoints') return Object.keys(ENDPOINT_SHAPE);
  return [];
}

/** Edit distance where swapping two neighbouring letters counts once (typos like "hots" for "host"). */
function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const d: number[][] = Array.from({ length: x.length + 1 }, (_, i) =>
    Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => d[i]?.[j] ?? Number.MAX_SAFE_INTEGER;
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return at(x.length, y.length);
}

export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { word: string; distance: number } | undefined;
  for (const c of candidates) {
    const distance = editDistance(word, c);
    if (distance <= Math.max(1, Math.floor(c.length / 3)) && (!best || distance < best.distance)) {
      best = { word: c, distance };
    }
  }
  return best?.word;
}

/** `endpoints[1].port`, `wildcards.hosts["*.pypi.org"][0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_$][\w$]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

function problem(source: string, path: readonly PropertyKey[], message: string): string {
  const where = formatPath(path);
  return where ? `${source}: ${where}: ${message}` : `${source}: ${message}`;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return { line, column };
}

/**
 * Offset of the first character that cannot continue a JSON text (V8 names the token but not its position for
 * some errors, e.g. \`garbage\`). A small recursive-descent scan; the text length when it ends early.
 */
export function firstBadToken(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i] as string)) i++;
  };
  class Stop extends Error {}
  const fail = (): never => {
    throw new Stop();
  };
  const literal = (word: string) => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const str = () => {
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail();
    i++;
  };
  const num = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m || m[0] === '' || m[0] === '-') fail();
    i += (m as RegExpExecArray)[0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        str();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail();
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail();
      }
    } else if (c === '"') str();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else if (c !== undefined && /[-\d]/.test(c)) num();
    else fail();
  };
  try {
    value();
    ws();
    return Math.min(i, text.length);
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
    return Math.min(i, text.length);
  }
}

function jsonProblem(text: string, source: string, err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  const at = /at position (\d+)/.exec(raw);
  const offset = at ? Number(at[1]) : firstBadToken(text);
  const reason = raw
    .replace(/\s*\(line \d+ column \d+\)\s*$/, '')
    .replace(/\s*in JSON at position \d+.*$/, '')
    .replace(/, (\.\.\.)?".*" is not valid JSON$/s, '')
    .replace(/^Unexpected end of JSON input$/, 'the text ends before the JSON does')
    .trim();
  const { line, column } = lineAndColumn(text, offset);
  return `${source}: not valid JSON: ${reason} at line ${line}, column ${column}`;
}

/**
 * Parses an endpoints configuration. `sourceName` (file name or setting name) starts every message.
 * @throws ConfigError listing every problem: invalid JSON (one message with line and column), unknown keys
 * (with a "did you mean" hint), wrong values (with their path), duplicate endpoint ids.
 */
export function parseUserConfig(text: string, sourceName: string): UserConfig {
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new ConfigError([jsonProblem(text.replace(/^\uFEFF/, ''), sourceName, err)]);
  }
  const parsed = configSchema.safeParse(data, {
    error: (iss) => (iss.input === undefined ? 'is required' : undefined),
  });
  if (!parsed.success) {
    const problems: string[] = [];
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        const known = knownKeys(issue.path);
        for (const key of issue.keys) {
          const guess = closest(key, known);
          const hint = guess ? `did you mean "${guess}"?` : `known keys here: ${known.join(', ')}`;
          problems.push(problem(sourceName, [...issue.path, key], `unknown key; ${hint}`));
        }
      } else {
        problems.push(problem(sourceName, issue.path, issue.message));
      }
    }
    throw new ConfigError(problems);
  }
  const cfg = parsed.data;
  return {
    source: sourceName,
    version: cfg.version,
    ...(cfg.scenarios ? { scenarios: cfg.scenarios } : {}),
    wildcards: cfg.wildcards,
    endpoints: cfg.endpoints,
    exclude: cfg.exclude,
    privateRanges: cfg.privateRanges,
  };
}

/**
 * The user's endpoints as catalog entries (agent `custom`, source `user`), one per cloud: a custom endpoint
 * is needed wherever the monitor runs, and expansion keeps only the entries of the cloud it checks.
 */
export function userEntries(cfg: UserConfig): CatalogEntry[] {
  return cfg.endpoints.flatMap((e) =>
    CLOUDS.map((cloud): CatalogEntry => ({
      id: e.id,
      agent: 'custom',
      cloud,
      hostPattern: e.host,
      port: e.port,
      transport: e.transport,
      protocol: e.protocol,
      purpose: e.purpose,
      requirement: e.requirement,
      requirementText: `set in ${cfg.source}`,
      privateLink: e.privateLink,
      machines: [],
      serviceTags: [],
      scenarios: [],
      inspection: e.inspection,
      genuineCa: e.genuineCa,
      source: { document: 'user', note: cfg.source },
      ...(e.httpPath !== undefined ? { httpPath: e.httpPath } : {}),
    })),
  );
}

function splitHostPort(x: string): { host: string; port?: number } {
  const m = /^(.*):(\d{1,5})$/.exec(x.trim().toLowerCase());
  return m ? { host: m[1] as string, port: Number(m[2]) } : { host: x.trim().toLowerCase() };
}

/** Whether `x` names a concrete host (optionally `:port`) that some catalog row's pattern produces. */
function concreteExclude(catalog: readonly CatalogEntry[], x: string): boolean {
  const { host, port } = splitHostPort(x);
  if (host.includes('*') || !/^[a-z0-9.-]+$/.test(host)) return false;
  return catalog.some(
    (e) => (port === undefined || e.port === port) && matchesHostPattern(host, e.hostPattern.toLowerCase()),
  );
}

/** Whether a concrete target is excluded by one of the user's `exclude` values naming its host or `host:port`. */
export function excludesTarget(cfg: UserConfig, target: { host: string; port: number }): boolean {
  return cfg.exclude.some((x) => {
    const { host, port } = splitHostPort(x);
    return host === target.host.toLowerCase() && (port === undefined || port === target.port);
  });
}

/**
 * The catalog the monitor runs with: `catalog` without the excluded rows, plus the user's endpoints.
 * @throws ConfigError when an exclude matches nothing, a user id repeats a catalog id, or a wildcard in
 * `wildcards.hosts` is not a pattern of the catalog — a half-applied configuration would mislead.
 */
export function applyUserConfig(catalog: readonly CatalogEntry[], cfg: UserConfig): CatalogEntry[] {
  const problems: string[] = [];
  const excluded = new Set<string>();
  cfg.exclude.forEach((x, i) => {
    const matches = catalog.filter((e) => e.id === x || e.hostPattern.toLowerCase() === x.toLowerCase());
    // A concrete host (or host:port) as the table prints it: excluded after expansion (excludesTarget).
    if (matches.length === 0 && concreteExclude(catalog, x)) return;
    if (matches.length === 0) {
      problems.push(
        problem(
          cfg.source,
          ['exclude', i],
          `"${x}" matches no catalog id, host pattern or concrete host of the catalog`,
        ),
      );
    }
    for (const m of matches) excluded.add(m.id);
  });

  const catalogIds = new Set(catalog.map((e) => e.id));
  cfg.endpoints.forEach((e, i) => {
    if (catalogIds.has(e.id)) {
      problems.push(problem(cfg.source, ['endpoints', i, 'id'], `"${e.id}" is already a catalog id; choose another`));
    }
  });

  const patterns = [...new Set(catalog.filter((e) => e.hostPattern.includes('*')).map((e) => e.hostPattern))];
  for (const pattern of Object.keys(cfg.wildcards.hosts ?? {})) {
    if (!patterns.includes(pattern)) {
      const guess = closest(pattern, patterns);
      const hint = guess ? `; did you mean "${guess}"?` : '';
      problems.push(
        problem(cfg.source, ['wildcards', 'hosts', pattern], `is not a wildcard pattern of the catalog${hint}`),
      );
    }
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return [...catalog.filter((e) => !excluded.has(e.id)), ...userEntries(cfg)];
}
