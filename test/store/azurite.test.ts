import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TableClient } from '@azure/data-tables';
import { startAzurite } from '../../lib/store';

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function client(connectionString: string): TableClient {
  return TableClient.fromConnectionString(connectionString, 'probe', { allowInsecureConnection: true });
}

describe('startAzurite', () => {
  it('serves tables in memory on a free loopback port and releases it on stop', async () => {
    const azurite = await startAzurite({ port: 0 });
    try {
      expect(azurite.port).toBeGreaterThan(0);
      expect(azurite.tableEndpoint).toBe(`http://127.0.0.1:${azurite.port}/devstoreaccount1`);
      const table = client(azurite.connectionString);
      await table.createTable();
      await table.upsertEntity({ partitionKey: 'p', rowKey: 'r', value: 1 });
      expect((await table.getEntity('p', 'r')).value).toBe(1);
    } finally {
      await azurite.stop();
      await azurite.stop();
    }
    expect(await accepts(azurite.port)).toBe(false);
  });

  it('restarts on the same port with the data it kept on disk', async () => {
    const location = await mkdtemp(join(tmpdir(), 'arcmon-azurite-test-'));
    const azurite = await startAzurite({ location });
    try {
      const table = client(azurite.connectionString);
      await table.createTable();
      await table.upsertEntity({ partitionKey: 'p', rowKey: 'r', verdict: 'reachable' });
      await azurite.restart();
      expect(await accepts(azurite.port)).toBe(true);
      expect((await client(azurite.connectionString).getEntity('p', 'r')).verdict).toBe('reachable');
    } finally {
      await azurite.stop();
      await rm(location, { recursive: true, force: true });
    }
  });

  it('forgets in-memory data on restart', async () => {
    const azurite = await startAzurite({});
    try {
      await client(azurite.connectionString).createTable();
      await azurite.restart();
      await expect(client(azurite.connectionString).getEntity('p', 'r')).rejects.toMatchObject({
        statusCode: 404,
        details: { errorCode: 'TableNotFound' },
      });
    } finally {
      await azurite.stop();
    }
  });

  it('refuses in-memory and a data directory together', async () => {
    await expect(startAzurite({ inMemory: true, location: tmpdir() })).rejects.toThrow(
      'startAzurite: inMemory and location exclude each other (Azurite refuses both)',
    );
  });

  it('reports why Azurite would not start', async () => {
    const holder = await startAzurite({});
    try {
      await expect(startAzurite({ port: holder.port })).rejects.toThrow(
        /Azurite \(table\) exited during start .*EADDRINUSE/s,
      );
    } finally {
      await holder.stop();
    }
  });
});
