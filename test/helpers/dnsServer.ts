import dgram from 'node:dgram';
import net from 'node:net';

/**
 * A real DNS server for tests: RFC 1035 wire format over UDP and TCP on one loopback port (port 0 picks it).
 * It answers A and AAAA from an in-memory zone and can misbehave on purpose, so probes meet the failures
 * they meet in the field (NXDOMAIN, SERVFAIL, REFUSED, silence, garbage, answers too big for UDP).
 */

/** How the server answers one name. */
export type DnsTestRecord =
  | {
      A?: string[];
      AAAA?: string[];
      /** Answer with a CNAME to this name first; the target's records follow when the zone has them. */
      CNAME?: string;
    }
  | 'nxdomain'
  | 'servfail'
  | 'refused'
  /** Read the query and never answer. */
  | 'silent'
  /** Answer with the right id and question, then an answer record cut short (rdlength beyond the packet). */
  | 'malformed'
  /** Answer A queries with this many A records (10.0.x.y): too big for UDP, so the client must retry over TCP. */
  | { many: number };

export interface DnsTestQuery {
  name: string;
  /** `A`, `AAAA`, `CNAME` or the numeric type. */
  type: string;
  transport: 'udp' | 'tcp';
}

export interface DnsTestServer {
  /** `127.0.0.1:PORT` (or `[::1]:PORT`), as `--dns-server` takes it. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** Every query read, in order. */
  readonly queries: DnsTestQuery[];
  set(name: string, record: DnsTestRecord): void;
  delete(name: string): void;
  close(): Promise<void>;
}

export interface DnsTestServerOptions {
  /** Loopback address to bind. Default `127.0.0.1`. */
  host?: '127.0.0.1' | '::1';
  /** Answer for names not in the zone. Default `nxdomain`. */
  unknown?: DnsTestRecord;
  /**
   * Query types read and never answered, for any name: `['AAAA']` is the server (or firewall) that drops AAAA
   * queries. Default none.
   */
  drop?: ('A' | 'AAAA')[];
}

const TYPE_A = 1;
const TYPE_CNAME = 5;
const TYPE_AAAA = 28;
const TYPE_OPT = 41;
const CLASS_IN = 1;
const RCODE = { noerror: 0, servfail: 2, nxdomain: 3, refused: 5 } as const;
const TYPE_NAMES: Record<number, string> = { [TYPE_A]: 'A', [TYPE_CNAME]: 'CNAME', [TYPE_AAAA]: 'AAAA' };

interface Query {
  id: number;
  /** Flags word of the query: the RD bit is echoed. */
  flags: number;
  name: string;
  type: number;
  qclass: number;
  /** The question section, echoed in the answer. */
  question: Buffer;
  /** EDNS UDP payload size the client advertised; absent without an OPT record. */
  ednsUdpSize?: number;
}

/** Starts a DNS server on a loopback port shared by UDP and TCP. */
export async function startDnsServer(
  zone: Record<string, DnsTestRecord> = {},
  options: DnsTestServerOptions = {},
): Promise<DnsTestServer> {
  const host = options.host ?? '127.0.0.1';
  const unknown = options.unknown ?? 'nxdomain';
  const records = new Map<string, DnsTestRecord>();
  for (const [name, record] of Object.entries(zone)) records.set(normalise(name), record);
  const queries: DnsTestQuery[] = [];

  const answer = (packet: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined => {
    let query: Query;
    try {
      query = parseQuery(packet);
    } catch {
      return undefined;
    }
    const type = TYPE_NAMES[query.type] ?? String(query.type);
    queries.push({ name: query.name, type, transport });
    if ((options.drop as string[] | undefined)?.includes(type)) return undefined;
    const record = records.get(normalise(query.name)) ?? unknown;
    return respond(query, record, records, transport);
  };

  const { udp, tcp } = await bindBoth(host);
  udp.on('message', (packet, peer) => {
    const reply = answer(packet, 'udp');
    if (reply) udp.send(reply, peer.port, peer.address);
  });
  const sockets = new Set<net.Socket>();
  tcp.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) break;
        const packet = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        const reply = answer(packet, 'tcp');
        if (reply) {
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(reply.length);
          socket.write(Buffer.concat([prefix, reply]));
        }
      }
    });
  });

  const port = udp.address().port;
  return {
    address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    host,
    port,
    queries,
    set: (name, record) => void records.set(normalise(name), record),
    delete: (name) => void records.delete(normalise(name)),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** UDP takes port 0; TCP must then get the same number, which another process may hold: try again. */
async function bindBoth(host: string): Promise<{ udp: dgram.Socket; tcp: net.Server }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const tcp = net.createServer();
    const bound = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(udp.address().port, host, () => resolve(true));
    });
    if (bound) return { udp, tcp };
    await new Promise<void>((resolve) => udp.close(() => resolve()));
  }
  throw new Error(`could not bind UDP and TCP to one port on ${host}`);
}

