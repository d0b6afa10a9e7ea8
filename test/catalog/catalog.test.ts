import { describe, expect, it } from 'vitest';
import { AGENT_SERVICE_TAGS, CATALOG, SEED_CATALOG } from '../../lib/catalog/entries';
import { CLOUDS, SCENARIOS } from '../../lib/catalog/types';
import type { Requirement, Scenario } from '../../lib/catalog/types';

describe('CATALOG invariants', () => {
  it('has unique ids, stable in form (telemetry and table keys use them)', () => {
    const ids = CATALOG.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(
      ids.filter(
        (id) =>
          !/^(servers\.(azurecloud|azureusgovernment|azurechinacloud)|bridge|gateway|ama|defender|update-manager)\.[a-z0-9-]+$/.test(
            id,
          ),
      ),
    ).toEqual([]);
  });

  it('only uses service tags that seed 000 lists', () => {
    const tags = new Set(CATALOG.flatMap((e) => e.serviceTags));
    expect([...tags].filter((t) => !(AGENT_SERVICE_TAGS as readonly string[]).includes(t))).toEqual([]);
  });

  it.each([
    ['login.', 'AzureActiveDirectory'],
    ['pas', 'AzureActiveDirectory'],
    ['management.', 'AzureResourceManager'],
    ['*.his.arc.azure.', 'AzureArcInfrastructure'],
    ['*.guestconfiguration.azure.', 'AzureArcInfrastructure'],
    ['guestnotificationservice.azure.', 'AzureArcInfrastructure'],
    ['*.blob.core.', 'Storage'],
  ])('gives rows starting %s the %s tag', (prefix, tag) => {
    const rows = CATALOG.filter((e) => e.hostPattern.startsWith(prefix));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter((e) => !e.serviceTags.includes(tag)).map((e) => e.id)).toEqual([]);
  });

  it('puts every agent row in the scenario its requirement implies', () => {
    const implied: Record<Requirement, Scenario> = {
      always: 'servers',
      'always-unless-private-endpoints': 'servers',
      installation: 'onboarding',
      'connect-disconnect': 'onboarding',
      'ssh-admin-center': 'ssh-admin-center',
      optional: 'optional',
      conditional: 'servers',
    };
    // Seed rows only: rows beyond the seeds belong to the scenario the customer turns on (gateway, esu, sql, ...).
    const wrong = SEED_CATALOG.filter(
      (e) => e.agent === 'connected-machine' && e.scenarios[0] !== implied[e.requirement],
    );
    expect(wrong.map((e) => e.id)).toEqual([]);
  });

  it('selects extension management rows (guest configuration, notification, extension download) for extensions', () => {
    const extensions = SEED_CATALOG.filter((e) => e.scenarios.includes('extensions') && e.cloud === 'AzureCloud');
    expect(extensions.map((e) => e.hostPattern)).toEqual([
      '*.guestconfiguration.azure.com',
      'guestnotificationservice.azure.com',
      '*.guestnotificationservice.azure.com',
      'azgn*.servicebus.windows.net',
      '*.blob.core.windows.net',
    ]);
  });

  it('uses only known scenarios and clouds, and every cloud has agent rows', () => {
    expect(CATALOG.flatMap((e) => e.scenarios).filter((s) => !(SCENARIOS as readonly string[]).includes(s))).toEqual(
      [],
    );
    for (const cloud of CLOUDS)
      expect(CATALOG.some((e) => e.cloud === cloud && e.agent === 'connected-machine')).toBe(true);
  });

  it('has one NTP row: time.windows.com over UDP 123', () => {
    const ntp = SEED_CATALOG.filter((e) => e.protocol === 'ntp' || e.transport === 'udp' || e.port !== 443);
    expect(ntp.map((e) => [e.hostPattern, e.port, e.transport, e.protocol])).toEqual([
      ['time.windows.com', 123, 'udp', 'ntp'],
    ]);
  });
});
