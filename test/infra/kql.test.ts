import { describe, expect, it } from 'vitest';
import { INCIDENT_KINDS } from '../../lib/monitor/types';
import { EVENTS, METRICS } from '../../lib/telemetry/names';
import { APP_INSIGHTS_TABLES } from './appInsightsSchema';
import { analyseKql, bicepFiles, kqlFiles, readInfra, stripBicepComments, variableExpression } from './infraSource';
import { telemetryProblems } from './kqlContract';
import { analyzeKql, formatDiagnostics, type KqlDiagnostic } from './kusto';

const queries = kqlFiles();
const allBicep = bicepFiles()
  .map((f) => f.text)
  .join('\n');

describe('KQL in infra/queries uses only telemetry the monitor emits', () => {
  it('finds the alert and workbook queries', () => {
    expect(queries.map((q) => q.path)).toEqual(
      expect.arrayContaining([
        'queries/alert-required-endpoint-blocked.kql',
        'queries/alert-regression-event.kql',
        'queries/alert-monitor-silent-site.kql',
        'queries/alert-monitor-silent-all.kql',
        'queries/alert-certificate-expiry.kql',
        'queries/workbook-availability-trend.kql',
        'queries/workbook-latency-percentiles.kql',
        'queries/workbook-failures-by-code.kql',
        'queries/workbook-failures-by-phase.kql',
        'queries/workbook-incidents-timeline.kql',
      ]),
    );
  });

  it.each(queries.map((q) => [q.path, q.text] as const))('%s', (_path, text) => {
    expect(telemetryProblems(text)).toEqual([]);
  });

  it('covers every event and every latency metric somewhere', () => {
    const used = queries.flatMap((q) => analyseKql(q.text).comparisons.get('name') ?? []);
    expect(new Set(used)).toEqual(new Set([...Object.values(EVENTS), ...Object.values(METRICS)]));
  });

  // `kind` is a KQL keyword, so the queries name the extracted dimension `incidentKind`; its compared values still
  // have to be incident kinds the monitor has.
  it('compares incidentKind only with incident kinds the monitor has', () => {
    const compared = queries.flatMap((q) =>
      (analyseKql(q.text).comparisons.get('incidentKind') ?? []).map((kind) => ({ path: q.path, kind })),
    );
    expect(compared.map((c) => c.path)).toContain('queries/alert-regression-event.kql');
    const kinds: readonly string[] = INCIDENT_KINDS;
    expect(compared.filter((c) => !kinds.includes(c.kind))).toEqual([]);
  });
});

describe('the contract check itself catches a drifted query', () => {
  it.each([
    ['a misspelt event', 'customEvents | where name == "EndpointRegresed"', 'name "EndpointRegresed"'],
    [
      'a dimension the monitor does not send',
      'availabilityResults | extend c = tostring(customDimensions.failurecode)',
      'customDimensions.failurecode',
    ],
    [
      'a bracketed dimension of the wrong telemetry',
      'customEvents | where name == "MonitorCycle" | extend k = customDimensions["kind"]',
      'customDimensions.kind',
    ],
    [
      'a measurement on an incident event',
      'customEvents | where name == "EndpointRegressed" | extend d = customMeasurements.durationMs',
      'customMeasurements.durationMs',
    ],
    [
      'an unknown metric',
      'customMetrics | where name in ("arcmon.latency.dns", "arcmon.latency.dnss")',
      'arcmon.latency.dnss',
    ],
    [
      'a verdict that does not exist',
      'availabilityResults | extend verdict = tostring(customDimensions.verdict) | where verdict == "down"',
      'verdict == "down"',
    ],
    [
      'an incident kind that does not exist',
      'customEvents | where name == "EndpointRegressed" | where kind in ("latency", "tls-inspected")',
      'kind == "tls-inspected"',
    ],
    ['a failure code that does not exist', 'availabilityResults | where failureCode == "TCP_BLOCKED"', 'TCP_BLOCKED'],
    ['a table the monitor never writes', 'requests | where success == false', 'table requests'],
    ['events not picked by name', 'customEvents | summarize count()', 'does not pick an event'],
  ])('%s', (_case, kql, expected) => {
    const problems = telemetryProblems(kql);
    expect(problems.join('\n')).toContain(expected);
  });

  it('accepts a query that only uses emitted names', () => {
    const kql = [
      'customEvents',
      '| where name in ("EndpointRegressed", "EndpointRecovered")',
      '| extend kind = tostring(customDimensions.kind), site = tostring(customDimensions["site"])',
      '| where kind == "private-link-bypassed"',
    ].join('\n');
    expect(telemetryProblems(kql)).toEqual([]);
  });
});

