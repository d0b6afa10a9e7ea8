/**
 * A fix on every failure: every code of the closed set gets one (the FIXES table is keyed by FailureCode, so a code
 * without a fix does not even compile; this test also fails if one returns nothing useful), it reaches the
 * `--json` document, the table and the availability result the alert mail is built from.
 */
import { describe, expect, it } from 'vitest';
import { checkDocument } from '../../lib/cli/check';
import { renderFixes } from '../../lib/cli/render';
import type { CycleReport, TargetInfo } from '../../lib/monitor/types';
import { finding, settle } from '../../lib/probes/result';
import { FAILURE_CODE_LIST, FAILURE_CODES, type FailureCode, type ProbeResult } from '../../lib/probes/types';
import { fixFor, privateLinkZoneFor } from '../../lib/rules/fixes';
import { availabilityRecord, cycleTelemetry } from '../../lib/telemetry/records';
import type { Incident } from '../../lib/monitor/types';
import { DEFAULT_THRESHOLDS } from '../../lib/monitor/setup';

const gas: TargetInfo = {
  id: 'eastus-gas.guestconfiguration.azure.com:443',
  host: 'eastus-gas.guestconfiguration.azure.com',
  port: 443,
  transport: 'tcp',
  hostPattern: '*.guestconfiguration.azure.com',
  requirement: 'always',
  scenarios: ['servers'],
  agents: ['connected-machine'],
  purpose: 'Extension management and guest configuration services',
  mustBePrivate: true,
  serviceTags: ['AzureArcInfrastructure'],
};
const ntp: TargetInfo = {
  ...gas,
  id: 'time.windows.com:123/udp',
  host: 'time.windows.com',
  port: 123,
  transport: 'udp',
  serviceTags: [],
};

function failed(target: TargetInfo, code: FailureCode, extra: Partial<ProbeResult> = {}): ProbeResult {
  return settle({
    targetId: target.id,
    host: target.host,
    port: target.port,
    transport: target.transport,
    findings: [finding(code, `${code} at ${target.host}`)],
    timings: { total: 10 },
    startedAt: '2026-12-02T10:00:00.000Z',
    dns: { addresses: [{ address: '20.60.1.5', family: 4, scope: 'public' }], server: '10.1.2.3:53' },
    ...extra,
  });
}

describe('a fix for every failure code', () => {
  it.each(FAILURE_CODE_LIST)('%s', (code) => {
    const target = FAILURE_CODES[code].phase === 'ntp' ? ntp : gas;
    const fix = fixFor(
      { ...target, cloud: 'AzureCloud' },
      failed(target, code, { proxy: 'http://proxy.contoso.com:3128' }),
    );
    expect(fix?.summary.length).toBeGreaterThan(30);
    expect(fix?.place).toMatch(/^[a-z-]+$/);
    // Every fix names what it is about: the host, or the monitor's own setting.
    if (code !== 'DEADLINE_EXCEEDED')
      expect(fix?.summary).toContain(code === 'PROXY_BAD_RESPONSE' ? 'proxy' : target.host.split('.')[0]);
  });

  it("says which flow to allow, with the catalog's service tags, for a dropped connection", () => {
    expect(fixFor(gas, failed(gas, 'TCP_TIMEOUT'))).toEqual({
      place: 'firewall',
      summary:
        'eastus-gas.guestconfiguration.azure.com:443 is dropped: allow TCP 443 to eastus-gas.guestconfiguration.azure.com on the firewall (FQDN rule, or the service tag AzureArcInfrastructure); arcmon allowlist writes the rule',
      allow: { host: gas.host, port: 443, protocol: 'TCP', serviceTags: ['AzureArcInfrastructure'] },
    });
    expect(fixFor(ntp, failed(ntp, 'NTP_TIMEOUT'))?.allow).toEqual({
      host: 'time.windows.com',
      port: 123,
      protocol: 'UDP',
      serviceTags: [],
    });
  });

  it.each([
    ['AzureCloud', 'gbl.his.arc.azure.com', 'privatelink.his.arc.azure.com'],
    ['AzureCloud', 'eastus-gas.guestconfiguration.azure.com', 'privatelink.guestconfiguration.azure.com'],
    ['AzureUSGovernment', 'usgovvirginia-gas.guestconfiguration.azure.us', 'privatelink.guestconfiguration.azure.us'],
    ['AzureChinaCloud', 'gbl.his.arc.azure.cn', 'privatelink.his.arc.azure.cn'],
    ['AzureCloud', 'guestnotificationservice.azure.com', undefined],
  ] as const)('names the privatelink zone to link or forward (%s %s)', (cloud, host, zone) => {
    expect(privateLinkZoneFor(host, cloud)).toBe(zone);
    const t = { ...gas, host, id: `${host}:443` };
    const fix = fixFor({ ...t, cloud }, failed(t, 'PRIVATE_LINK_BYPASSED'));
    expect(fix?.privateDnsZone).toBe(zone);
  });

  it('names the inspection CA to exempt', () => {
    const result = failed(gas, 'TLS_INTERCEPTED', {
      tls: {
        sni: gas.host,
        protocol: 'TLSv1.3',
        cipher: 'x',
        leaf: {
          subject: 'CN=x',
          issuer: 'CN=Contoso Inspection',
          sans: [],
          validFrom: '',
          validTo: '',
          fingerprint256: '',
          serialNumber: '',
        },
        chain: [],
        root: {
          subject: 'CN=Contoso Inspection',
          issuer: 'CN=Contoso Inspection',
          sans: [],
          validFrom: '',
          validTo: '',
          fingerprint256: '',
          serialNumber: '',
          genuine: false,
        },
        interceptedBy: 'Contoso Enterprise Root CA',
        daysToExpiry: 100,
      },
    });
    expect(fixFor(gas, result)).toMatchObject({ place: 'tls-inspection', issuer: 'Contoso Enterprise Root CA' });
  });
});

