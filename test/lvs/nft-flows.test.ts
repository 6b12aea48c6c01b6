import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeSetElems,
  GETSETELEM_TYPE,
  getSetElemPayload,
  keyText,
  layoutOf,
  parseFlowJson,
} from '../../src/lvs/nft-flows.js';

/** One netlink attribute (little-endian header, payload padded to 4). */
function attr(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  payload.copy(b, 4);
  return b;
}
const NESTED = 0x8000;

describe('reading the direct-routing dynamic maps', () => {
  it('asks for one map of the netdev table: GETSETELEM, nfgenmsg netdev, table and set names', () => {
    assert.equal(GETSETELEM_TYPE, 0x0a0d);
    assert.equal(
      Buffer.from(getSetElemPayload('t', 'flows4')).toString('hex'),
      `05000000` +
        `06000100740000 00`.replace(/ /g, '') +
        `0b000200${Buffer.from('flows4\0').toString('hex')}00`,
    );
  });

  it('decodes keys (IPv4 fields in 32-bit registers, IPv6 as two hashes), marks and expiry', () => {
    // 198.51.100.10 . 40000 . 198.51.100.100 . 80 : 0x102, expires 899,123 ms
    const key = Buffer.from('c633640a9c400000c633646400500000', 'hex');
    const mark = Buffer.alloc(4);
    mark.writeUInt32LE(0x102);
    const exp = Buffer.alloc(8);
    exp.writeBigUInt64BE(899123n);
    const elem = attr(
      1 | NESTED,
      Buffer.concat([
        attr(1 | NESTED, attr(1, key)),
        attr(2 | NESTED, attr(1, mark)),
        attr(4, Buffer.alloc(8)),
        attr(5, exp),
      ]),
    );
    const msg = Buffer.concat([
      Buffer.from([5, 0, 0, 0]),
      attr(1, Buffer.from('t\0')),
      attr(3 | NESTED, elem),
    ]);
    assert.deepEqual(decodeSetElems([msg], layoutOf('flows4')), [
      { key: '198.51.100.10 . 40000 . 198.51.100.100 . 80', mark: 0x102, expiresMs: 899123 },
    ]);
    const h = Buffer.alloc(8);
    h.writeUInt32LE(4000000000, 0);
    h.writeUInt32LE(5, 4);
    assert.equal(keyText(h, layoutOf('flows6')), '4000000000 . 5');
    assert.equal(
      keyText(Buffer.from('c6336400c633646400500000', 'hex'), layoutOf('pers4')),
      '198.51.100.0 . 198.51.100.100 . 80',
    );
    // A key of the wrong length is skipped, not misread.
    assert.equal(keyText(Buffer.alloc(12), layoutOf('flows4')), undefined);
  });

  it('parses nft -j output of a flow map', () => {
    const out = parseFlowJson(
      '{"nftables": [{"metainfo": {}}, {"map": {"name": "flows4", "elem": [[{"elem": {"val": {"concat": ["198.51.100.10", 40000, "198.51.100.100", 80]}, "expires": 899}}, 258]]}}]}',
    );
    assert.deepEqual(out, [
      { key: '198.51.100.10 . 40000 . 198.51.100.100 . 80', mark: 258, expiresMs: 899000 },
    ]);
  });
});