describe('every query file is wired into the templates', () => {
  it.each(queries.map((q) => [q.path] as const))('%s is loaded by a Bicep file', (path) => {
    expect(allBicep).toContain(`loadTextContent('../${path}')`);
  });

  it.each(queries.map((q) => [q.path, q.text] as const))('%s: every placeholder is filled in', (path, text) => {
    for (const placeholder of analyseKql(text).placeholders) {
      expect(allBicep, `${path} ${placeholder}`).toMatch(new RegExp(`'${placeholder}'`));
    }
  });

  it('the workbook layout names a query file for every query placeholder, and each exists', () => {
    const layout = readInfra('workbook/trends.workbook.json');
    const wanted = [...layout.matchAll(/"\{query:([\w-]+)\}"/g)].map((m) => m[1] ?? '');
    const wiring = variableExpression(readInfra('modules/workbook.bicep'), 'queries') ?? '';
    expect(wanted.length).toBeGreaterThan(5);
    for (const name of wanted) {
      expect(wiring, name).toMatch(new RegExp(`'?${name}'?: loadTextContent\\('../queries/workbook-${name}.kql'\\)`));
      expect(queries.map((q) => q.path)).toContain(`queries/workbook-${name}.kql`);
    }
    expect(() => JSON.parse(layout) as unknown).not.toThrow();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Kusto.Language over the queries as Azure runs them: placeholders filled the way Bicep and the workbook fill them.
// ---------------------------------------------------------------------------------------------------------------

/** One text Azure would run, and what it was made from (for failure output). */
interface QueryVariant {
  label: string;
  text: string;
}

/** A query as deployed: every variant of its placeholders, and the query file it comes from (if any). */
interface DeployedQuery {
  name: string;
  file: string | undefined;
  variants: QueryVariant[];
}

/**
 * What each Bicep expression that fills an alert placeholder can produce. The keys are the expressions as written in
 * alerts.bicep, so a change to how Bicep fills a placeholder fails here until the values are modelled again.
 */
const BICEP_FILLS: Record<string, readonly string[]> = {
  // openAfter: @minValue(1) @maxValue(100), default 2.
  'string(openAfter)': ['1', '2', '100'],
  "privateLinkMode ? 'true' : 'false'": ['true', 'false'],
  // silentMinutes = probeIntervalMinutes (1..30) * silentAfterIntervals (2..48): 2, the default 5 * 3, 30 * 48.
  'string(silentMinutes)': ['2', '15', '1440'],
};

/** The text after `start` up to the `)` that closes the enclosing call, skipping single-quoted strings. */
function argumentUntilClose(text: string, start: number): string {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === "'") {
      i = text.indexOf("'", i + 1);
      if (i < 0) break;
    } else if (c === '(') depth++;
    else if (c === ')') {
      if (depth === 0) return text.slice(start, i).trim();
      depth--;
    }
  }
  throw new Error(`no closing parenthesis after offset ${start}`);
}

/** Every combination of `choices` (placeholder -> values). */
function combinations(choices: readonly (readonly [string, readonly string[]])[]): Map<string, string>[] {
  let out = [new Map<string, string>()];
  for (const [key, values] of choices) out = out.flatMap((m) => values.map((v) => new Map(m).set(key, v)));
  return out;
}

/** Queries a Bicep `var` builds straight from a query file (the alert rules), with `replace(...)` applied. */
function bicepVariableQueries(): DeployedQuery[] {
  const out: DeployedQuery[] = [];
  for (const bicep of bicepFiles()) {
    for (const line of stripBicepComments(bicep.text).split('\n')) {
      const m = /^var\s+(\w+)\s*=\s*(.*loadTextContent\('\.\.\/(queries\/[\w.-]+\.kql)'\).*)$/.exec(line);
      if (!m) continue;
      const [, variable = '', expression = '', file = ''] = m;
      const kql = readInfra(file);
      const choices = analyseKql(kql).placeholders.map((placeholder) => {
        const at = expression.indexOf(`'${placeholder}',`);
        if (at < 0) throw new Error(`${bicep.path}: ${variable} does not fill ${placeholder}`);
        const filler = argumentUntilClose(expression, at + placeholder.length + 3);
        const values = BICEP_FILLS[filler];
        if (!values)
          throw new Error(`${bicep.path}: ${placeholder} is filled by ${filler}, which the test does not model`);
        return [placeholder, values] as const;
      });
      out.push({
        name: `${file} (var ${variable} in ${bicep.path})`,
        file,
        variants: combinations(choices).map((fill) => {
          let text = kql;
          for (const [placeholder, value] of fill) text = text.replaceAll(placeholder, value);
          const label = [...fill].map(([p, v]) => `${p}=${v}`).join(', ');
          return { label: `${file}${label ? ` [${label}]` : ''}`, text };
        }),
      });
    }
  }
  return out;
}

/** A workbook parameter, as much of it as decides how its value is written into a query. */
interface WorkbookParameter {
  name: string;
  type: number;
  multiSelect?: boolean;
  quote?: string;
  delimiter?: string;
  typeSettings?: { selectAllValue?: string; selectableValues?: { durationMs: number }[]; allowCustom?: boolean };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Every `query` string in the workbook, with where it sits (item or parameter name), in document order. */
function workbookQueryStrings(node: unknown, where: string, out: { where: string; query: string }[]): void {
  if (Array.isArray(node)) {
    for (const child of node) workbookQueryStrings(child, where, out);
    return;
  }
  if (!isObject(node)) return;
  const here =
    typeof node.name === 'string'
      ? `${node.version === 'KqlParameterItem/1.0' ? 'parameter' : 'item'} ${node.name}`
      : where;
  if (typeof node.query === 'string') out.push({ where: here, query: node.query });
  for (const [key, value] of Object.entries(node)) if (key !== 'query') workbookQueryStrings(value, here, out);
}

function workbookParameters(node: unknown, out: WorkbookParameter[] = []): WorkbookParameter[] {
  if (Array.isArray(node)) node.forEach((child) => workbookParameters(child, out));
  else if (isObject(node)) {
    if (node.version === 'KqlParameterItem/1.0' && typeof node.name === 'string' && typeof node.type === 'number') {
      out.push(node as unknown as WorkbookParameter);
    }
    Object.values(node).forEach((child) => workbookParameters(child, out));
  }
  return out;
}

const DAY_MS = 86_400_000;

/** A KQL timespan literal for a whole number of days, hours or minutes (`1d`, `4h`, `30m`). */
function timespan(ms: number): string {
  if (ms % DAY_MS === 0) return `${ms / DAY_MS}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  return `${Math.round(ms / 60_000)}m`;
}

/**
 * A stand-in for the grain the workbook picks for a range (some hundred buckets, rounded up to a round span). Only
 * its form matters to the parser: `{TimeRange:grain}` is written as a timespan literal such as `30m`.
 */
function grain(ms: number): string {
  const spans = [1, 5, 15, 30, 60, 120, 360, 720, 1440].map((minutes) => minutes * 60_000);
  return timespan(spans.find((s) => s >= ms / 100) ?? DAY_MS);
}

/**
 * The values a parameter takes in a query, each as option -> text (`''` is the bare `{Name}`), after the Azure
 * Workbooks documentation (learn.microsoft.com/azure/azure-monitor/visualize/workbooks-time and workbooks-dropdowns):
 * a time range is written as the comparison `> ago(1d)` and `:grain` as a timespan such as `30m`; a multi-select
 * drop-down as its selected values, each in the parameter's quote character, joined by its delimiter, with "All"
 * written as the select-all value, quoted (so `"*" in ({Site})` works). The documentation does not show a custom
 * range; the portal writes it as `between (datetime(...) .. datetime(...))`, which is checked too.
 */
function parameterValues(p: WorkbookParameter): Record<string, string>[] {
  if (p.type === 4) {
    const durations = (p.typeSettings?.selectableValues ?? []).map((v) => v.durationMs);
    const ranges = durations.map((ms) => ({ '': `> ago(${timespan(ms)})`, grain: grain(ms) }));
    if (p.typeSettings?.allowCustom) {
      ranges.push({
        '': 'between (datetime(2024-05-01T00:00:00.000Z) .. datetime(2024-05-02T12:30:00.000Z))',
        grain: grain(1.5 * DAY_MS),
      });
    }
    return ranges;
  }
  if (p.type === 2 && p.multiSelect) {
    const quote = p.quote ?? "'";
    const list = (values: string[]) => values.map((v) => `${quote}${v}${quote}`).join(p.delimiter ?? ',');
    const selections = [['hub-a'], ['hub-a', 'Site 2 (branch)']].map((s) => ({ '': list(s) }));
    const all = p.typeSettings?.selectAllValue;
    return all === undefined ? selections : [{ '': list([all]) }, ...selections];
  }
  throw new Error(`workbook parameter ${p.name}: type ${p.type} is not modelled by this test`);
}

const PARAMETER_TOKEN = /\{([A-Za-z_]\w*)(?::(\w+))?\}/g;

/**
 * Variants of a workbook query: every value of every parameter it uses appears at least once (zipped rather than
 * multiplied, to keep the test fast; the parameters are independent of each other in every query).
 */
function workbookVariants(where: string, query: string, parameters: WorkbookParameter[]): QueryVariant[] {
  const tokens = [...new Set([...query.matchAll(PARAMETER_TOKEN)].map((m) => m[0]))];
  const used = [...new Set([...query.matchAll(PARAMETER_TOKEN)].map((m) => m[1] ?? ''))];
  const values = new Map(
    used.map((name) => {
      const p = parameters.find((x) => x.name === name);
      if (!p) throw new Error(`${where}: {${name}} is not a parameter of the workbook`);
      return [name, parameterValues(p)] as const;
    }),
  );
  const count = Math.max(1, ...[...values.values()].map((v) => v.length));
  return Array.from({ length: count }, (_, i) => {
    const pick = (name: string) => {
      const list = values.get(name) ?? [];
      return list[i % list.length] ?? {};
    };
    const fill = (token: string, name: string, option: string | undefined): string => {
      const value = pick(name)[option ?? ''];
      if (value === undefined) throw new Error(`${where}: ${token} is not modelled by this test`);
      return value;
    };
    const text = query.replace(PARAMETER_TOKEN, fill);
    const label = tokens.map((token) => `${token}=${token.replace(PARAMETER_TOKEN, fill)}`).join(', ');
    return { label: `${where}${label ? ` [${label}]` : ''}`, text };
  });
}

/** The workbook's queries: the layout with `"{query:NAME}"` replaced by the JSON string of the file, as Bicep does. */
function workbookQueries(): DeployedQuery[] {
  const layout = readInfra('workbook/trends.workbook.json');
  const filled = layout.replace(/"\{query:([\w-]+)\}"/g, (_m, name: string) =>
    JSON.stringify(readInfra(`queries/workbook-${name}.kql`)),
  );
  const raw: { where: string; query: string }[] = [];
  const deployed: { where: string; query: string }[] = [];
  workbookQueryStrings(JSON.parse(layout), 'workbook', raw);
  const filledJson: unknown = JSON.parse(filled);
  workbookQueryStrings(filledJson, 'workbook', deployed);
  const parameters = workbookParameters(filledJson);
  return deployed.map(({ where, query }, i) => {
    const placeholder = /^\{query:([\w-]+)\}$/.exec(raw[i]?.query ?? '');
    const file = placeholder ? `queries/workbook-${placeholder[1] ?? ''}.kql` : undefined;
    const name = `trends.workbook.json ${where} (${file ?? 'inline'})`;
    return { name, file, variants: workbookVariants(name, query, parameters) };
  });
}

const deployedQueries = [...bicepVariableQueries(), ...workbookQueries()];

/** Diagnostics of every variant, one formatted line each (empty when all pass). */
function kustoProblems(query: DeployedQuery): string[] {
  return query.variants.flatMap((v) => {
    const diagnostics = analyzeKql(v.text, APP_INSIGHTS_TABLES);
    return diagnostics.length === 0 ? [] : formatDiagnostics(v.label, diagnostics).split('\n');
  });
}

describe("every query passes Microsoft's KQL parser and semantic analyser against the Application Insights schema", () => {
  it('checks every query file, each in several variants', () => {
    const checked = new Set(deployedQueries.flatMap((q) => (q.file ? [q.file] : [])));
    expect([...checked].sort()).toEqual(queries.map((q) => q.path).sort());
    for (const q of deployedQueries) expect(q.variants.length, q.name).toBeGreaterThan(0);
    expect(deployedQueries.filter((q) => q.variants.length > 1).length).toBeGreaterThan(10);
  });

  it.each(deployedQueries.map((q) => [q.name, q] as const))('%s', (_name, query) => {
    for (const v of query.variants) expect(v.text, v.label).not.toMatch(/__[A-Z][A-Z0-9_]*__|\{[A-Za-z_]\w*(:\w+)?\}/);
    expect(kustoProblems(query)).toEqual([]);
  });
});

const shape = (d: KqlDiagnostic) => ({
  code: d.code,
  severity: d.severity,
  message: d.message,
  at: `${d.line}:${d.column}`,
});
const check = (kql: string) => analyzeKql(kql, APP_INSIGHTS_TABLES).map(shape);

describe('the Kusto check fails a broken query', () => {
  it.each([
    [
      'a misspelt column',
      'customEvents\n| where tostring(customDimension.site) == "hub-a"',
      [
        {
          code: 'KS142',
          severity: 'Error',
          message: "The name 'customDimension' does not refer to any known column, table, variable or function.",
          at: '2:18',
        },
      ],
    ],
    [
      'a workspace-based column on a classic table',
      'customEvents | where TimeGenerated > ago(1d)',
      [
        {
          code: 'KS142',
          severity: 'Error',
          message: "The name 'TimeGenerated' does not refer to any known column, table, variable or function.",
          at: '1:22',
        },
      ],
    ],
    [
      'a table the component does not have',
      'AppEvents | take 1',
      [
        {
          code: 'KS204',
          severity: 'Error',
          message: "The name 'AppEvents' does not refer to any known table, tabular variable or function.",
          at: '1:1',
        },
      ],
    ],
    [
      'a misspelt operator',
      'customEvents | summarise count()',
      [
        { code: 'KS176', severity: 'Error', message: 'Query operator expected.', at: '1:16' },
        { code: 'KS005', severity: 'Error', message: 'Expected: ;', at: '1:26' },
        {
          code: 'KS144',
          severity: 'Error',
          message: "The aggregate function 'count' is not allowed in this context.",
          at: '1:26',
        },
      ],
    ],
    [
      'the keyword kind as a column name',
      'customEvents | extend kind = tostring(customDimensions.kind)',
      [
        {
          code: 'KS228',
          severity: 'Error',
          message: "The name 'kind' needs to be bracketed as ['kind'] to be used in this context.",
          at: '1:23',
        },
      ],
    ],
    [
      'cycles as a summarize column name',
      'customEvents | summarize cycles = count()',
      [
        {
          code: 'KS179',
          severity: 'Warning',
          message: "The name 'cycles' is not a recognized parameter for this operator.",
          at: '1:26',
        },
        { code: 'KS006', severity: 'Error', message: 'Missing expression', at: '1:41' },
      ],
    ],
    [
      'a comparison of mismatched types',
      'customEvents | where timestamp > 5',
      [
        {
          code: 'KS106',
          severity: 'Error',
          message: "The operator '>' is not defined for the operand types datetime and long.",
          at: '1:32',
        },
      ],
    ],
    [
      'a join without a kind (an analyser warning)',
      'customEvents | join (customEvents) on name',
      [
        {
          code: 'KS508',
          severity: 'Warning',
          message: 'Avoid using joins without specifying the join kind. The default join behavior may be unexpected.',
          at: '1:16',
        },
      ],
    ],
    [
      'a workbook parameter left unfilled',
      'customEvents | where timestamp {TimeRange}',
      [
        { code: 'KS141', severity: 'Error', message: 'The expression must have the type bool.', at: '1:22' },
        { code: 'KS005', severity: 'Error', message: 'Expected: ;', at: '1:32' },
        { code: 'KS213', severity: 'Error', message: 'Client parameters are not supported or enabled.', at: '1:32' },
      ],
    ],
  ])('%s', (_case, kql, expected) => {
    expect(check(kql)).toEqual(expected);
  });

  it('a real query with the old `kind` column fails through the same path as the deployed queries', () => {
    const regression = deployedQueries.find((q) => q.file === 'queries/alert-regression-event.kql');
    expect(regression).toBeDefined();
    const broken: DeployedQuery = {
      name: 'broken',
      file: undefined,
      variants: (regression?.variants ?? []).map((v) => ({
        label: `broken ${v.label}`,
        text: v.text.replaceAll('incidentKind', 'kind'),
      })),
    };
    expect(kustoProblems(broken)).toEqual([
      "broken queries/alert-regression-event.kql:7:10 KS228 Error: The name 'kind' needs to be bracketed as ['kind'] to be used in this context.",
    ]);
  });

  it('accepts the fixed spelling of each broken query', () => {
    expect(check('customEvents\n| where tostring(customDimensions.site) == "hub-a"')).toEqual([]);
    expect(check('customEvents | extend incidentKind = tostring(customDimensions.kind)')).toEqual([]);
    expect(check('customEvents | summarize cycleCount = count()')).toEqual([]);
    expect(check('customEvents | join kind=inner (customEvents) on name')).toEqual([]);
  });
});