describe('the fix reaches the person', () => {
  const report = (results: { target: TargetInfo; result: ProbeResult }[]): CycleReport => ({
    cycleId: 'c1',
    site: 'hub',
    cloud: 'AzureCloud',
    region: 'eastus',
    startedAt: '2026-12-02T10:00:00.000Z',
    finishedAt: '2026-12-02T10:00:01.000Z',
    durationMs: 1000,
    results,
    counts: { reachable: 0, degraded: 0, blocked: results.length, skipped: 0 },
  });

  it.each(FAILURE_CODE_LIST)('--json carries a structured fix for %s', (code) => {
    const target = FAILURE_CODES[code].phase === 'ntp' ? ntp : gas;
    const doc = checkDocument(report([{ target, result: failed(target, code) }]), [], {
      cloud: 'AzureCloud',
      region: 'eastus',
      scenarios: [],
      privateLink: false,
      extraCaPem: [],
      timeoutMs: 1000,
      thresholds: DEFAULT_THRESHOLDS,
      fetchAllowlist: false,
    });
    const [first] = JSON.parse(JSON.stringify(doc.results)) as { fix?: { place: string; summary: string } }[];
    expect(first?.fix?.summary).toBeTruthy();
  });

  it('the table ends with one line per failure saying what to change', () => {
    const text = renderFixes(report([{ target: gas, result: failed(gas, 'TCP_REFUSED') }]));
    expect(text).toContain('To fix:');
    expect(text).toContain(`  ${gas.id}  [firewall] ${gas.host}:443 is rejected: allow TCP 443`);
  });

  it('the availability result, which the blocked-endpoint mail reads, carries the fix', () => {
    const record = availabilityRecord(report([]), { target: gas, result: failed(gas, 'TCP_REFUSED') });
    expect(record?.properties.fix).toContain('allow TCP 443 to eastus-gas.guestconfiguration.azure.com');
  });

  it('the EndpointRegressed event, which the regression mail reads, carries the fix of the cycle that opened it', () => {
    const incident: Incident = {
      incidentId: 'i1',
      site: 'hub',
      targetId: gas.id,
      host: gas.host,
      port: 443,
      kind: 'tls-intercepted',
      severity: 'medium',
      requirement: 'always',
      status: 'open',
      failureCode: 'TCP_REFUSED',
      message: 'refused',
      firstFailingCycleId: 'c0',
      lastFailingCycleId: 'c1',
      openedAt: '2026-12-02T10:00:00.000Z',
    };
    const sent = cycleTelemetry(
      report([{ target: gas, result: failed(gas, 'TCP_REFUSED') }]),
      { states: [], incidents: [incident], transitions: [{ type: 'opened', incident }] },
      { pastDue: false, openIncidents: 1 },
    );
    const opened = sent.events.find((e) => e.name === 'EndpointRegressed');
    expect(opened?.properties.fix).toContain('allow TCP 443 to eastus-gas.guestconfiguration.azure.com');
  });
});
