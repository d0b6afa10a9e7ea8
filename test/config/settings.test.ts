import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSettings, SettingsError } from '../../lib/config/settings';
import { createRoot, type Issued } from '../helpers/pki';

/** The settings an Azure deployment always has; each test adds the ones it is about. */
const AZURE = {
  ARCMON_REGION: 'westeurope',
  ARCMON_SITE: 'hub-westeurope',
  ARCMON_TABLE_ENDPOINT: 'https://account.table.core.windows.net',
} as const;

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseSettings({ ...AZURE, ...env });
  } catch (err) {
    if (err instanceof SettingsError) return err.problems;
    throw err;
  }
  throw new Error('the settings parsed');
}

const fingerprints = (pem: string | undefined): string[] =>
  (pem ?? '').split(/(?<=-----END CERTIFICATE-----\n)/).map((p) => new X509Certificate(p).fingerprint256);

let proxyRoot: Issued;
let labRoot: Issued;

beforeAll(async () => {
  proxyRoot = await createRoot('Contoso Inspection Root');
  labRoot = await createRoot('Contoso Lab Root');
});

describe('ARCMON_EXPECTED_ROOTS_PEM holds the PEM text of the roots', () => {
  it.each([
    ['as written in a PEM file', (a: string) => a],
    ['with Windows line ends', (a: string) => a.replace(/\n/g, '\r\n')],
    ['flattened to one line by the portal or azd env set', (a: string) => a.replace(/\s*\n\s*/g, ' ')],
    ['with \\n escapes', (a: string) => a.replace(/\n/g, '\\n')],
  ])('accepts one root %s', (_, shape) => {
    const settings = parseSettings({ ...AZURE, ARCMON_EXPECTED_ROOTS_PEM: shape(proxyRoot.certPem) });
    expect(fingerprints(settings.ARCMON_EXPECTED_ROOTS_PEM)).toEqual([proxyRoot.fingerprint256]);
    expect(settings.ARCMON_EXPECTED_ROOTS_PEM?.split('\n').every((line) => line.length <= 64)).toBe(true);
  });

  it('accepts several roots with comments between them, and keeps only the certificates', () => {
    const text = `# inspection proxy\n${proxyRoot.certPem}\n# lab\n${labRoot.certPem}\n`;
    const settings = parseSettings({ ...AZURE, ARCMON_EXPECTED_ROOTS_PEM: text });
    expect(fingerprints(settings.ARCMON_EXPECTED_ROOTS_PEM)).toEqual([
      proxyRoot.fingerprint256,
      labRoot.fingerprint256,
    ]);
    expect(settings.ARCMON_EXPECTED_ROOTS_PEM).not.toContain('#');
  });

  it.each(['', '   '])('treats %j as unset', (value) => {
    expect(parseSettings({ ...AZURE, ARCMON_EXPECTED_ROOTS_PEM: value }).ARCMON_EXPECTED_ROOTS_PEM).toBeUndefined();
  });

  const NOT_PEM =
    'ARCMON_EXPECTED_ROOTS_PEM must hold the PEM text of the root certificates, not a file path; set it to the contents of the PEM file (one or more -----BEGIN CERTIFICATE----- blocks), or give arcmon run the file with --expected-roots FILE';

  it.each(['/etc/roots.pem', 'C:\\certs\\roots.pem', 'roots.pem', 'MIIBszCCAVmgAwIBAgIU'])(
    'refuses %j, which is not PEM certificates, saying what to put there',
    (value) => {
      expect(problemsOf({ ARCMON_EXPECTED_ROOTS_PEM: value })).toEqual([NOT_PEM]);
    },
  );

  it('reports every certificate that cannot be parsed, by its place', () => {
    const notBase64 = '-----BEGIN CERTIFICATE-----\nthis is not base64!\n-----END CERTIFICATE-----';
    const notX509 = `-----BEGIN CERTIFICATE-----\n${Buffer.from('not a certificate').toString('base64')}\n-----END CERTIFICATE-----`;
    expect(problemsOf({ ARCMON_EXPECTED_ROOTS_PEM: `${proxyRoot.certPem}${notBase64}\n${notX509}\n` })).toEqual([
      'ARCMON_EXPECTED_ROOTS_PEM: certificate 2 of 3 cannot be parsed (its body is not base64); give each certificate whole, from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----',
      'ARCMON_EXPECTED_ROOTS_PEM: certificate 3 of 3 cannot be parsed (it is not an X.509 certificate); give each certificate whole, from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----',
    ]);
  });

  it('reports a certificate cut short', () => {
    const [head, body = ''] = proxyRoot.certPem.split('\n-----END');
    const truncated = `${(head ?? '').slice(0, -40)}\n-----END${body}`;
    expect(problemsOf({ ARCMON_EXPECTED_ROOTS_PEM: truncated })).toEqual([
      'ARCMON_EXPECTED_ROOTS_PEM: certificate 1 of 1 cannot be parsed (it is not an X.509 certificate); give each certificate whole, from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----',
    ]);
  });
});

describe('ARCMON_TELEMETRY_AUTH', () => {
  it('sends with a Microsoft Entra ID token unless told otherwise', () => {
    expect(parseSettings(AZURE).ARCMON_TELEMETRY_AUTH).toBe('entra');
    expect(parseSettings({ ...AZURE, ARCMON_TELEMETRY_AUTH: 'key' }).ARCMON_TELEMETRY_AUTH).toBe('key');
  });

  it.each(['aad', 'Entra', ''])('refuses %j', (value) => {
    expect(problemsOf({ ARCMON_TELEMETRY_AUTH: value })).toEqual([
      'ARCMON_TELEMETRY_AUTH must be entra (send with a Microsoft Entra ID token, the default) or key (instrumentation key only, for an Application Insights resource that accepts local authentication)',
    ]);
  });
});
