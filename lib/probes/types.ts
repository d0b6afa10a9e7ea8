import type { GenuineCa, Target } from '../catalog/types';

/** Where a probe broke. */
export type Phase = 'config' | 'dns' | 'connect' | 'proxy' | 'tls' | 'http' | 'ntp';

/** Effect of a finding on the verdict. */
export type Severity = 'blocking' | 'degrading';

interface CodeInfo {
  phase: Phase;
  /** Default effect; TLS_INTERCEPTED is decided per target (see layered probe). */
  severity: Severity;
  /** One line for people: what it means and what to look at. */
  meaning: string;
}

/**
 * The closed set of failure codes. Stable strings: they are stored in tables, sent to Application Insights
 * and used by alert rules. Add codes only at the end; never rename one.
 */
export const FAILURE_CODES = {
  WILDCARD_UNRESOLVED: {
    phase: 'config',
    severity: 'blocking',
    meaning: 'wildcard host has no concrete name; set the named option',
  },
  DNS_NXDOMAIN: { phase: 'dns', severity: 'blocking', meaning: 'the DNS server says the name does not exist' },
  DNS_NO_ADDRESS: { phase: 'dns', severity: 'blocking', meaning: 'the name exists but has no A or AAAA record' },
  DNS_SERVFAIL: { phase: 'dns', severity: 'blocking', meaning: 'the DNS server failed or refused to answer' },
  DNS_TIMEOUT: { phase: 'dns', severity: 'blocking', meaning: 'no answer from the DNS server in time' },
  DNS_BAD_RESPONSE: { phase: 'dns', severity: 'blocking', meaning: 'the DNS answer could not be parsed' },
  ADDRESS_OUTSIDE_AZURE: {
    phase: 'dns',
    severity: 'degrading',
    meaning: 'an Azure-operated name resolved to a public address no Azure service tag covers (hijacked or filtered)',
  },
  PRIVATE_LINK_BYPASSED: {
    phase: 'dns',
    severity: 'blocking',
    meaning: 'private-link endpoint resolved to a public address',
  },
  TCP_REFUSED: {
    phase: 'connect',
    severity: 'blocking',
    meaning: 'connection refused: a firewall rejects it or nothing listens',
  },
  TCP_TIMEOUT: {
    phase: 'connect',
    severity: 'blocking',
    meaning: 'no answer to the connection attempt: a firewall drops it',
  },
  NET_UNREACHABLE: {
    phase: 'connect',
    severity: 'blocking',
    meaning: 'no route to the address (network or host unreachable)',
  },
  CONNECTION_RESET: { phase: 'tls', severity: 'blocking', meaning: 'the peer or a middlebox reset the connection' },
  PROXY_UNREACHABLE: { phase: 'proxy', severity: 'blocking', meaning: 'the proxy itself could not be reached' },
  PROXY_AUTH_REQUIRED: { phase: 'proxy', severity: 'blocking', meaning: 'the proxy demands authentication (407)' },
  PROXY_REFUSED: { phase: 'proxy', severity: 'blocking', meaning: 'the proxy refused to open a tunnel to this host' },
  PROXY_BAD_RESPONSE: {
    phase: 'proxy',
    severity: 'blocking',
    meaning: 'the proxy answered something that is not HTTP',
  },
  PROXY_TIMEOUT: { phase: 'proxy', severity: 'blocking', meaning: 'the proxy did not answer the CONNECT in time' },
  TLS_HANDSHAKE_FAILED: { phase: 'tls', severity: 'blocking', meaning: 'the TLS handshake failed' },
  TLS_TIMEOUT: { phase: 'tls', severity: 'blocking', meaning: 'the TLS handshake did not finish in time' },
  TLS_VERSION_BELOW_1_2: {
    phase: 'tls',
    severity: 'blocking',
    meaning: 'the server negotiates only TLS older than 1.2, which the agent refuses (lib/catalog/README.md)',
  },
  CERT_EXPIRED: { phase: 'tls', severity: 'blocking', meaning: 'the server certificate has expired' },
  CERT_NOT_YET_VALID: {
    phase: 'tls',
    severity: 'blocking',
    meaning: 'the server certificate is not valid yet (check the clock)',
  },
  CERT_NAME_MISMATCH: { phase: 'tls', severity: 'blocking', meaning: 'the certificate does not cover the host name' },
  CERT_UNTRUSTED: { phase: 'tls', severity: 'blocking', meaning: 'the chain does not lead to a trusted root' },
  TLS_INTERCEPTED: {
    phase: 'tls',
    severity: 'degrading',
    meaning: 'the chain ends at a root that is not genuine for this host: TLS inspection',
  },
  CERT_NEAR_EXPIRY: { phase: 'tls', severity: 'degrading', meaning: 'the server certificate expires soon' },
  HTTP_TIMEOUT: { phase: 'http', severity: 'blocking', meaning: 'no HTTP response in time' },
  HTTP_PROTOCOL_ERROR: { phase: 'http', severity: 'blocking', meaning: 'the peer did not answer with valid HTTP' },
  SLOW_RESPONSE: {
    phase: 'http',
    severity: 'degrading',
    meaning: 'the endpoint answered, but slower than the threshold',
  },
  NTP_TIMEOUT: { phase: 'ntp', severity: 'blocking', meaning: 'no NTP answer over UDP 123 in time' },
  NTP_BAD_RESPONSE: { phase: 'ntp', severity: 'blocking', meaning: 'the NTP answer was malformed or a kiss-of-death' },
  CLOCK_SKEW: {
    phase: 'ntp',
    severity: 'degrading',
    meaning: 'the local clock differs from the time server beyond the threshold',
  },
  DEADLINE_EXCEEDED: { phase: 'config', severity: 'blocking', meaning: 'the probe did not finish within its deadline' },
  WEBSOCKET_REFUSED: {
    phase: 'http',
    severity: 'blocking',
    meaning: 'HTTPS works, but the path refuses the WebSocket upgrade',
  },
  HTTP2_REFUSED: {
    phase: 'tls',
    severity: 'degrading',
    meaning: 'ALPN did not negotiate h2: the path downgrades HTTP/2',
  },
  DNS_PORT_UNREACHABLE: {
    phase: 'dns',
    severity: 'blocking',
    meaning: 'the configured DNS server does not answer on port 53',
  },
  DNS_FILTERED: {
    phase: 'dns',
    severity: 'blocking',
    meaning: 'a DNS filter answered a sinkhole address (0.0.0.0 or ::) instead of the service’s',
  },
  DNS_FAMILY_TIMEOUT: {
    phase: 'dns',
    severity: 'degrading',
    meaning: 'one address family (A or AAAA) got no answer in time; the other answered, so the agent goes on',
  },
  SOME_ADDRESSES_FAILED: {
    phase: 'connect',
    severity: 'degrading',
    meaning: 'some of the name’s addresses cannot be reached; the agent falls back to the ones that work',
  },
  INSPECTION_DEVICE_ANSWERED: {
    phase: 'http',
    severity: 'blocking',
    meaning: 'an inspecting device answered the request itself: it never reached the service',
  },
} as const satisfies Record<string, CodeInfo>;

