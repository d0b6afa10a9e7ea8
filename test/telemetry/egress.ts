import diagnostics_channel from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Records every outgoing connection this process starts, through Node's own diagnostics channels (no patching):
 * each client socket's looked-up host and connected address, and each http/https request's host. A test can then
 * say where the process talked to, including attempts that never connected.
 */
export interface EgressRecorder {
  /** `host` of each HTTP(S) request, `address:port` of each connected socket, `lookup host` of each DNS lookup. */
  readonly destinations: readonly string[];
  stop(): void;
}

export function recordEgress(): EgressRecorder {
  const destinations: string[] = [];
  const onSocket = (message: unknown) => {
    const { socket } = message as { socket: Socket };
    socket.once('lookup', (_error: Error | null, _address: string, _family: number, host: string) =>
      destinations.push(`lookup ${host}`),
    );
    socket.once('connect', () => destinations.push(`${socket.remoteAddress}:${socket.remotePort}`));
  };
  const onRequest = (message: unknown) => {
    const { request } = message as { request: ClientRequest };
    destinations.push(`http ${request.host}`);
  };
  diagnostics_channel.subscribe('net.client.socket', onSocket);
  diagnostics_channel.subscribe('http.client.request.start', onRequest);
  return {
    destinations,
    stop() {
      diagnostics_channel.unsubscribe('net.client.socket', onSocket);
      diagnostics_channel.unsubscribe('http.client.request.start', onRequest);
    },
  };
}
