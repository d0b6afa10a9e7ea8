import dgram from 'node:dgram';

/**
 * A real SNTP server for tests (RFC 4330 server side) on a loopback UDP port. Its clock is the machine's plus
 * `skewMs`, and it can misbehave the ways time servers and middleboxes do.
 */

/**
 * - `ok`: a valid server reply.
 * - `silent`: reads the request, never answers.
 * - `malformed`: answers 12 bytes, shorter than an NTP header.
 * - `kod`: a kiss-of-death (stratum 0, reference id `RATE`).
 * - `wrong-origin`: a valid-looking reply whose origin timestamp does not echo the request.
 */
export type NtpTestMode = 'ok' | 'silent' | 'malformed' | 'kod' | 'wrong-origin';

export interface NtpTestServerOptions {
  /** Added to the machine's clock. Default 0. */
  skewMs?: number;
  /** Stratum in valid replies. Default 2. */
  stratum?: number;
  /** Default `ok`. */
  mode?: NtpTestMode;
  /** A 127.0.0.0/8 address. Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (any free port); 123 serves the catalog's time server as it is (root only). */
  port?: number;
}

export interface NtpTestServer {
  readonly host: string;
  readonly port: number;
  /** Requests received, answered or not. */
  readonly requests: number;
  setMode(mode: NtpTestMode): void;
  setSkew(skewMs: number): void;
  close(): Promise<void>;
}

const NTP_EPOCH_OFFSET_S = 2_208_988_800;

function writeTimestamp(buffer: Buffer, offset: number, unixMs: number): void {
  const seconds = Math.floor(unixMs / 1000);
  buffer.writeUInt32BE((seconds + NTP_EPOCH_OFFSET_S) >>> 0, offset);
  buffer.writeUInt32BE(Math.floor(((unixMs - seconds * 1000) / 1000) * 2 ** 32) >>> 0, offset + 4);
}

export async function startNtpServer(options: NtpTestServerOptions = {}): Promise<NtpTestServer> {
  let skewMs = options.skewMs ?? 0;
  let mode: NtpTestMode = options.mode ?? 'ok';
  const stratum = options.stratum ?? 2;
  let requests = 0;
  const socket = dgram.createSocket('udp4');
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port ?? 0, host, () => resolve());
  });

  socket.on('message', (request, peer) => {
    const received = Date.now() + skewMs;
    requests++;
    if (mode === 'silent' || request.length < 48) return;
    if (mode === 'malformed') {
      socket.send(Buffer.alloc(12, 0x24), peer.port, peer.address);
      return;
    }
    const reply = Buffer.alloc(48);
    const version = (request.readUInt8(0) >> 3) & 0x07;
    const kiss = mode === 'kod';
    // LI (3 = unsynchronised for a kiss), version echoed, mode 4 (server).
    reply.writeUInt8(((kiss ? 3 : 0) << 6) | (version << 3) | 4, 0);
    reply.writeUInt8(kiss ? 0 : stratum, 1);
    reply.writeUInt8(request.readUInt8(2), 2);
    reply.writeInt8(-20, 3);
    reply.writeUInt32BE(0x00000010, 8);
    if (kiss) reply.write('RATE', 12, 'latin1');
    else if (stratum === 1) reply.write('GPS\0', 12, 'latin1');
    else Buffer.from([192, 0, 2, 1]).copy(reply, 12);
    writeTimestamp(reply, 16, received - 60_000);
    request.copy(reply, 24, 40, 48);
    if (mode === 'wrong-origin') reply.writeUInt32BE((reply.readUInt32BE(28) + 1) >>> 0, 28);
    writeTimestamp(reply, 32, received);
    writeTimestamp(reply, 40, Date.now() + skewMs);
    socket.send(reply, peer.port, peer.address);
  });

  return {
    host,
    port: socket.address().port,
    get requests() {
      return requests;
    },
    setMode: (next) => void (mode = next),
    setSkew: (next) => void (skewMs = next),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
