// Who scripts run as (src/common/script-identity.ts), from passwd/group text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lookupGroup, lookupUser, resolveIdentity } from '../../src/common/script-identity.js';

const passwd =
  'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\nweb:x:33:33::/:/bin/false\n';
const group = 'root:x:0:\nnogroup:x:65534:\nwww:x:33:\nops:x:1000:\n';
const withScriptUser = `${passwd}keepalived_script:x:999:998::/:/bin/false\n`;

test('passwd and group lookups', () => {
  assert.deepEqual(lookupUser(passwd, 'web'), { uid: 33, gid: 33 });
  assert.equal(lookupUser(passwd, 'nope'), null);
  assert.equal(lookupGroup(group, 'ops'), 1000);
  assert.equal(lookupGroup(group, 'nope'), null);
});

test('precedence: own user, then script_user, then keepalived_script, else ourselves', () => {
  const files = { passwd, group };
  assert.deepEqual(resolveIdentity({ user: 'web', group: 'ops' }, { user: 'nobody' }, files), {
    uid: 33,
    gid: 1000,
    user: 'web',
  });
  assert.deepEqual(resolveIdentity(undefined, { user: 'nobody' }, files), {
    uid: 65534,
    gid: 65534,
    user: 'nobody',
  });
  assert.equal(resolveIdentity(undefined, undefined, files), null, 'root: run as ourselves');
  assert.deepEqual(resolveIdentity(undefined, undefined, { passwd: withScriptUser, group }), {
    uid: 999,
    gid: 998,
    user: 'keepalived_script',
  });
  assert.deepEqual(resolveIdentity({ user: '1234' }, undefined, files), {
    uid: 1234,
    gid: 1234,
    user: '1234',
  });
  assert.deepEqual(resolveIdentity({ user: 'ghost' }, undefined, files), {
    error: 'unknown script user ghost',
  });
  assert.deepEqual(resolveIdentity({ user: 'web', group: 'ghosts' }, undefined, files), {
    error: 'unknown script group ghosts',
  });
});
