import { describe, expect, it } from 'vitest';
import { addressBytes, classifyAddress, inCidr, parseCidr } from '../../lib/probes/addresses';
import type { AddressScope } from '../../lib/probes/types';

describe('classifyAddress', () => {
  it.each<[string, AddressScope]>([
    ['10.0.0.4', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.254', 'private'],
    ['172.15.255.255', 'public'],
    ['172.32.0.1', 'public'],
    ['192.168.1.10', 'private'],
    ['192.169.0.1', 'public'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['100.63.255.255', 'public'],
    ['100.128.0.0', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['20.42.1.7', 'public'],
    ['11.0.0.1', 'public'],
    ['fd00::4', 'private'],
    ['fc00::1', 'private'],
    ['FDAB:1234::1', 'private'],
    ['fe00::1', 'public'],
    ['fe80::1', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fec0::1', 'public'],
    ['fe80::1%eth0', 'link-local'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::', 'unspecified'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:20.1.2.3', 'public'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:a01:203', 'private'],
    ['::2', 'public'],
    ['2603:1030::5', 'public'],
    ['2001:db8::1', 'public'],
  ])('%s is %s', (ip, scope) => {
    expect(classifyAddress(ip)).toBe(scope);
  });

  it('rejects text that is not an address', () => {
    expect(() => classifyAddress('gbl.his.arc.azure.com')).toThrow('not an IP address: "gbl.his.arc.azure.com"');
  });
});

describe('addressBytes', () => {
  it.each<[string, number[]]>([
    ['192.0.2.1', [192, 0, 2, 1]],
    ['2001:db8::1', [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]],
    ['::ffff:192.0.2.1', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]],
    ['1:2:3:4:5:6:7:8', [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]],
    ['1::', [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
  ])('%s', (ip, bytes) => {
    expect([...addressBytes(ip)]).toEqual(bytes);
  });
});

describe('CIDR ranges', () => {
  it.each<[string, string, boolean]>([
    ['127.0.0.0/8', '127.0.0.1', true],
    ['127.0.0.0/8', '128.0.0.1', false],
    ['100.64.0.0/10', '100.100.1.1', true],
    ['100.64.0.0/10', '100.128.0.1', false],
    ['20.0.0.0/32', '20.0.0.0', true],
    ['20.0.0.0/32', '20.0.0.1', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['0.0.0.0/0', '::1', false],
    ['127.0.0.0/8', '::ffff:127.0.0.1', true],
    ['::1/128', '::1', true],
    ['::1/128', '127.0.0.1', false],
    ['2603:1000::/24', '2603:10ff::9', true],
    ['2603:1000::/24', '2603:1100::9', false],
  ])('%s contains %s: %s', (range, ip, expected) => {
    expect(inCidr(ip, parseCidr(range))).toBe(expected);
  });

  it.each(['10.0.0.0', '10.0.0.0/33', '::/129', 'example.com/8', '10.0.0.0/x', ''])('rejects "%s"', (text) => {
    expect(() => parseCidr(text)).toThrow(
      `Invalid address range "${text}": expected a CIDR such as 10.0.0.0/8 or fd00::/8`,
    );
  });
});
