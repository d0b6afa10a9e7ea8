/**
 * A real HTTP CONNECT proxy on loopback (port 0). It tunnels only to loopback addresses: a requested name
 * must be mapped to 127.0.0.1 or ::1 in `hosts` (or be one of those literals), anything else gets 502. It
 * never opens a connection anywhere else.
 */
import * as net from 'node:net';

export type ProxyMode =
  /** Tunnels every request to a loopback destination. */
  | 'allow'
  /** 407 unless the request carries the configured Basic credentials, then as `allow`. */
  | 'auth'
  /** 403 to every CONNECT. */
  | 'refuse'
  /** Answers CONNECT with bytes that are not HTTP. */
  | 'garbage'
  /** Accepts the connection and the CONNECT, never answers. */
  | 'silent';

export interface ProxyServerOptions {
  mode?: ProxyMode;
  /** For `auth`. */
  credentials?: { username: string; password: string };
  /** Requested host name → loopback address to tunnel to. */
  hosts?: Record<string, string>;
}

export interface ProxyServer {
  readonly port: number;
  /** `http://127.0.0.1:port` */
  readonly url: string;
  /** Authorities of every CONNECT received, in order (e.g. `gbl.his.arc.azure.com:443`). */
  readonly authorities: readonly string[];
  /** Proxy-Authorization header values received (undefined where absent). */
  readonly authorizations: ReadonlyArray<string | undefined>;
  setMode(mode: ProxyMode): void;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1']);
const MAX_HEAD = 16 * 1024;

export async function startProxyServer(opts: ProxyServerOptions = {}): Promise<ProxyServer> {
  let mode: ProxyMode = opts.mode ?? 'allow';
  const sockets = new Set<net.Socket>();
  const authorities: string[] = [];
  const authorizations: Array<string | undefined> = [];
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const expectedAuth = opts.credentials
    ? `Basic ${Buffer.from(`${opts.credentials.username}:${opts.credentials.password}`).toString('base64')}`
    : undefined;

  const reply = (client: net.Socket, status: string, headers: string[] = []) =>
    client.end([`HTTP/1.1 ${status}`, ...headers, 'Content-Length: 0', '', ''].join('\r\n'));

  const tunnel = (client: net.Socket, authority: string, rest: Buffer) => {
    const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(authority);
    const name = match?.[1];
    const port = Number(match?.[2]);
    const address = name === undefined ? undefined : LOOPBACK.has(name) ? name : opts.hosts?.[name];
    if (address === undefined || !LOOPBACK.has(address)) {
      reply(client, '502 Bad Gateway', ['X-Reason: destination not allowed in tests']);
      return;
    }
    const upstream = net.connect({ host: address, port });
    track(upstream);
    upstream.once('error', () => {
      if (!client.destroyed) reply(client, '502 Bad Gateway');
    });
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection established\r\nProxy-Agent: arcmon-test\r\n\r\n');
      if (rest.length > 0) upstream.write(rest);
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  };

  const server = net.createServer((client) => {
    track(client);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (head.length > MAX_HEAD) client.destroy();
        return;
      }
      client.removeListener('data', onData);
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const rest = head.subarray(end + 4);
      const [method, authority] = (lines[0] ?? '').split(' ');
      const auth = lines
        .find((l) => l.toLowerCase().startsWith('proxy-authorization:'))
        ?.slice(20)
        .trim();
      if (method !== 'CONNECT' || authority === undefined) {
        reply(client, '405 Method Not Allowed');
        return;
      }
      authorities.push(authority);
      authorizations.push(auth);
      switch (mode) {
        case 'silent':
          return;
        case 'garbage':
          client.end('\x00\x15garbage, not HTTP at all\r\n\r\n');
          return;
        case 'refuse':
          reply(client, '403 Forbidden');
          return;
        case 'auth':
          if (auth !== expectedAuth) {
            reply(client, '407 Proxy Authentication Required', [
              'Proxy-Authenticate: Basic realm="arcmon-test"',
              'Proxy-Authenticate: Negotiate',
            ]);
            return;
          }
          tunnel(client, authority, rest);
          return;
        case 'allow':
          tunnel(client, authority, rest);
      }
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    authorities,
    authorizations,
    setMode(next) {
      mode = next;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
