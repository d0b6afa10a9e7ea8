/**
 * The rig's DNS server: the customer's DNS forwarder, on a namespace address and port 53 over UDP and TCP
 * (RFC 1035 wire format). It serves a zone of A and CNAME records, follows CNAME chains inside the zone the way a
 * recursive resolver hands them back, truncates over UDP (TC) when an answer does not fit so clients retry over TCP,
 * and can misbehave per name (NXDOMAIN, SERVFAIL, silence, a malformed packet, hundreds of records).
 */
import dgram from 'node:dgram';
import net from 'node:net';

/** How the server answers one name. */
export type ZoneRecord =
  | { A?: string[]; CNAME?: string }
  | 'nxdomain'
  | 'servfail'
  | 'silent'
  /** An answer whose header promises a record the packet cuts short. */
  | 'malformed'
  /** `count` A records `<base>.<hi>.<lo>` (base is two octets, e.g. `198.19`): too big for UDP. */
  | { manyA: { count: number; base: string } };

/** A mutable zone; names are case-insensitive, without the trailing dot. */
export class Zone {
  private readonly records = new Map<string, ZoneRecord>();

  constructor(initial: Record<string, ZoneRecord> = {}) {
    for (const [name, record] of Object.entries(initial)) this.set(name, record);
  }

  get(name: string): ZoneRecord | undefined {
    return this.records.get(normalise(name));
  }

  /** Sets a name's answer; `undefined` removes it (NXDOMAIN). */
  set(name: string, record: ZoneRecord | undefined): void {
    if (record === undefined) this.records.delete(normalise(name));
    else this.records.set(normalise(name), record);
  }

  /** The A addresses a client ends up with (CNAMEs followed), as a proxy resolving through this server would. */
  resolveA(name: string): string[] {
    return chase(this, name).addresses;
  }
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

const TYPE_A = 1;
const TYPE_CNAME = 5;
const TYPE_OPT = 41;
const CLASS_IN = 1;
const RCODE = { noerror: 0, servfail: 2, nxdomain: 3 } as const;
const MAX_CNAME_CHAIN = 8;

interface Chased {
  /** CNAME records in chain order: owner → target. */
  cnames: { owner: string; target: string }[];
  /** The name the addresses belong to (last in the chain). */
  owner: string;
  addresses: string[];
  /** What ended the chain when it is not an address set. */
  terminal?: Exclude<ZoneRecord, { A?: string[]; CNAME?: string }>;
}

function chase(zone: Zone, name: string): Chased {
  const cnames: Chased['cnames'] = [];
  let owner = normalise(name);
  for (let hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
    const record = zone.get(owner) ?? 'nxdomain';
    if (typeof record === 'string' || 'manyA' in record) {
      if (typeof record === 'object') {
        const { count, base } = record.manyA;
        const addresses = Array.from({ length: count }, (_, i) => `${base}.${((i + 1) >> 8) & 0xff}.${(i + 1) & 0xff}`);
        return { cnames, owner, addresses };
      }
      return { cnames, owner, addresses: [], terminal: record };
    }
    if (record.CNAME === undefined) return { cnames, owner, addresses: record.A ?? [] };
    const target = normalise(record.CNAME);
    cnames.push({ owner, target });
    owner = target;
  }
  return { cnames, owner, addresses: [], terminal: 'servfail' };
}

interface Query {
  id: number;
  flags: number;
  name: string;
  type: number;
  qclass: number;
  question: Buffer;
  ednsUdpSize?: number;
}

function parseQuery(packet: Buffer): Query {
  if (packet.length < 12) throw new Error('short header');
  const flags = packet.readUInt16BE(2);
  if (flags & 0x8000 || packet.readUInt16BE(4) !== 1) throw new Error('not a single-question query');
  const labels: string[] = [];
  let cursor = 12;
  for (;;) {
    const length = packet.readUInt8(cursor);
    if (length === 0) break;
    if (length > 63 || cursor + 1 + length > packet.length) throw new Error('bad label');
    labels.push(packet.toString('latin1', cursor + 1, cursor + 1 + length));
    cursor += 1 + length;
  }
  cursor += 1;
  const query: Query = {
    id: packet.readUInt16BE(0),
    flags,
    name: labels.join('.'),
    type: packet.readUInt16BE(cursor),
    qclass: packet.readUInt16BE(cursor + 2),
    question: packet.subarray(12, cursor + 4),
  };
  // A client's OPT record (EDNS) sits right after the question: root name, type 41, class = UDP payload size.
  const additional = packet.readUInt16BE(10);
  const opt = cursor + 4;
  if (additional > 0 && packet.length >= opt + 11 && packet[opt] === 0 && packet.readUInt16BE(opt + 1) === TYPE_OPT) {
    query.ednsUdpSize = packet.readUInt16BE(opt + 3);
  }
  return query;
}

function encodeName(name: string): Buffer {
  const labels = normalise(name)
    .split('.')
    .filter(Boolean)
    .map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'latin1')]));
  return Buffer.concat([...labels, Buffer.from([0])]);
}

