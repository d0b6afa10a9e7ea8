/**
 * The gateway namespace's agent: what a customer's edge runs beside its firewall. The DNS forwarder the monitor's
 * resolv.conf names, an explicit CONNECT proxy that can be made to demand authentication or refuse, a broken proxy
 * that answers garbage, and a TLS-inspecting proxy that re-signs traffic with the customer's own CA (the firewall
 * redirects chosen hosts to it, transparently, with a DNAT rule).
 */
import net from 'node:net';
import tls from 'node:tls';
import type { RoleInstance } from '../ipc';
import { Zone, startZoneServer, type ZoneRecord } from '../zoneDns';

export type ProxyMode = 'open' | 'auth' | 'refuse';

export interface GatewayInit {
  /** The gateway's LAN address: every service listens here. */
  listen: string;
  dnsPort: number;
  proxyPort: number;
  garbageProxyPort: number;
  inspectorPort: number;
  zone: Record<string, ZoneRecord>;
  /** Per host, the inspecting CA's key and chain (leaf first) it presents instead of the real one. */
  inspection: Record<string, { keyPem: string; chainPem: string }>;
  /** The CA the inspector trusts upstream (the real, Azure-like root). */
  upstreamCaPem: string;
  /** `user:password` the proxy accepts in `auth` mode. */
  proxyCredentials: string;
}

export interface GatewayStats {
  dnsQueries: number;
  /** Names the forwarder was asked for that the rig's world does not have. */
  unknownNames: string[];
  /** CONNECT requests per mode they met. */
  proxy: Record<ProxyMode, number>;
  garbageAnswers: number;
  /** Connections the inspector re-signed, per host. */
  inspected: Record<string, number>;
}

export interface GatewayOps {
  /** Sets (or with null removes) zone records. */
  setRecords(arg: { records: Record<string, ZoneRecord | null> }): void;
  setProxyMode(arg: { mode: ProxyMode }): void;
  stats(arg: null): GatewayStats;
}

const MAX_HEAD = 16 * 1024;

/** Reads an HTTP request head from `socket`; resolves with it and whatever followed. */
function readHead(socket: net.Socket): Promise<{ head: string; rest: Buffer } | undefined> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end >= 0) {
        socket.off('data', onData);
        socket.pause();
        resolve({ head: buffered.subarray(0, end).toString('latin1'), rest: buffered.subarray(end + 4) });
      } else if (buffered.length > MAX_HEAD) {
        socket.destroy();
        resolve(undefined);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => resolve(undefined));
  });
}

export async function startGateway(init: GatewayInit): Promise<RoleInstance<GatewayOps>> {
  const zone = new Zone(init.zone);
  const dns = await startZoneServer({ host: init.listen, port: init.dnsPort, zone });
  let mode: ProxyMode = 'open';
  const stats: Omit<GatewayStats, 'dnsQueries' | 'unknownNames'> = {
    proxy: { open: 0, auth: 0, refuse: 0 },
    garbageAnswers: 0,
    inspected: {},
  };
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const expectedAuth = `Basic ${Buffer.from(init.proxyCredentials).toString('base64')}`;

  const proxy = net.createServer((client) => {
    track(client);
    void readHead(client).then((request) => {
      if (!request) return;
      const [line = '', ...headerLines] = request.head.split('\r\n');
      const target = /^CONNECT ([^\s:]+):(\d+) HTTP\/1\.[01]$/.exec(line);
      if (!target) {
        client.end('HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      stats.proxy[mode]++;
      const auth = headerLines.find((h) => h.toLowerCase().startsWith('proxy-authorization:'));
      if (mode === 'auth' && auth?.slice(auth.indexOf(':') + 1).trim() !== expectedAuth) {
        client.end(
          'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="contoso-edge"\r\n' +
            'Content-Length: 0\r\nConnection: close\r\n\r\n',
        );
        return;
      }
      if (mode === 'refuse') {
        client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      const host = target[1] ?? '';
      const address = zone.resolveA(host)[0];
      if (!address) {
        client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      const upstream = net.connect({ host: address, port: Number(target[2]) });
      track(upstream);
      upstream.once('connect', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (request.rest.length > 0) upstream.write(request.rest);
        client.pipe(upstream).pipe(client);
        client.resume();
      });
      upstream.once('error', () => {
        if (!client.destroyed) client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      });
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
  });

  const garbage = net.createServer((client) => {
    track(client);
    client.once('data', () => {
      stats.garbageAnswers++;
      client.end(Buffer.from('\x00\xff\x13garbage from a broken proxy \xfe\xfd\r\n\r\n', 'latin1'));
    });
  });

  const contexts = new Map(
    Object.entries(init.inspection).map(([host, pem]) => [
      host,
      tls.createSecureContext({ key: pem.keyPem, cert: pem.chainPem }),
    ]),
  );
  const inspector = tls.createServer(
    {
      SNICallback: (servername, callback) => {
        const context = contexts.get(servername.toLowerCase());
        if (context) callback(null, context);
        else callback(new Error(`no inspection certificate for ${servername}`));
      },
    },
    (client) => {
      track(client);
      const host = client.servername || '';
      const address = zone.resolveA(host)[0];
      if (!host || !address) {
        client.destroy();
        return;
      }
      stats.inspected[host] = (stats.inspected[host] ?? 0) + 1;
      const upstream = tls.connect({ host: address, port: 443, servername: host, ca: [init.upstreamCaPem] });
      track(upstream);
      client.pipe(upstream).pipe(client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    },
  );
  inspector.on('tlsClientError', (_err, socket) => socket.destroy());

  const listen = (server: net.Server, port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, init.listen, () => resolve());
    });
  await listen(proxy, init.proxyPort);
  await listen(garbage, init.garbageProxyPort);
  await listen(inspector, init.inspectorPort);

  return {
    ops: {
      setRecords({ records }) {
        for (const [name, record] of Object.entries(records)) zone.set(name, record ?? undefined);
      },
      setProxyMode(arg) {
        mode = arg.mode;
      },
      stats: () => ({ ...structuredClone(stats), dnsQueries: dns.queries(), unknownNames: dns.unknownNames() }),
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await Promise.all([
        dns.close(),
        ...[proxy, garbage, inspector].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
      ]);
    },
  };
}