export type FailureCode = keyof typeof FAILURE_CODES;
export const FAILURE_CODE_LIST = Object.keys(FAILURE_CODES) as FailureCode[];

/** One thing a probe found wrong. */
export interface Finding {
  code: FailureCode;
  phase: Phase;
  severity: Severity;
  /** Human reason, specific to this target (e.g. "refused by 10.0.0.4:443"). */
  message: string;
}

export type Verdict = 'reachable' | 'degraded' | 'blocked' | 'skipped';

export type AddressScope = 'private' | 'public' | 'loopback' | 'link-local' | 'cgnat' | 'unspecified';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
  scope: AddressScope;
}

export interface DnsFacts {
  addresses: ResolvedAddress[];
  /** Server used (`system` for the OS resolver). */
  server: string;
  /** True when the name was resolved only for reporting (an explicit proxy resolves it for us). */
  informational?: boolean;
  /**
   * CNAME targets from the name to the address records, in order (which `privatelink.*` zone answered); present
   * when a DNS server was asked directly under private-link mode.
   */
  cnames?: string[];
}

export interface CertificateFacts {
  subject: string;
  issuer: string;
  /** DNS names from subjectAltName. */
  sans: string[];
  validFrom: string;
  validTo: string;
  /** Uppercase hex with colons, as Node's `fingerprint256`. */
  fingerprint256: string;
  serialNumber: string;
}

export interface TlsFacts {
  sni: string;
  protocol: string;
  cipher: string;
  leaf: CertificateFacts;
  /** Leaf first, root last (as far as the peer sent it and the trust store completed it). */
  chain: CertificateFacts[];
  /**
   * `genuine`: the chain ends where a genuine chain for this host ends (see `expectedCa`). `anchoredBy`: the
   * trust store that holds the root (e.g. `OS store /etc/ssl/certs/ca-certificates.crt`, `NODE_EXTRA_CA_CERTS`,
   * `--expected-roots`); absent when no trusted store holds it.
   */
  root: CertificateFacts & { genuine: boolean; anchoredBy?: string };
  /** What a genuine chain for this host ends at (from the catalog entry). Default `microsoft`. */
  expectedCa?: GenuineCa;
  /** Set when the root is not genuine for this host: the CA that re-signed the traffic. */
  interceptedBy?: string;
  daysToExpiry: number;
}

export interface HttpFacts {
  status: number;
  /** Bytes of body read (bounded). */
  bodyBytes: number;
  server?: string;
}

