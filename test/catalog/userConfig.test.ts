import { describe, expect, it } from 'vitest';
import { CATALOG } from '../../lib/catalog/entries';
import { expandTargets } from '../../lib/catalog/expand';
import { applyUserConfig, ConfigError, parseUserConfig, userEntries } from '../../lib/catalog/userConfig';

/** The problems a bad file produces (fails the test if it parses). */
function problemsOf(text: string, source = 'endpoints.json'): string[] {
  try {
    parseUserConfig(text, source);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

function applyProblems(text: string): string[] {
  try {
    applyUserConfig(CATALOG, parseUserConfig(text, 'endpoints.json'));
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const SCENARIO_LIST =
  'servers, onboarding, resource-bridge, ssh-admin-center, extensions, optional, gateway, esu, sql, ama, defender, update-manager, wac, all';

describe('parseUserConfig rejects bad files with every problem and its path', () => {
  it.each<[string, string, string[]]>([
    [
      'several problems at once',
      `{
        "version": 2,
        "scenarios": ["servers", "everything"],
        "endpoints": [
          { "host": "proxy.contoso.com", "purpose": "Proxy" },
          { "host": "*.contoso.com", "port": 70000, "purpose": "" }
        ]
      }`,
      [
        'endpoints.json: version: must be 1',
        `endpoints.json: scenarios[1]: must be one of ${SCENARIO_LIST}`,
        'endpoints.json: endpoints[1].host: "*.contoso.com" is a wildcard; give a concrete host name or IP address',
        'endpoints.json: endpoints[1].port: must be a whole number from 1 to 65535',
        'endpoints.json: endpoints[1].purpose: must not be empty: say why the endpoint matters',
      ],
    ],
    [
      'unknown keys, with a hint',
      `{ "version": 1, "endpionts": [], "colour": 1,
         "wildcards": { "hisPrefix": "weu", "blobAcounts": ["arcext"] },
         "endpoints": [{ "hots": "a.contoso.com", "host": "a.contoso.com", "purpose": "x" }] }`,
      [
        'endpoints.json: wildcards.hisPrefix: unknown key; known keys here: gatewayPrefix, workspaceId, hisRegionalPrefix, notificationHosts, blobAccounts, serviceBusNamespaces, hosts',
        'endpoints.json: wildcards.blobAcounts: unknown key; did you mean "blobAccounts"?',
        'endpoints.json: endpoints[0].hots: unknown key; did you mean "host"?',
        'endpoints.json: endpionts: unknown key; did you mean "endpoints"?',
        'endpoints.json: colour: unknown key; known keys here: $schema, version, scenarios, wildcards, endpoints, exclude, privateRanges',
      ],
    ],
    [
      'bad ports',
      `{ "version": 1, "endpoints": [
        { "host": "a.contoso.com", "port": 0, "purpose": "a" },
        { "host": "b.contoso.com", "port": 443.5, "purpose": "b" },
        { "host": "c.contoso.com", "port": "443", "purpose": "c" },
        { "host": "d.contoso.com", "port": 65536, "purpose": "d" },
        { "host": "e.contoso.com", "port": 65535, "purpose": "e" }
      ] }`,
      [0, 1, 2, 3].map((i) => `endpoints.json: endpoints[${i}].port: must be a whole number from 1 to 65535`),
    ],
    [
      'missing and mistyped values',
      `{ "endpoints": [{ "port": 443 }, 5], "exclude": "servers.azurecloud.blob" }`,
      [
        'endpoints.json: version: is required',
        'endpoints.json: endpoints[0].host: is required',
        'endpoints.json: endpoints[0].purpose: is required',
        'endpoints.json: endpoints[1]: must be an object with at least host and purpose',
        'endpoints.json: exclude: must be a list of catalog ids or host patterns',
      ],
    ],
    ['not an object', '[]', ['endpoints.json: must be a JSON object such as {"version": 1}']],
    [
      'wildcard values',
      `{ "version": 1, "wildcards": {
          "hisRegionalPrefix": "West Europe",
          "notificationHosts": ["*.servicebus.windows.net"],
          "blobAccounts": ["Arc_Ext"],
          "serviceBusNamespaces": [],
          "hosts": { "pypi.org": ["pypi.org"], "*.pypi.org": ["files.pythonhosted.org", "upload.pypi.org"] } } }`,
      [
        'endpoints.json: wildcards.hisRegionalPrefix: must be a short region code such as eus or weu (lower-case letters and digits)',
        'endpoints.json: wildcards.notificationHosts[0]: "*.servicebus.windows.net" is not a DNS host name (no wildcards, no IP addresses)',
        'endpoints.json: wildcards.blobAccounts[0]: must be a storage account name: 3 to 24 lower-case letters and digits',
        'endpoints.json: wildcards.serviceBusNamespaces: must list at least one namespace name',
        'endpoints.json: wildcards.hosts["pypi.org"]: is not a wildcard pattern; add concrete hosts under endpoints instead',
        'endpoints.json: wildcards.hosts["*.pypi.org"][0]: "files.pythonhosted.org" does not match *.pypi.org',
      ],
    ],
    [
      'transport, protocol and enumerations',
      `{ "version": 1, "endpoints": [
        { "host": "time.contoso.com", "protocol": "ntp", "transport": "tcp", "purpose": "t" },
        { "host": "a.contoso.com", "transport": "udp", "protocol": "https", "purpose": "u" },
        { "host": "10.0.0.1", "purpose": "p", "httpPath": "health", "requirement": "sometimes",
          "inspection": "maybe", "privateLink": "yes", "id": "has space" },
        { "host": "not a host", "purpose": "q" }
      ] }`,
      [
        'endpoints.json: endpoints[0].transport: must be udp (or left out) for the ntp protocol',
        'endpoints.json: endpoints[1].protocol: must be ntp (or left out) over udp',
        'endpoints.json: endpoints[2].id: must be 1 to 128 letters, digits, dot, colon, dash or underscore, starting with a letter or digit',
        'endpoints.json: endpoints[2].requirement: must be one of always, always-unless-private-endpoints, connect-disconnect, installation, ssh-admin-center, conditional, optional',
        'endpoints.json: endpoints[2].privateLink: must be one of private, public, public-unless-arm-private-link, not-used, not-applicable',
        'endpoints.json: endpoints[2].inspection: must be tolerated or not-tolerated',
        'endpoints.json: endpoints[2].httpPath: must be a path starting with / (no spaces)',
        'endpoints.json: endpoints[3].host: "not a host" is not a DNS host name such as proxy.contoso.com or an IP address',
      ],
    ],
    [
      'duplicate ids, explicit or default',
      `{ "version": 1, "endpoints": [
        { "host": "a.contoso.com", "purpose": "a" },
        { "host": "A.contoso.com", "port": 443, "purpose": "same host, same port" },
        { "id": "custom.a.contoso.com.443", "host": "b.contoso.com", "purpose": "same id" }
      ] }`,
      [
        'endpoints.json: endpoints[1].id: "custom.a.contoso.com.443" is already used by endpoints[0]',
        'endpoints.json: endpoints[2].id: "custom.a.contoso.com.443" is already used by endpoints[0]',
      ],
    ],
  ])('%s', (_name, text, expected) => {
    expect(problemsOf(text)).toEqual(expected);
  });

  it.each([
    [
      'a trailing comma',
      '{ "version": 1,\n  "endpoints": [\n    { "host": "a.contoso.com", }\n  ]\n}',
      'Expected double-quoted property name at line 3, column 32',
    ],
    ['an empty setting', '', 'the text ends before the JSON does at line 1, column 1'],
    ['a cut-off file', '{ "version": 1,\n  "exclude": [', 'the text ends before the JSON does at line 2, column 15'],
  ])('reports invalid JSON (%s) once, with its position', (_name, text, detail) => {
    expect(problemsOf(text, 'ARCMON_ENDPOINTS_JSON')).toEqual([`ARCMON_ENDPOINTS_JSON: not valid JSON: ${detail}`]);
  });

  it('throws one error whose message lists every problem', () => {
    expect(() => parseUserConfig('{"version": 3, "x": 1}', 'endpoints.json')).toThrow(
      'Invalid endpoints configuration:\n  - endpoints.json: version: must be 1\n  - endpoints.json: x: unknown key; known keys here: $schema, version, scenarios, wildcards, endpoints, exclude, privateRanges',
    );
  });
});

const GOOD = `{
  "$schema": "./endpoints.schema.json",
  "version": 1,
  "scenarios": ["servers", "extensions"],
  "wildcards": {
    "hisRegionalPrefix": "weu",
    "blobAccounts": ["arcextweu"],
    "hosts": { "*.guestnotificationservice.azure.com": ["westeurope.guestnotificationservice.azure.com"] }
  },
  "endpoints": [
    { "host": "Proxy.Contoso.com", "port": 3128, "protocol": "tcp", "purpose": "Outbound proxy" },
    { "id": "ntp-dc", "host": "10.1.2.3", "protocol": "ntp", "purpose": "Domain controller time", "requirement": "conditional" },
    { "host": "login.microsoftonline.com", "purpose": "Tenant discovery", "httpPath": "/common/discovery/instance",
      "inspection": "not-tolerated", "privateLink": "public" }
  ],
  "exclude": ["servers.azurecloud.telemetry", "*.servicebus.windows.net"]
}`;

describe('a good file', () => {
  it('parses with defaults applied', () => {
    expect(parseUserConfig(GOOD, 'endpoints.json')).toEqual({
      source: 'endpoints.json',
      version: 1,
      scenarios: ['servers', 'extensions'],
      wildcards: {
        hisRegionalPrefix: 'weu',
        blobAccounts: ['arcextweu'],
        hosts: { '*.guestnotificationservice.azure.com': ['westeurope.guestnotificationservice.azure.com'] },
      },
      endpoints: [
        {
          id: 'custom.proxy.contoso.com.3128',
          host: 'proxy.contoso.com',
          port: 3128,
          transport: 'tcp',
          protocol: 'tcp',
          purpose: 'Outbound proxy',
          requirement: 'always',
          privateLink: 'public',
          inspection: 'tolerated',
          genuineCa: 'public',
        },
        {
          id: 'ntp-dc',
          host: '10.1.2.3',
          port: 123,
          transport: 'udp',
          protocol: 'ntp',
          purpose: 'Domain controller time',
          requirement: 'conditional',
          privateLink: 'public',
          inspection: 'tolerated',
          genuineCa: 'public',
        },
        {
          id: 'custom.login.microsoftonline.com.443',
          host: 'login.microsoftonline.com',
          port: 443,
          transport: 'tcp',
          protocol: 'https',
          purpose: 'Tenant discovery',
          requirement: 'always',
          privateLink: 'public',
          inspection: 'not-tolerated',
          genuineCa: 'public',
          httpPath: '/common/discovery/instance',
        },
      ],
      exclude: ['servers.azurecloud.telemetry', '*.servicebus.windows.net'],
      privateRanges: [],
    });
  });

  it('an empty configuration is valid and changes nothing', () => {
    const cfg = parseUserConfig('{"version": 1}', 'ARCMON_ENDPOINTS_JSON');
    expect(cfg).toEqual({
      source: 'ARCMON_ENDPOINTS_JSON',
      version: 1,
      wildcards: {},
      endpoints: [],
      exclude: [],
      privateRanges: [],
    });
    expect(applyUserConfig(CATALOG, cfg)).toEqual(CATALOG);
  });

  it('applies: excluded rows go, custom endpoints join every cloud, and expansion uses its wildcards', () => {
    const cfg = parseUserConfig(GOOD, 'endpoints.json');
    const catalog = applyUserConfig(CATALOG, cfg);
    expect(catalog.filter((e) => e.id === 'servers.azurecloud.telemetry')).toEqual([]);
    expect(catalog.filter((e) => e.hostPattern === '*.servicebus.windows.net')).toEqual([]);
    // The telemetry row, and the two *.servicebus.windows.net rows (SSH/WAC in seed 000, the bridge's control channel).
    expect(catalog.length).toBe(CATALOG.length - 3 + 3 * 3);
    expect(
      userEntries(cfg)
        .filter((e) => e.id === 'ntp-dc')
        .map((e) => e.cloud),
    ).toEqual(['AzureCloud', 'AzureUSGovernment', 'AzureChinaCloud']);

    const { targets, skipped } = expandTargets(catalog, {
      cloud: 'AzureCloud',
      region: 'westeurope',
      scenarios: ['servers'],
      wildcards: cfg.wildcards,
    });
    expect(targets.map((t) => t.id)).toEqual([
      'agentserviceapi.guestconfiguration.azure.com:443',
      'gbl.his.arc.azure.com:443',
      'guestnotificationservice.azure.com:443',
      'login.microsoftonline.com:443',
      'login.windows.net:443',
      'pas.windows.net:443',
      'proxy.contoso.com:3128',
      'westeurope-gas.guestconfiguration.azure.com:443',
      'westeurope.guestnotificationservice.azure.com:443',
      'westeurope.login.microsoft.com:443',
      'weu.his.arc.azure.com:443',
      // always-unless-private-endpoints ranks after always; conditional after that.
      'arcextweu.blob.core.windows.net:443',
      '10.1.2.3:123/udp',
    ]);
    expect(targets.find((t) => t.host === 'login.microsoftonline.com')).toMatchObject({
      entryIds: ['servers.azurecloud.login-microsoftonline', 'custom.login.microsoftonline.com.443'],
      inspection: 'not-tolerated',
      httpPath: '/common/discovery/instance',
    });
    expect(skipped.map((s) => s.hostPattern)).toEqual(['azgn*.servicebus.windows.net']);
  });
});

describe('applyUserConfig refuses a half-applicable configuration', () => {
  it('names every exclude that matches nothing, every reused catalog id and every unknown wildcard', () => {
    expect(
      applyProblems(`{ "version": 1,
        "wildcards": { "hosts": { "*.pypi.org": ["upload.pypi.org"], "*.his.arc.azure.co": ["eus.his.arc.azure.co"], "*.example.org": ["a.example.org"] } },
        "endpoints": [{ "id": "servers.azurecloud.his", "host": "eus.his.arc.azure.com", "purpose": "mine" }],
        "exclude": ["servers.azurecloud.telemetry", "servers.azurecloud.telemetri", "*.blob.core.windows.com"] }`),
    ).toEqual([
      'endpoints.json: exclude[1]: "servers.azurecloud.telemetri" matches no catalog id, host pattern or concrete host of the catalog',
      'endpoints.json: exclude[2]: "*.blob.core.windows.com" matches no catalog id, host pattern or concrete host of the catalog',
      'endpoints.json: endpoints[0].id: "servers.azurecloud.his" is already a catalog id; choose another',
      'endpoints.json: wildcards.hosts["*.his.arc.azure.co"]: is not a wildcard pattern of the catalog; did you mean "*.his.arc.azure.com"?',
      'endpoints.json: wildcards.hosts["*.example.org"]: is not a wildcard pattern of the catalog',
    ]);
  });
});
