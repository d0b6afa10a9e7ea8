/**
 * The root CAs genuine Azure TLS chains end at, by SHA-256 fingerprint (uppercase colon hex, as Node's
 * `X509Certificate.fingerprint256`). A chain ending anywhere else is being re-signed: TLS inspection.
 *
 * The values were read from Node's own bundled store (`tls.rootCertificates`, Node 20.20) by subject CN, not
 * typed from memory; test/probes/roots.test.ts checks each against that store on every run.
 *
 * Baltimore CyberTrust Root (the legacy root older Azure chains used until 2022) is deliberately absent: it
 * expired in May 2025 and is no longer in Node's store, so its fingerprint could not be confirmed here.
 */
export const GENUINE_AZURE_ROOTS: ReadonlyMap<string, string> = new Map([
  [
    'CB:3C:CB:B7:60:31:E5:E0:13:8F:8D:D3:9A:23:F9:DE:47:FF:C3:5E:43:C1:14:4C:EA:27:D4:6A:5A:B1:CB:5F',
    'DigiCert Global Root G2',
  ],
  [
    '43:48:A0:E9:44:4C:78:CB:26:5E:05:8D:5E:89:44:B4:D8:4F:96:62:BD:26:DB:25:7F:89:34:A4:43:C7:01:61',
    'DigiCert Global Root CA',
  ],
  [
    '31:AD:66:48:F8:10:41:38:C7:38:F3:9E:A4:32:01:33:39:3E:3A:18:CC:02:29:6E:F9:7C:2A:C9:EF:67:31:D0',
    'DigiCert Global Root G3',
  ],
  [
    'C7:41:F7:0F:4B:2A:8D:88:BF:2E:71:C1:41:22:EF:53:EF:10:EB:A0:CF:A5:E6:4C:FA:20:F4:18:85:30:73:E0',
    'Microsoft RSA Root Certificate Authority 2017',
  ],
  [
    '35:8D:F3:9D:76:4A:F9:E1:B7:66:E9:C9:72:DF:35:2E:E1:5C:FA:C2:27:AF:6A:D1:D7:0E:8E:4A:6E:DC:BA:02',
    'Microsoft ECC Root Certificate Authority 2017',
  ],
]);
