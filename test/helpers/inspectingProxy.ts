/**
 * A TLS-inspecting CONNECT proxy on loopback, as an enterprise inspection device behaves: it accepts CONNECT,
 * terminates the client's TLS with a certificate from its own CA (offering only http/1.1 by ALPN, so HTTP/2 is
 * downgraded), reads each request head and, unless it refuses it, opens its own TLS connection to the origin and
 * relays both ways. With `refuseUpgrade` it answers a request carrying `Upgrade:` with 403 and closes. It only
 * ever connects to the loopback addresses in `hosts`.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Issued } from './pki';

export interface InspectingProxyOptions {
  /** Requested host name → loopback address of the origin. */
  hosts: Record<string, string>;
  /** Leaf (for the requested names) and intermediates the proxy presents, issued by its inspection CA. */
  leaf: Issued;
  intermediates: Issued[];
  /** Answer `Upgrade:` requests with 403 instead of relaying them. Default false. */
  refuseUpgrade?: boolean;
}

export interface InspectingProxy {
  readonly url: string;
  /** Request lines seen inside the tunnels, with `(upgrade)` when the request asked for one. */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

export async function startInspectingProxy(opts: InspectingProxyOptions): Promise<InspectingProxy> {
  const sockets = new Set<net.Socket>();
  const requests: string[] = [];
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const cert = [opts.leaf.certPem, ...opts.intermediates.map((i) => i.certPem)].join('\n');

  const inspect = (client: net.Socket, authority: string) => {
    const [host = '', portText = '443'] = authority.split(':');
    const address = opts.hosts[host];
    const inner = new tls.TLSSocket(client, {
      isServer: true,
      key: opts.leaf.keyPem,
      cert,
      ALPNProtocols: ['http/1.1'],
    });
    track(inner);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      inner.off('data', onData);
      const text = head.subarray(0, end).toString('latin1');
      const upgrade = /^upgrade:/im.test(text);
      requests.push(`${text.split('\r\n')[0] ?? ''}${upgrade ? ' (upgrade)' : ''}`);
      if ((upgrade && opts.refuseUpgrade) || address === undefined) {
        inner.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      const origin = tls.connect({
        host: address,
        port: Number(portText),
        servername: host,
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      });
      track(origin);
      origin.write(head);
      origin.pipe(inner);
      inner.pipe(origin);
    };
    inner.on('data', onData);
  };

  const server = net.createServer((client) => {
    track(client);
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      client.off('data', onData);
      const authority = /^CONNECT (\S+) HTTP\/1\.[01]/.exec(buffered.toString('latin1'))?.[1];
      if (!authority) {
        client.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      inspect(client, authority);
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
