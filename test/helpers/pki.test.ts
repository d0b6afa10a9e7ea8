import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAzureLikePki, createLeaf } from './pki';

describe('test PKI', () => {
  it('issues a leaf that verifies against its intermediate and root', async () => {
    const { root, intermediate } = await createAzureLikePki();
    const leaf = await createLeaf(intermediate, ['gbl.his.arc.azure.com']);
    const l = new X509Certificate(leaf.certPem);
    const i = new X509Certificate(intermediate.certPem);
    const r = new X509Certificate(root.certPem);
    expect(l.verify(i.publicKey)).toBe(true);
    expect(i.verify(r.publicKey)).toBe(true);
    expect(l.checkHost('gbl.his.arc.azure.com')).toBe('gbl.his.arc.azure.com');
    expect(r.fingerprint256).toBe(root.fingerprint256);
  });
});
