// The blog-style generator (meaning-generator.ts): seed lists, replayable output, and the virtual servers
// added by `lvs` leaving a seed's instances as they were (so recorded seeds of the meaning test stay valid).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generatedConfig, seedList } from './meaning-generator.js';

test('seedList reads N, A-B and comma-separated mixes, and refuses anything else', () => {
  assert.deepEqual(seedList('3'), [3]);
  assert.deepEqual(seedList('1-4'), [1, 2, 3, 4]);
  assert.deepEqual(seedList('1-3,7, 9-10'), [1, 2, 3, 7, 9, 10]);
  assert.equal(seedList('1-1000').length, 1000);
  assert.throws(() => seedList('1..5'), /bad seed list/);
});

test('a seed gives the same text every time; lvs appends virtual servers after the same instances', () => {
  for (const seed of [1, 2, 77]) {
    const plain = generatedConfig(seed, 6);
    assert.equal(generatedConfig(seed, 6), plain);
    const withLvs = generatedConfig(seed, 6, { lvs: true });
    assert.equal(generatedConfig(seed, 6, { lvs: true }), withLvs);
    assert.ok(withLvs.replace(/\r\n/g, '\n').startsWith(plain), `seed ${seed}: instances changed`);
    assert.match(withLvs, /^virtual_server 192\.0\.2\.20\d /m);
    assert.match(withLvs, /real_server 192\.0\.2\.\d+ /);
  }
});

test('over many seeds the virtual servers carry blog noise: comments, bad numbers, mixed case, CRLF', () => {
  const all = Array.from({ length: 60 }, (_, k) => generatedConfig(k + 1, 2, { lvs: true }));
  const text = all.join('\n');
  assert.match(text, /^\s+(delay_loop|lb_algo|lb_kind|weight|connect_timeout)\s\S+ \/\/ /m);
  assert.match(text, /^\s+\S+ \S+ # c$/m);
  assert.match(
    text,
    /^\s+(delay_loop|weight|connect_timeout|persistence_timeout) (abc|-1|-5|6\.5|1\.5|3\.5)\b/m,
  );
  assert.match(text, /^\s+[A-Z][a-z]+_[a-z_]+ /m);
  assert.match(text, /注释|健康检查/);
  assert.ok(all.some((t) => t.includes('\r\n')));
  assert.ok(all.some((t) => /(HTTP_GET|MISC_CHECK|TCP_CHECK|tcp_check) \{/.test(t)));
});
