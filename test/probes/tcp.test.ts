import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFailure, connectTcp } from '../../lib/probes/tcp';
import { startStalledListener } from '../helpers/stalledListener';
import type { StalledListener } from '../helpers/stalledListener';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('connectTcp', () => {
  let server: net.Server;
  let port: number;
  beforeAll(async () => {
    server = net.createServer((socket) => socket.end('hello'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('connects to a listening port and hands over the socket', async () => {
    const result = await connectTcp('127.0.0.1', port, AbortSignal.timeout(5000));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const greeting = await new Promise<string>((resolve) =>
      result.socket.once('data', (d: Buffer) => resolve(d.toString())),
    );
    result.socket.destroy();
    expect(greeting).toBe('hello');
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('connects over IPv6 loopback too', async () => {
    const v6 = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => v6.listen(0, '::1', resolve));
    const result = await connectTcp('::1', (v6.address() as net.AddressInfo).port, AbortSignal.timeout(5000));
    if (result.ok) result.socket.destroy();
    await new Promise<void>((resolve) => v6.close(() => resolve()));
    expect(result.ok).toBe(true);
  });

  it('reports a closed port as TCP_REFUSED naming address:port', async () => {
    const closed = await freePort();
    const result = await connectTcp('127.0.0.1', closed, AbortSignal.timeout(5000));
    expect(result).toMatchObject({
      ok: false,
      finding: {
        code: 'TCP_REFUSED',
        phase: 'connect',
        severity: 'blocking',
        message: `connection refused by 127.0.0.1:${closed}`,
      },
    });
  });

  describe('a connect that stalls (SYN dropped: accept queue full)', () => {
    let stalled: StalledListener;
    beforeAll(async () => {
      stalled = await startStalledListener();
    });
    afterAll(() => stalled.close());

    it('is TCP_TIMEOUT when the deadline fires', async () => {
      const result = await connectTcp('127.0.0.1', stalled.port, AbortSignal.timeout(250));
      expect(result).toMatchObject({
        ok: false,
        finding: {
          code: 'TCP_TIMEOUT',
          phase: 'connect',
          message: `no answer from 127.0.0.1:${stalled.port} in time: the connection attempt was dropped`,
        },
      });
    });
  });

  it('does not start when the deadline has already passed', async () => {
    const result = await connectTcp('127.0.0.1', port, AbortSignal.abort());
    expect(result).toMatchObject({ ok: false, finding: { code: 'TCP_TIMEOUT' } });
  });
});

// NET_UNREACHABLE and a reset during connect cannot be produced on loopback without a firewall or routing
// changes; the errno reading is checked here, the real conditions by the firewall tests.
describe('connectFailure', () => {
  it.each([
    ['ECONNREFUSED', 'TCP_REFUSED', 'connection refused by [fd00::4]:443'],
    ['EPERM', 'TCP_REFUSED', 'connection to [fd00::4]:443 denied by local policy (EPERM)'],
    ['ETIMEDOUT', 'TCP_TIMEOUT', 'no answer from [fd00::4]:443: the operating system gave up connecting (ETIMEDOUT)'],
    ['ENETUNREACH', 'NET_UNREACHABLE', 'no route to [fd00::4]:443: network unreachable'],
    ['EHOSTUNREACH', 'NET_UNREACHABLE', 'no route to [fd00::4]:443: host unreachable'],
    ['ECONNRESET', 'CONNECTION_RESET', 'connection to [fd00::4]:443 reset while connecting'],
  ])('%s → %s', (errno, code, message) => {
    const error = Object.assign(new Error(`connect ${errno}`), { code: errno });
    const found = connectFailure(error, 'fd00::4', 443);
    expect(found).toEqual({ code, phase: 'connect', severity: 'blocking', message });
  });
});
