/**
 * A loopback port where a TCP connect honestly stalls, as behind a firewall that drops SYNs: a listening
 * socket whose accept queue is full. The listener lives in a worker thread that blocks its own event loop
 * (Atomics.wait) so nothing accepts; filler connections take the queue (backlog + 1 on Linux), after which the
 * kernel drops further SYNs and the client keeps retransmitting. The helper checks that a connect stalls.
 */
import * as net from 'node:net';
import { Worker } from 'node:worker_threads';

export interface StalledListener {
  readonly port: number;
  close(): Promise<void>;
}

const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const net = require('node:net');
const flag = new Int32Array(workerData.flag);
const server = net.createServer();
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  Atomics.wait(flag, 0, 0, 120000);
  server.close();
});
`;

function tryConnect(port: number, withinMs: number): Promise<net.Socket | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, withinMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
  });
}

export async function startStalledListener(): Promise<StalledListener> {
  const flag = new SharedArrayBuffer(4);
  const worker = new Worker(WORKER, { eval: true, workerData: { flag } });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (value: number) => resolve(value));
    worker.once('error', reject);
  });
  const fillers: net.Socket[] = [];
  const close = async () => {
    for (const socket of fillers) socket.destroy();
    const view = new Int32Array(flag);
    Atomics.store(view, 0, 1);
    Atomics.notify(view, 0);
    await worker.terminate();
  };
  for (let i = 0; i < 16; i++) {
    const socket = await tryConnect(port, 300);
    if (socket === undefined) return { port, close };
    fillers.push(socket);
  }
  await close();
  throw new Error('could not fill the accept queue: connects to the blocked listener kept completing');
}
