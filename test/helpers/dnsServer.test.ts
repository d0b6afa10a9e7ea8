import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsTestServer } from './dnsServer';

/** Sends one raw datagram and returns the first reply, or undefined after `waitMs`. */
async function exchange(server: DnsTestServer, packet: Buffer, waitMs = 300): Promise<Buffer | undefined> {
  const socket = dgram.createSocket('udp4');
  try {
    return await new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), waitMs);
      socket.once('message', (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      socket.send(packet, server.port, server.host);
    });
  } finally {
    socket.close();
  }
}

const header = (id: number) => Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
const name = (...labels: string[]) =>
  Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
const typeA = Buffer.from([0, 1, 0, 1]);

describe('the test DNS server reads queries robustly', () => {
  let server: DnsTestServer;
  beforeAll(async () => {
    server = await startDnsServer({ 'gbl.his.arc.azure.com': { A: ['10.20.0.4'] } });
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers a plain query with the address', async () => {
    const reply = await exchange(
      server,
      Buffer.concat([header(0x1234), name('gbl', 'his', 'arc', 'azure', 'com'), typeA]),
    );
    expect(reply?.readUInt16BE(0)).toBe(0x1234);
    expect((reply?.readUInt16BE(2) ?? 0) & 0x000f).toBe(0);
    expect(reply?.readUInt16BE(6)).toBe(1);
    expect([...(reply?.subarray(-4) ?? [])]).toEqual([10, 20, 0, 4]);
  });

  it('ignores a name whose compression pointer loops, and keeps serving', async () => {
    const looping = Buffer.concat([header(0x0001), Buffer.from([0xc0, 12]), typeA]);
    expect(await exchange(server, looping)).toBeUndefined();
    const reply = await exchange(
      server,
      Buffer.concat([header(0x0002), name('GBL', 'his', 'arc', 'azure', 'com'), typeA]),
    );
    expect(reply?.readUInt16BE(6)).toBe(1);
    expect(server.queries.at(-1)).toEqual({ name: 'GBL.his.arc.azure.com', type: 'A', transport: 'udp' });
  });

  it('follows a compression pointer in the question', async () => {
    // Question name = "gbl" + pointer to "his.arc.azure.com" written after the question (an odd but legal layout).
    const tail = name('his', 'arc', 'azure', 'com');
    const question = Buffer.concat([Buffer.from([3]), Buffer.from('gbl'), Buffer.from([0xc0, 12 + 4 + 2 + 4]), typeA]);
    const reply = await exchange(server, Buffer.concat([header(0x0003), question, tail]));
    expect(server.queries.at(-1)?.name).toBe('gbl.his.arc.azure.com');
    expect([...(reply?.subarray(-4) ?? [])]).toEqual([10, 20, 0, 4]);
    // The echoed question is written out in full, so the answer's pointer to it (offset 12) stays valid.
    expect(reply?.subarray(12, 12 + 27)).toEqual(Buffer.concat([name('gbl', 'his', 'arc', 'azure', 'com'), typeA]));
  });
});
