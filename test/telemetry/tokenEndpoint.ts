import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A managed identity token endpoint on loopback, shaped like App Service's (what Azure Functions runs on):
 * `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=...[&client_id=...]` with the secret `IDENTITY_HEADER`
 * in `X-IDENTITY-HEADER`. @azure/identity's ManagedIdentityCredential (through MSAL) uses it whenever the two
 * environment variables are set, so a test can hand a real credential chain a real token without leaving the machine.
 *
 * Each identity gets its own token (`tokenFor`), so a test can tell which identity a request was made with.
 */
export interface TokenRequest {
  resource: string | null;
  /** `client_id` of a user-assigned identity; null for the system-assigned one. */
  clientId: string | null;
  /** The request carried the right X-IDENTITY-HEADER. */
  secretOk: boolean;
  status: number;
}

export interface TokenEndpoint {
  /** What to put in the environment of the process whose credential should use this endpoint. */
  readonly env: { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string };
  readonly requests: readonly TokenRequest[];
  /** The access token this endpoint issues to an identity (`undefined`: the system-assigned one). */
  tokenFor(clientId?: string): string;
  /** Answers requests for this user-assigned identity as App Service does for one not assigned to the app. */
  refuse(clientId: string): void;
  /** While set, answers every request with this status (a token service that is down); `null` recovers. */
  fail(status: number | null): void;
  close(): Promise<void>;
}

/**
 * @param opts.jwt issue JWT-shaped tokens (unsigned: the header says `none`) with the requested resource as audience,
 * an Entra ID issuer and an hour of lifetime, as a service that checks them (Azurite's `--oauth basic`) expects.
 */
export async function startTokenEndpoint(opts: { jwt?: boolean } = {}): Promise<TokenEndpoint> {
  const secret = `identity-header-${Math.random().toString(16).slice(2)}`;
  const requests: TokenRequest[] = [];
  const refused = new Set<string>();
  let failing: number | null = null;
  const plainToken = (clientId?: string | null) => `entra-token-for-${clientId ?? 'system-assigned'}`;
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const jwtFor = (clientId: string | null, resource: string) => {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      aud: resource.replace(/\/\.default$/, '').replace(/\/$/, ''),
      iss: 'https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/',
      iat: now - 60,
      nbf: now - 60,
      exp: now + 3600,
      oid: plainToken(clientId),
    };
    return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.${Buffer.from('unsigned').toString('base64url')}`;
  };
  const tokenFor = plainToken;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const clientId = url.searchParams.get('client_id');
    const secretOk = req.headers['x-identity-header'] === secret;
    const answer = (status: number, body: Record<string, unknown>) => {
      requests.push({ resource: url.searchParams.get('resource'), clientId, secretOk, status });
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (!secretOk) return answer(401, { statusCode: 401, message: 'X-IDENTITY-HEADER is missing or wrong' });
    if (failing !== null) return answer(failing, { statusCode: failing, message: 'the identity service is down' });
    if (clientId !== null && refused.has(clientId)) {
      return answer(400, {
        statusCode: 400,
        message: 'No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId.',
        correlationId: '00000000-0000-0000-0000-000000000000',
      });
    }
    const resource = url.searchParams.get('resource') ?? '';
    answer(200, {
      access_token: opts.jwt ? jwtFor(clientId, resource) : tokenFor(clientId),
      expires_on: String(Math.floor(Date.now() / 1000) + 3600),
      resource,
      token_type: 'Bearer',
      client_id: clientId ?? '11111111-1111-1111-1111-111111111111',
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    env: { IDENTITY_ENDPOINT: `http://127.0.0.1:${port}/msi/token`, IDENTITY_HEADER: secret },
    requests,
    tokenFor: (clientId) => tokenFor(clientId),
    refuse: (clientId) => void refused.add(clientId),
    fail: (status) => {
      failing = status;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
