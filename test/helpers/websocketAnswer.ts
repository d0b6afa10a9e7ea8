/**
 * What a WebSocket server (the notification relay) answers to an upgrade request, for the loopback servers that
 * stand in for Azure: `101 Switching Protocols` with the RFC 6455 accept value, or undefined when the request
 * head asks for no upgrade.
 */
import { createHash } from 'node:crypto';

export function websocketAnswer(requestHead: string): string | undefined {
  if (!/^upgrade:\s*websocket\s*$/im.test(requestHead)) return undefined;
  const key = /^sec-websocket-key:\s*(\S+)\s*$/im.exec(requestHead)?.[1];
  if (!key) return undefined;
  const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`;
}
