/**
 * The internet namespace's agent: every fake Azure endpoint on port 443 of its own address (one listener on all
 * addresses, behaviour chosen by the address the client dialled), the time server on UDP 123, and the hostile
 * peers. Latency is added here, per host, because the rig has no `tc netem`.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { websocketAnswer } from '../../helpers/websocketAnswer';
import type { RoleInstance } from '../ipc';
import type { Behaviour } from '../world';

/** One endpoint as the agent serves it. */
export interface SiteInit {
  name: string;
  /** Every address it answers on (public, and private when it has a private endpoint). */
  addresses: string[];
  status: number;
  behaviour: Behaviour;
  protocol: 'https' | 'ntp';
  /** PKCS#8 key and the certificate chain, leaf first (https only). */
  keyPem?: string;
  chainPem?: string;
}

export interface InternetInit {
  sites: SiteInit[];
}

export interface InternetStats {
  /** HTTP requests answered, per host. */
  requests: Record<string, number>;
  /** TCP connections accepted, per host. */
  connections: Record<string, number>;
  /** Body bytes written by endless-body hosts before their clients went away. */
  endlessBodyBytes: number;
  /** Bytes dripped by drip hosts. */
  drippedBytes: number;
  /** Endless or dripping responses still being written (should be 0 once the probe has given up). */
  openStreams: number;
  ntpQueries: number;
}

export interface InternetOps {
  /** Delays this host's HTTP answers by `ms` (time to first byte). */
  setLatency(arg: { host: string; ms: number }): void;
  stats(arg: null): InternetStats;
  /** Latencies back to 0, counters to 0. */
  reset(arg: null): void;
}

