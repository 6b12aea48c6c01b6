// The pure parts of the HTTP probes (response reading rules, status table, regex offsets) and the shared
// deadline wheel, without sockets.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DeadlineWheel } from '../../../src/check/probes/http-deadline.js';
import {
  compileUrlRegex,
  parseHttpProtocol,
  sniName,
  statusTable,
} from '../../../src/check/probes/http-request.js';
import {
  contentLengthOf,
  HttpResponseReader,
  statusCodeOf,
} from '../../../src/check/probes/http-response.js';
import { checker, url } from './http-servers.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('keepalived response rules', () => {
  test('status code: three digits after the first space, then a space', () => {
    assert.equal(statusCodeOf(b('HTTP/1.1 204 No Content\r\n')), 204);
    assert.equal(statusCodeOf(b('ICY 200 OK\r\n')), 200);
    assert.equal(statusCodeOf(b('HTTP/1.1 200\r\n\r\n')), 0);
    assert.equal(statusCodeOf(b('HTTP/1.1  200 OK\r\n')), 0);
    assert.equal(statusCodeOf(b('HTTP/1.1 2x0 OK\r\n')), 0);
    assert.equal(statusCodeOf(b('garbage\r\nX 200 OK')), 0);
  });

  test('Content-Length: exact case, value ending the line', () => {
    assert.equal(contentLengthOf(b('HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\n')), 12);
    assert.equal(contentLengthOf(b('HTTP/1.0 200 OK\r\ncontent-length: 12\r\n\r\n')), -1);
    assert.equal(contentLengthOf(b('HTTP/1.0 200 OK\r\nContent-Length: 12x\r\n\r\n')), -1);
    assert.equal(contentLengthOf(b('HTTP/1.0 200 OK\r\nContent-Length:7')), 7);
  });

  test('the digest covers the body split anywhere, limited to Content-Length', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 300, size: 'max' }),
        fc.boolean(),
        fc.array(fc.nat(400), { maxLength: 5 }),
        (body, withLen, cuts) => {
          const bytes = b(body);
          const head = withLen
            ? `HTTP/1.0 200 OK\r\nContent-Length: ${Math.floor(bytes.length / 2)}\r\n\r\n`
            : 'HTTP/1.0 200 OK\r\n\r\n';
          const all = Buffer.concat([b(head), bytes]);
          const hashed = withLen ? bytes.subarray(0, Math.floor(bytes.length / 2)) : bytes;
          const want = createHash('md5').update(hashed).digest('hex');
          const r = new HttpResponseReader({
            status: statusTable(url('/')),
            digest: want,
            maxBytes: 1 << 20,
          });
          const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((x, y) => x - y);
          let at = 0;
          for (const p of [...points, all.length]) {
            assert.equal(r.feed(all.subarray(at, p)), null);
            at = p;
          }
          assert.equal(r.finish(), null);
          assert.equal(r.digestHex, want);
        },
      ),
    );
  });

  test('status table, protocol names, SNI precedence', () => {
    const t = statusTable(url('/', { statusCodes: [{ from: 301, to: 302 }] }));
    assert.deepEqual([t[200 - 100], t[301 - 100], t[302 - 100], t[303 - 100]], [0, 1, 1, 0]);
    assert.equal(
      statusTable(url('/')).reduce((a, v) => a + v, 0),
      100,
    );
    assert.deepEqual(['1.0', '1.0c', '1.0C', '1.1', undefined, '2'].map(parseHttpProtocol), [
      '1.0',
      '1.0C',
      '1.0C',
      '1.1',
      '1.0',
      null,
    ]);
    const u = url('/', { virtualhost: 'u.example' });
    assert.equal(sniName(u, checker('SSL_GET', [u], { virtualhost: 'c.example' }), {}), undefined);
    assert.equal(sniName(u, checker('SSL_GET', [u], { enableSni: true }), {}), 'u.example');
  });

  test('regex offsets: keepalived drops them when min > max', () => {
    const r = compileUrlRegex(url('/', { regex: 'x', regexMinOffset: ['9'], regexMaxOffset: ['3'] }));
    assert.ok(r && typeof r !== 'string');
    assert.deepEqual([r.minOffset, r.maxOffset], [0, -1]);
    assert.equal(typeof compileUrlRegex(url('/', { regex: '(' })), 'string');
  });
});

describe('DeadlineWheel', () => {
  test('fires no earlier than asked, in order of time; cancel works; idle wheel holds no timer', async () => {
    const w = new DeadlineWheel();
    const fired: [number, number][] = [];
    const t0 = performance.now();
    for (const d of [45, 5, 25, 0]) w.after(d, () => fired.push([d, performance.now() - t0]));
    w.after(Number.NaN, { onDeadline: () => fired.push([0, performance.now() - t0]) });
    const cancelled = w.after(15, () => fired.push([-1, 0]));
    cancelled.cancel();
    cancelled.cancel();
    assert.equal(w.size, 5);
    await new Promise((r) => setTimeout(r, 120));
    assert.deepEqual(
      fired.map(([d]) => d),
      [0, 0, 5, 25, 45],
    );
    for (const [d, at] of fired) assert.ok(at >= d - 1, `${d} ms deadline fired at ${at.toFixed(1)} ms`);
    assert.equal(w.size, 0);
    assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, 0);
  });

  test('a deadline beyond one lap of the wheel (5.12 s) waits its turn', async () => {
    let now = 0;
    const w = new DeadlineWheel(() => now);
    let fired = false;
    w.after(7000, () => {
      fired = true;
    });
    const tick = () => new Promise((r) => setTimeout(r, 40));
    now = 5200; // past its slot once (7000 ms sits in the same slot as 1880 ms), not yet its time
    await tick();
    assert.equal(fired, false);
    now = 6990;
    await tick();
    assert.equal(fired, false);
    now = 7011;
    await tick();
    assert.equal(fired, true);
    assert.equal(w.size, 0);
  });
});
