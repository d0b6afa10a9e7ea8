import { describe, expect, it } from 'vitest';
import { EVENTS, METRICS } from '../../lib/telemetry/names';
import { analyseKql, bicepFiles, kqlFiles, readInfra, variableExpression } from './infraSource';
import { telemetryProblems } from './kqlContract';

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