const REASONS: Record<number, string> = { 200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found' };
const MAX_REQUEST_HEAD = 16 * 1024;

interface Site extends SiteInit {
  context?: tls.SecureContext;
  latencyMs: number;
}

function azureBody(site: Site): string {
  if (site.status === 200) return JSON.stringify({ status: 'ok', host: site.name });
  const code = { 400: 'BadRequest', 401: 'Unauthorized', 404: 'NotFound' }[site.status] ?? 'Error';
  return JSON.stringify({
    error: { code, message: `fake ${site.name} answers anonymous requests with ${site.status}` },
  });
}

export function startInternet(init: InternetInit): Promise<RoleInstance<InternetOps>> {
  const byAddress = new Map<string, Site>();
  const byName = new Map<string, Site>();
  for (const s of init.sites) {
    const site: Site = {
      ...s,
      latencyMs: 0,
      ...(s.keyPem && s.chainPem ? { context: tls.createSecureContext({ key: s.keyPem, cert: s.chainPem }) } : {}),
    };
    byName.set(site.name, site);
    for (const address of site.addresses) byAddress.set(address, site);
  }
  const stats: InternetStats = {
    requests: {},
    connections: {},
    endlessBodyBytes: 0,
    drippedBytes: 0,
    openStreams: 0,
    ntpQueries: 0,
  };
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const respond = (site: Site, socket: tls.TLSSocket, head = '') => {
    // The relay hosts speak WebSocket (wss://), as Azure's do.
    const upgraded = websocketAnswer(head);
    if (upgraded) return void socket.end(upgraded);
    stats.requests[site.name] = (stats.requests[site.name] ?? 0) + 1;
    if (site.behaviour === 'drip') {
      const text = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Drip: ${'.'.repeat(200)}\r\n\r\n`);
      let at = 0;
      stats.openStreams++;
      const timer = setInterval(() => {
        if (socket.destroyed || at >= text.length) return;
        socket.write(text.subarray(at, ++at));
        stats.drippedBytes++;
      }, 1000);
      timers.add(timer);
      socket.once('close', () => {
        clearInterval(timer);
        timers.delete(timer);
        stats.openStreams--;
      });
      return;
    }
    if (site.behaviour === 'endless-body') {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
      const payload = Buffer.alloc(16 * 1024, 0x61);
      const chunk = Buffer.concat([Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from('\r\n')]);
      stats.openStreams++;
      socket.once('close', () => stats.openStreams--);
      const pump = () => {
        while (!socket.destroyed) {
          stats.endlessBodyBytes += payload.length;
          if (!socket.write(chunk)) {
            socket.once('drain', () => setImmediate(pump));
            return;
          }
        }
      };
      pump();
      return;
    }
    const send = () => {
      if (socket.destroyed) return;
      const body = azureBody(site);
      socket.end(
        `HTTP/1.1 ${site.status} ${REASONS[site.status] ?? 'Status'}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    };
    if (site.latencyMs > 0) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        send();
      }, site.latencyMs);
      timers.add(timer);
    } else {
      send();
    }
  };

  const server = net.createServer((raw) => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    raw.on('error', () => raw.destroy());
    const site = byAddress.get(raw.localAddress?.replace(/^::ffff:/, '') ?? '');
    if (!site?.context && site?.behaviour !== 'reset') {
      raw.destroy();
      return;
    }
    stats.connections[site.name] = (stats.connections[site.name] ?? 0) + 1;
    if (site.behaviour === 'reset' || !site.context) {
      raw.resetAndDestroy();
      return;
    }
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: site.context, ALPNProtocols: ['http/1.1'] });
    secure.on('error', () => secure.destroy());
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        secure.off('data', onData);
        secure.on('data', () => undefined);
        respond(site, secure, head);
      } else if (head.length > MAX_REQUEST_HEAD) {
        secure.destroy();
      }
    };
    secure.on('data', onData);
  });

  const ntpSockets: dgram.Socket[] = [];
  const startNtp = async (address: string) => {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (query, peer) => {
      if (query.length < 48) return;
      stats.ntpQueries++;
      socket.send(ntpAnswer(query), peer.port, peer.address);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(123, address, () => resolve());
    });
    ntpSockets.push(socket);
  };

  return (async () => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(443, '0.0.0.0', () => resolve());
    });
    for (const site of byName.values()) {
      if (site.protocol === 'ntp') for (const address of site.addresses) await startNtp(address);
    }
    return {
      ops: {
        setLatency({ host, ms }) {
          const site = byName.get(host);
          if (!site) throw new Error(`no site ${host}`);
          site.latencyMs = ms;
        },
        stats: () => structuredClone(stats),
        reset() {
          for (const site of byName.values()) site.latencyMs = 0;
          Object.assign(stats, { requests: {}, connections: {}, endlessBodyBytes: 0, drippedBytes: 0, ntpQueries: 0 });
        },
      },
      async close() {
        for (const timer of timers) clearTimeout(timer);
        for (const socket of sockets) socket.destroy();
        for (const socket of ntpSockets) socket.close();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  })();
}

/** Seconds between the NTP epoch (1900) and the Unix epoch. */
const NTP_EPOCH_OFFSET = 2_208_988_800;

function writeNtpTime(buffer: Buffer, offset: number, ms: number): void {
  const seconds = Math.floor(ms / 1000) + NTP_EPOCH_OFFSET;
  const fraction = Math.floor(((ms % 1000) / 1000) * 2 ** 32);
  buffer.writeUInt32BE(seconds >>> 0, offset);
  buffer.writeUInt32BE(fraction >>> 0, offset + 4);
}

/** An SNTPv4 server answer (mode 4, stratum 2) to a client query, with the server's true time. */
function ntpAnswer(query: Buffer): Buffer {
  const answer = Buffer.alloc(48);
  const now = Date.now();
  answer[0] = (0 << 6) | (4 << 3) | 4;
  answer[1] = 2;
  answer[2] = query[2] ?? 6;
  answer[3] = 0xe9;
  answer.write('RIG\0', 12, 'latin1');
  writeNtpTime(answer, 16, now - 60_000);
  query.copy(answer, 24, 40, 48);
  writeNtpTime(answer, 32, now);
  writeNtpTime(answer, 40, now);
  return answer;
}