/** Reads a possibly compressed name at `offset`; returns it and the offset just past it in the original stream. */
function readName(packet: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let cursor = offset;
  let next: number | undefined;
  for (let jumps = 0; ;) {
    const length = packet.readUInt8(cursor);
    if ((length & 0xc0) === 0xc0) {
      if (++jumps > 32) throw new Error('compression loop');
      const pointer = packet.readUInt16BE(cursor) & 0x3fff;
      next ??= cursor + 2;
      cursor = pointer;
      continue;
    }
    if ((length & 0xc0) !== 0) throw new Error('bad label type');
    if (length === 0) {
      next ??= cursor + 1;
      break;
    }
    if (cursor + 1 + length > packet.length) throw new Error('label beyond packet');
    labels.push(packet.toString('latin1', cursor + 1, cursor + 1 + length));
    cursor += 1 + length;
  }
  return { name: labels.join('.'), next };
}

function parseQuery(packet: Buffer): Query {
  if (packet.length < 12) throw new Error('short header');
  const flags = packet.readUInt16BE(2);
  if (flags & 0x8000) throw new Error('not a query');
  if (packet.readUInt16BE(4) !== 1) throw new Error('expected one question');
  const { name, next } = readName(packet, 12);
  const type = packet.readUInt16BE(next);
  const qclass = packet.readUInt16BE(next + 2);
  // Echoed written out in full (case kept): a pointer copied from the query would point elsewhere in the answer.
  const question = Buffer.concat([encodeName(name, { keepCase: true }), packet.subarray(next, next + 4)]);
  const query: Query = { id: packet.readUInt16BE(0), flags, name, type, qclass, question };
  // Skip answer and authority records to find an OPT record in the additional section.
  let cursor = next + 4;
  const skip = packet.readUInt16BE(6) + packet.readUInt16BE(8);
  const additional = packet.readUInt16BE(10);
  for (let i = 0; i < skip + additional; i++) {
    const rr = readName(packet, cursor);
    const rrType = packet.readUInt16BE(rr.next);
    const rrClass = packet.readUInt16BE(rr.next + 2);
    const rdLength = packet.readUInt16BE(rr.next + 8);
    if (i >= skip && rrType === TYPE_OPT) query.ednsUdpSize = rrClass;
    cursor = rr.next + 10 + rdLength;
  }
  return query;
}

function encodeName(name: string, { keepCase = false } = {}): Buffer {
  const parts = (keepCase ? name.replace(/\.$/, '') : normalise(name))
    .split('.')
    .filter((label) => label.length > 0)
    .map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'latin1')]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

function ipv4Bytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

function ipv6Bytes(ip: string): Buffer {
  const [head = '', tail] = ip.split('::');
  const groups = (text: string) => (text === '' ? [] : text.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  const bytes = Buffer.alloc(16);
  [...left, ...zeros, ...right].forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2));
  return bytes;
}