function record(owner: Buffer, type: number, rdata: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(CLASS_IN, 2);
  fixed.writeUInt32BE(30, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([owner, fixed, rdata]);
}

function header(q: Query, rcode: number, answers: number, additional: number, truncated = false): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(q.id, 0);
  // QR, RD echoed, RA; TC when the answer did not fit.
  head.writeUInt16BE(0x8000 | (truncated ? 0x0200 : 0) | (q.flags & 0x0100) | 0x0080 | rcode, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(answers, 6);
  head.writeUInt16BE(additional, 10);
  return head;
}

const OPT = (() => {
  const opt = Buffer.alloc(11);
  opt.writeUInt16BE(TYPE_OPT, 1);
  opt.writeUInt16BE(1232, 3);
  return opt;
})();

/** The reply to one query, or undefined to stay silent. */
function reply(zone: Zone, packet: Buffer, transport: 'udp' | 'tcp', unknown: Set<string>): Buffer | undefined {
  let q: Query;
  try {
    q = parseQuery(packet);
  } catch {
    return undefined;
  }
  if (zone.get(q.name) === undefined) unknown.add(normalise(q.name));
  const extra = q.ednsUdpSize !== undefined ? [OPT] : [];
  const chased = chase(zone, q.name);
  if (chased.terminal === 'silent') return undefined;
  if (chased.terminal === 'malformed') {
    const cut = record(encodeName(q.name), TYPE_A, Buffer.from([198, 18, 0, 1])).subarray(0, -2);
    return Buffer.concat([header(q, RCODE.noerror, 1, 0), q.question, cut]);
  }
  const answers: Buffer[] = [];
  if (q.qclass === CLASS_IN) {
    for (const c of chased.cnames) answers.push(record(encodeName(c.owner), TYPE_CNAME, encodeName(c.target)));
    if (q.type === TYPE_A) {
      const owner = encodeName(chased.owner);
      for (const ip of chased.addresses) answers.push(record(owner, TYPE_A, Buffer.from(ip.split('.').map(Number))));
    }
  }
  const rcode =
    chased.terminal === 'nxdomain' ? RCODE.nxdomain : chased.terminal === 'servfail' ? RCODE.servfail : RCODE.noerror;
  const full = Buffer.concat([header(q, rcode, answers.length, extra.length), q.question, ...answers, ...extra]);
  const limit = transport === 'tcp' ? 0xffff : Math.min(4096, Math.max(512, q.ednsUdpSize ?? 512));
  if (full.length <= limit) return full;
  return Buffer.concat([header(q, rcode, 0, extra.length, true), q.question, ...extra]);
}

export interface ZoneServer {
  /** Queries answered or ignored so far. */
  readonly queries: () => number;
  /** Names asked for that the zone does not hold (answered NXDOMAIN), in order of first query. */
  readonly unknownNames: () => string[];
  close(): Promise<void>;
}

/** Serves `zone` on `host:port` over UDP and TCP. */
export async function startZoneServer(opts: { host: string; port: number; zone: Zone }): Promise<ZoneServer> {
  let queries = 0;
  const unknown = new Set<string>();
  const udp = dgram.createSocket('udp4');
  udp.on('message', (packet, peer) => {
    queries++;
    const answer = reply(opts.zone, packet, 'udp', unknown);
    if (answer) udp.send(answer, peer.port, peer.address);
  });
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const message = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + message.length);
        queries++;
        const answer = reply(opts.zone, message, 'tcp', unknown);
        if (!answer) continue;
        const prefix = Buffer.alloc(2);
        prefix.writeUInt16BE(answer.length);
        socket.write(Buffer.concat([prefix, answer]));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(opts.port, opts.host, () => resolve());
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(opts.port, opts.host, () => resolve());
  });
  return {
    queries: () => queries,
    unknownNames: () => [...unknown],
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}
