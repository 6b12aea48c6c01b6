import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CT_DELETE_TYPE, ctDeleteByMarkPayload } from '../../src/lvs/ct-flush.js';

describe('conntrack delete-by-mark message', () => {
  it('is a ctnetlink DELETE with nfgenmsg (all families) + CTA_MARK + CTA_MARK_MASK, big endian', () => {
    assert.equal(CT_DELETE_TYPE, 0x0102);
    assert.equal(
      Buffer.from(ctDeleteByMarkPayload(0x10203)).toString('hex'),
      '00000000' + '08000800' + '00010203' + '08001500' + 'ffffffff',
    );
  });
});
