/**
 * A real TLS + HTTP/1.1 server on loopback (port 0) whose misbehaviour is chosen per test: hangs, resets,
 * trickles, garbage. The TLS layer is started by hand on an accepted TCP socket so a handshake delay or a
 * "never start TLS" server is honest. One server answers for any SNI name (give the leaf many SANs, or
 * `identities` per name), so a benchmark can point hundreds of targets at one port.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { websocketAnswer } from './websocketAnswer';
import type { Issued } from './pki';

export type ServerBehaviour =
  | 'normal'
  /** Accepts TCP, never starts TLS. */
  | 'hang-after-accept'
  /** Completes TLS, never answers HTTP. */
  | 'hang-after-handshake'
  /** Sends headers, then the body one byte per `dripIntervalMs`. */
  | 'drip'
  /** Sends headers, then body bytes as fast as the client reads, forever. */
  | 'endless-body'
  /** Resets (RST) every accepted connection; the client may see it while connecting or at TLS. */
  | 'reset-on-accept'
  /** Resets (RST) once the ClientHello arrives, as a firewall filtering on SNI does. */
  | 'reset-on-hello'
  /** Completes TLS, answers the request with bytes that are not HTTP. */
  | 'garbage-http';

/** A certificate chain the server presents: leaf, then intermediates (the root is not sent, as in production). */
export interface ServerIdentity {
  leaf: Issued;
  intermediates?: Issued[];
}

export interface TlsServerOptions {
  identity: ServerIdentity;
  /** Per-SNI identities; names not listed get `identity`. */
  identities?: Record<string, ServerIdentity>;
  /** Default `TLSv1.2`. */
  minVersion?: tls.SecureVersion;
  /** Default `TLSv1.3`. */
  maxVersion?: tls.SecureVersion;
  /** OpenSSL cipher list; a TLS 1.0-only server needs `DEFAULT@SECLEVEL=0`. */
  ciphers?: string;
  /** Delay between TCP accept and the start of TLS. Default 0. */
  handshakeDelayMs?: number;
  /** Status of every response. Default 200. */
  httpStatus?: number;
  behaviour?: ServerBehaviour;
  /** Delay between the request and the response headers. Default 0. */
  responseDelayMs?: number;
  /** For `drip`. Default 1000. */
  dripIntervalMs?: number;
  /** A loopback address (any of 127.0.0.0/8, or ::1). Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (any free port). 443 on a 127.0.0.x address lets catalog targets be served as they are (root only). */
  port?: number;
}

export interface RequestSeen {
  servername: string | undefined;
  requestLine: string;
  hostHeader: string | undefined;
}

export interface TlsServer {
  readonly host: string;
  readonly port: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** SNI names of the ClientHellos received, in order. */
  readonly servernames: readonly string[];
  readonly requests: readonly RequestSeen[];
  setBehaviour(behaviour: ServerBehaviour): void;
  /** Destroys every open socket and stops listening. */
  close(): Promise<void>;
}

const REASONS: Record<number, string> = { 200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found' };

function contextFor(identity: ServerIdentity, opts: TlsServerOptions): tls.SecureContext {
  const chain = [identity.leaf.certPem, ...(identity.intermediates ?? []).map((i) => i.certPem)].join('\n');
  return tls.createSecureContext({
    cert: chain,
    key: identity.leaf.keyPem,
    minVersion: opts.minVersion ?? 'TLSv1.2',
    maxVersion: opts.maxVersion ?? 'TLSv1.3',
    ...(opts.ciphers === undefined ? {} : { ciphers: opts.ciphers }),
  });
}

export async function startTlsServer(opts: TlsServerOptions): Promise<TlsServer> {
  const host = opts.host ?? '127.0.0.1';
  let behaviour: ServerBehaviour = opts.behaviour ?? 'normal';
  const defaultContext = contextFor(opts.identity, opts);
  const named = new Map(Object.entries(opts.identities ?? {}).map(([name, id]) => [name, contextFor(id, opts)]));
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const servernames: string[] = [];
  const requests: RequestSeen[] = [];
  let connections = 0;

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const respond = (secure: tls.TLSSocket, requestHead: string) => {
    const lines = requestHead.split('\r\n');
    const hostLine = lines.find((l) => l.toLowerCase().startsWith('host:'));
    requests.push({
      servername: (secure as tls.TLSSocket & { servername?: string | false }).servername || undefined,
      requestLine: lines[0] ?? '',
      hostHeader: hostLine?.slice(5).trim(),
    });
    const status = opts.httpStatus ?? 200;
    const statusLine = `HTTP/1.1 ${status} ${REASONS[status] ?? 'Status'}`;
    switch (behaviour) {
      case 'hang-after-handshake':
        return;
      case 'garbage-http':
        secure.end('SSH-2.0-OpenSSH_9.6\r\n\x00\x01\x02 this is not HTTP\r\n\r\n');
        return;
      case 'drip': {
        secure.write(`${statusLine}\r\nServer: arcmon-test\r\nContent-Length: 100000\r\n\r\n`);
        const drip = () => {
          if (secure.destroyed) return;
          secure.write('x');
          later(opts.dripIntervalMs ?? 1000, drip);
        };
        drip();
        return;
      }
      case 'endless-body': {
        secure.write(`${statusLine}\r\nServer: arcmon-test\r\nTransfer-Encoding: chunked\r\n\r\n`);
        const chunk = `4000\r\n${'y'.repeat(0x4000)}\r\n`;
        const pump = () => {
          while (!secure.destroyed && secure.write(chunk));
        };
        secure.on('drain', pump);
        pump();
        return;
      }
      default: {
        // The relay hosts speak WebSocket (wss://), as Azure's do.
        const upgraded = websocketAnswer(requestHead);
        if (upgraded) return void secure.end(upgraded);
        const body = `{"status":${status}}`;
        secure.end(
          `${statusLine}\r\nServer: arcmon-test\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        );
      }
    }
  };

  const startTls = (socket: net.Socket) => {
    if (socket.destroyed) return;
    const secure = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext: defaultContext,
      SNICallback: (servername, callback) => {
        servernames.push(servername);
        callback(null, named.get(servername) ?? defaultContext);
      },
    });
    secure.on('error', () => secure.destroy());
    secure.once('secure', () => {
      if (behaviour === 'hang-after-handshake') {
        secure.resume();
        return;
      }
      let head = '';
      const onData = (chunk: Buffer) => {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        secure.removeListener('data', onData);
        const delay = opts.responseDelayMs ?? 0;
        if (delay > 0) later(delay, () => !secure.destroyed && respond(secure, head.slice(0, end)));
        else respond(secure, head.slice(0, end));
      };
      secure.on('data', onData);
    });
  };

  const server = net.createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    if (behaviour === 'reset-on-accept') {
      socket.resetAndDestroy();
      return;
    }
    // A hung server still drains its input so it notices the client closing (tests check for leaks that way).
    if (behaviour === 'hang-after-accept') {
      socket.resume();
      return;
    }
    if (behaviour === 'reset-on-hello') {
      socket.once('data', () => socket.resetAndDestroy());
      return;
    }
    const delay = opts.handshakeDelayMs ?? 0;
    if (delay > 0) later(delay, () => startTls(socket));
    else startTls(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    host,
    port,
    get connections() {
      return connections;
    },
    servernames,
    requests,
    setBehaviour(next) {
      behaviour = next;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Several servers with the same options (e.g. to spread a benchmark over a few ports). Close each. */
export async function startTlsServers(n: number, opts: TlsServerOptions): Promise<TlsServer[]> {
  return Promise.all(Array.from({ length: n }, () => startTlsServer(opts)));
}