/** One resource record; the owner is a pointer to the question name or a name written in full. */
function resourceRecord(owner: Buffer, type: number, rdata: Buffer, ttl = 60): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(CLASS_IN, 2);
  fixed.writeUInt32BE(ttl, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([owner, fixed, rdata]);
}

const POINTER_TO_QUESTION = Buffer.from([0xc0, 0x0c]);

function optRecord(): Buffer {
  const opt = Buffer.alloc(11);
  opt.writeUInt16BE(TYPE_OPT, 1);
  opt.writeUInt16BE(1232, 3);
  return opt;
}

function header(query: Query, rcode: number, counts: { an: number; ar: number }, truncated = false): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(query.id, 0);
  // QR=1, opcode 0, AA=1, TC as asked, RD echoed, RA=1.
  head.writeUInt16BE(0x8000 | 0x0400 | (truncated ? 0x0200 : 0) | (query.flags & 0x0100) | 0x0080 | rcode, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(counts.an, 6);
  head.writeUInt16BE(counts.ar, 10);
  return head;
}

function respond(
  query: Query,
  record: DnsTestRecord,
  records: ReadonlyMap<string, DnsTestRecord>,
  transport: 'udp' | 'tcp',
): Buffer | undefined {
  if (record === 'silent') return undefined;
  const edns = query.ednsUdpSize !== undefined;
  const additional = edns ? [optRecord()] : [];
  const build = (rcode: number, answers: Buffer[]): Buffer =>
    Buffer.concat([
      header(query, rcode, { an: answers.length, ar: additional.length }),
      query.question,
      ...answers,
      ...additional,
    ]);

  if (record === 'nxdomain' || record === 'servfail' || record === 'refused') return build(RCODE[record], []);
  if (record === 'malformed') {
    // An A record that claims 255 bytes of data and carries none.
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(TYPE_A, 0);
    fixed.writeUInt16BE(CLASS_IN, 2);
    fixed.writeUInt32BE(60, 4);
    fixed.writeUInt16BE(255, 8);
    return Buffer.concat([header(query, RCODE.noerror, { an: 1, ar: 0 }), query.question, POINTER_TO_QUESTION, fixed]);
  }

  const answers: Buffer[] = [];
  if (query.qclass === CLASS_IN) {
    if ('many' in record) {
      if (query.type === TYPE_A) {
        for (let i = 0; i < record.many; i++) {
          answers.push(resourceRecord(POINTER_TO_QUESTION, TYPE_A, Buffer.from([10, 0, (i >> 8) & 0xff, i & 0xff])));
        }
      }
    } else {
      let owner: Buffer = POINTER_TO_QUESTION;
      let current = record;
      if (current.CNAME !== undefined && query.type !== TYPE_CNAME) {
        answers.push(resourceRecord(owner, TYPE_CNAME, encodeName(current.CNAME)));
        owner = encodeName(current.CNAME);
        const target = records.get(normalise(current.CNAME));
        current = typeof target === 'object' && !('many' in target) ? target : {};
      } else if (current.CNAME !== undefined) {
        answers.push(resourceRecord(owner, TYPE_CNAME, encodeName(current.CNAME)));
      }
      if (query.type === TYPE_A)
        for (const ip of current.A ?? []) answers.push(resourceRecord(owner, TYPE_A, ipv4Bytes(ip)));
      if (query.type === TYPE_AAAA) {
        for (const ip of current.AAAA ?? []) answers.push(resourceRecord(owner, TYPE_AAAA, ipv6Bytes(ip)));
      }
    }
  }
  const full = build(RCODE.noerror, answers);
  const limit = transport === 'tcp' ? 0xffff : Math.max(512, query.ednsUdpSize ?? 512);
  if (full.length <= limit) return full;
  // Too big for this transport: question only, TC set, so the client retries over TCP.
  return Buffer.concat([
    header(query, RCODE.noerror, { an: 0, ar: additional.length }, true),
    query.question,
    ...additional,
  ]);
}