export interface NtpFacts {
  /** Local clock minus server clock would be -offset; offset is what to add to local time. */
  offsetMs: number;
  stratum: number;
  roundTripMs: number;
  referenceId?: string;
}

/** One connection attempt to one address of the target's name. */
export interface AddressAttempt {
  address: string;
  family: 4 | 6;
  ok: boolean;
  /** Time to connect or to fail. */
  ms: number;
  /** Why it failed (a connect-phase code). */
  code?: FailureCode;
  message?: string;
}

/** Per-phase durations in milliseconds; absent where the phase did not run. */
export interface PhaseTimings {
  dns?: number;
  connect?: number;
  proxy?: number;
  tls?: number;
  firstByte?: number;
  ntp?: number;
  total: number;
}

/** One layered result per target. */
export interface ProbeResult {
  targetId: string;
  host: string;
  port: number;
  transport: 'tcp' | 'udp';
  verdict: Verdict;
  /** The finding that decided the verdict (first blocking, else first degrading); absent when reachable. */
  failure?: Finding;
  findings: Finding[];
  timings: PhaseTimings;
  dns?: DnsFacts;
  /** The address actually connected to (the proxy's, when one is used). */
  connectedAddress?: string;
  /** Direct probes: the outcome of every resolved address (the agent falls back between them). */
  addressAttempts?: AddressAttempt[];
  tls?: TlsFacts;
  http?: HttpFacts;
  ntp?: NtpFacts;
  /** Proxy URL used, credentials removed; absent when direct. */
  proxy?: string;
  startedAt: string;
}

/** DNS resolution as the probes need it. Errors are data. */
export type DnsAnswer =
  | {
      ok: true;
      addresses: string[];
      /** What answered, when it is not the resolver's label (e.g. `hosts file /etc/hosts`). */
      source?: string;
    }
  | {
      ok: false;
      code: 'DNS_NXDOMAIN' | 'DNS_NO_ADDRESS' | 'DNS_SERVFAIL' | 'DNS_TIMEOUT' | 'DNS_BAD_RESPONSE';
      message: string;
    };

export interface Resolver {
  /** Label for reports: `system` or `ip:port`. */
  readonly label: string;
  resolve(host: string, family: 4 | 6, signal: AbortSignal): Promise<DnsAnswer>;
  /**
   * The CNAME chain from `host` (each target in order; [] when the name has none), where this resolver can see it
   * (a DNS server asked directly). Undefined when it cannot be learned.
   */
  cnameChain?(host: string, signal: AbortSignal): Promise<string[] | undefined>;
}

export interface ProxyConfig {
  /** http://[user:pass@]host:port */
  url: URL;
  /** NO_PROXY entries: host names, `.suffix`, `*`, IPs, CIDRs. */
  noProxy: string[];
}

export interface TrustConfig {
  /**
   * CA certificates (PEM) used to verify chains, as the agent would: the operating system's store, then
   * NODE_EXTRA_CA_CERTS, then `--expected-roots`. `stores` says which slice of `ca` came from where.
   */
  ca: string[];
  /** Consecutive slices of `ca`, in order: a label for reports and how many certificates it holds. */
  stores: readonly { label: string; count: number }[];
  /** SHA-256 fingerprints (uppercase, colon-separated) of the roots genuine Microsoft-operated chains end at. */
  genuineRoots: ReadonlySet<string>;
  /**
   * Fingerprints of publicly trusted roots (Node's bundled Mozilla store unless given): where a genuine chain of
   * a third-party host (`genuineCa: public`) may end. The expected roots count here too.
   */
  publicRoots: ReadonlySet<string>;
}

export interface ProbeThresholds {
  /** A response slower than this (first byte after TLS) is degraded. Default 3000. */
  slowMs: number;
  /** A certificate expiring within this many days is degraded. Default 14. */
  certExpiryWarnDays: number;
  /** Absolute clock offset beyond which NTP is degraded. Default 1000 (ms). */
  clockSkewMs: number;
}

/** Everything a probe needs; built once per cycle by the runner. */
export interface ProbeContext {
  resolver: Resolver;
  trust: TrustConfig;
  proxy?: ProxyConfig;
  privateLinkMode: boolean;
  /**
   * Extra CIDR ranges that count as private endpoint addresses under private-link mode, beyond RFC 1918 and
   * fc00::/7 (VNets may use other space). Validated at the edge (`parsePrivateRanges`). Default none.
   */
  privateRanges?: string[];
  thresholds: ProbeThresholds;
  /**
   * The per-target deadline the runner enforces through the signal, in ms; the dialer shares it between a
   * name's addresses as Go's does. Default 10000.
   */
  timeoutMs?: number;
  /** Cap on HTTP body bytes read. Default 4096. */
  maxBodyBytes: number;
  now: () => Date;
}

export type ProbeFn = (target: Target, ctx: ProbeContext, signal: AbortSignal) => Promise<ProbeResult>;
