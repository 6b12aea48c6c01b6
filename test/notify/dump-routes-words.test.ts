// Property: an `ip route` / `ip rule` line that the configuration accepts, read by the configuration layer and
// dumped (src/notify/dump-routes.ts), gives the text keepalived 2.2.7's dump rules give (docs/notify-data-dump.md).
// The expected text is built here from the generated parts, independently of the code under test; it was first
// run against the dump that read the words itself, so it pins that the typed model prints what that code printed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Diagnostics } from '../../src/config/diagnostics.js';
import { parseRouteLine, parseRuleLine } from '../../src/config/schema/addresses.js';
import { dumpRoute, dumpRule } from '../../src/notify/dump-routes.js';

const pos = { file: 'keepalived.conf', line: 1 };

const v4 = fc
  .tuple(fc.constantFrom('192.0.2', '198.51.100'), fc.integer({ min: 0, max: 255 }))
  .map(([n, h]) => `${n}.${h}`);
const v6 = fc.integer({ min: 0, max: 0xffff }).map((h) => `2001:db8:${h.toString(16)}::1`);
const addr = (family: 4 | 6) => (family === 4 ? v4 : v6);
const prefix = (family: 4 | 6) =>
  fc
    .tuple(addr(family), fc.option(fc.integer({ min: 0, max: family === 4 ? 32 : 128 }), { nil: undefined }))
    .map(([a, len]) => (len === undefined ? a : `${a}/${len}`));
/** keepalived's ipaddresstos: the `/LEN` only when shorter than the full length. */
const shown = (p: string) => {
  const [a, len] = p.split('/');
  return len === undefined || Number(len) === (a!.includes(':') ? 128 : 32) ? a! : `${a}/${len}`;
};
const inet = (a: string) => (a.includes(':') ? 'inet6' : 'inet');
const dev = fc.constantFrom('eth0', 'eth1', 'vrrp.51', 'bond0');
const tables = fc.constantFrom<[string, number]>(
  ['100', 100],
  ['7', 7],
  ['main', 254],
  ['local', 255],
  ['default', 253],
);
const SCOPES: [string, number][] = [
  ['global', 0],
  ['universe', 0],
  ['site', 200],
  ['link', 253],
  ['host', 254],
  ['nowhere', 255],
  ['17', 17],
];
const PROTOCOLS: [string, number][] = [
  ['redirect', 1],
  ['kernel', 2],
  ['boot', 3],
  ['static', 4],
  ['keepalived', 18],
  ['99', 99],
];
const ROUTE_TYPES = [
  'unicast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'local',
  'broadcast',
  'multicast',
  'nat',
];

interface Hop {
  via: string;
  dev?: string;
  weight?: number;
  onlink: boolean;
}

/** A route line keepalived accepts, with the words of each part and the dump's text for it. */
const routeCase = fc
  .constantFrom<4 | 6>(4, 6)
  .chain((family) =>
    fc.record({
      type: fc.option(fc.constantFrom(...ROUTE_TYPES), { nil: undefined }),
      to: fc.boolean(),
      dst: fc.oneof(prefix(family), fc.constant('default')),
      src: fc.option(addr(family), { nil: undefined }),
      via: fc.option(fc.tuple(fc.constantFrom('via', 'gw'), addr(family)), { nil: undefined }),
      or: fc.option(addr(family), { nil: undefined }),
      dev: fc.option(fc.tuple(fc.constantFrom('dev', 'oif'), dev), { nil: undefined }),
      table: fc.option(tables, { nil: undefined }),
      metric: fc.option(
        fc.tuple(fc.constantFrom('metric', 'preference'), fc.integer({ min: 0, max: 9999 })),
        { nil: undefined },
      ),
      scope: fc.option(fc.constantFrom(...SCOPES), { nil: undefined }),
      proto: fc.option(fc.tuple(fc.constantFrom('proto', 'protocol'), fc.constantFrom(...PROTOCOLS)), {
        nil: undefined,
      }),
      tos: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
      onlink: fc.boolean(),
      noTrack: fc.boolean(),
      hops: fc.array(
        fc.record({
          via: addr(family),
          dev: fc.option(dev, { nil: undefined }),
          weight: fc.option(fc.integer({ min: 1, max: 256 }), { nil: undefined }),
          onlink: fc.boolean(),
        }),
        { maxLength: 3 },
      ),
      noTrackInHops: fc.boolean(),
      order: fc.array(fc.nat(), { minLength: 10, maxLength: 10 }),
    }),
  )
  .map((g) => {
    // The options, each one group of words, in a generated order after the destination.
    const groups: string[][] = [];
    if (g.src) groups.push(['src', g.src]);
    if (g.via) groups.push([...g.via, ...(g.or ? ['or', g.or] : [])]);
    if (g.dev) groups.push(g.dev);
    if (g.table) groups.push(['table', g.table[0]]);
    if (g.metric) groups.push([g.metric[0], String(g.metric[1])]);
    if (g.scope) groups.push(['scope', g.scope[0]]);
    if (g.proto) groups.push([g.proto[0], g.proto[1][0]]);
    if (g.tos !== undefined) groups.push(['tos', String(g.tos)]);
    if (g.onlink) groups.push(['onlink']);
    if (g.noTrack) groups.push(['no_track']);
    const ordered = groups
      .map((words, i) => ({ words, key: g.order[i] ?? 0 }))
      .sort((a, b) => a.key - b.key)
      .flatMap((x) => x.words);
    const hops: Hop[] = g.hops;
    const hopWords = hops.flatMap((h, i) => [
      'nexthop',
      'via',
      h.via,
      ...(h.dev ? ['dev', h.dev] : []),
      ...(h.weight !== undefined ? ['weight', String(h.weight)] : []),
      ...(h.onlink ? ['onlink'] : []),
      ...(g.noTrackInHops && i === hops.length - 1 ? ['no_track'] : []),
    ]);
    const words = [...(g.type ? [g.type] : []), ...(g.to ? ['to'] : []), g.dst, ...ordered, ...hopWords];
    // The dump, by keepalived's rules.
    const noTrack = g.noTrack || (g.noTrackInHops && hops.length > 0);
    const dst = g.dst === 'default' ? '0.0.0.0/0' : g.dst;
    const oif = g.dev?.[1];
    let text = g.type ? 'add ' : 'prepend ';
    if (g.type && g.type !== 'unicast') text += `${g.type} `;
    text += shown(dst);
    if (g.src) text += ` src ${g.src}`;
    if (g.tos !== undefined) text += ` tos ${g.tos}`;
    const orHops: Hop[] =
      g.via && g.or
        ? [
            { via: g.via[1], onlink: false },
            { via: g.or, onlink: false },
          ]
        : [];
    if (g.via && !g.or) text += ` via ${inet(g.via[1])} ${g.via[1]}`;
    if (oif) text += ` dev ${oif}`;
    if (g.table && g.table[1] !== 254) text += ` table ${g.table[1]}`;
    if (!noTrack) text += ' proto 18';
    else if (g.proto) text += ` proto ${g.proto[1][1]}`;
    if (g.scope) text += ` scope ${g.scope[1]}`;
    if (g.metric) text += ` metric ${g.metric[1]}`;
    if (g.onlink && !dst.includes(':')) text += ' onlink';
    for (const h of [...orHops, ...hops]) {
      text += ' nexthop';
      text += ` via ${inet(h.via)} ${h.via}`;
      if (h.dev) text += ` dev ${h.dev}`;
      if (h.weight !== undefined) text += ` weight ${h.weight}`;
      if (h.onlink) text += ' onlink';
    }
    const tracks = !noTrack && oif !== undefined ? oif : null;
    if (tracks === null) text += ' no_track';
    return { words, dumped: { text, tracks } };
  });

test('property: a route line the configuration accepts dumps as keepalived 2.2.7 writes it', () => {
  fc.assert(
    fc.property(routeCase, ({ words, dumped }) => {
      const diag = new Diagnostics();
      const rc = parseRouteLine(words, pos, { diag });
      assert.ok(rc, `accepted: ${words.join(' ')} ${JSON.stringify(diag.list)}`);
      assert.deepEqual(dumpRoute(rc), dumped, words.join(' '));
    }),
    { numRuns: 400 },
  );
});

/** A rule line keepalived accepts (the preference the parser adds included), with its dump. */
const ruleCase = fc
  .constantFrom<4 | 6>(4, 6)
  .chain((family) =>
    fc.record({
      not: fc.boolean(),
      from: fc.option(fc.oneof(prefix(family), fc.constant('all')), { nil: undefined }),
      to: fc.option(fc.oneof(prefix(family), fc.constant('all')), { nil: undefined }),
      priority: fc.option(
        fc.tuple(
          fc.constantFrom('priority', 'preference', 'pref', 'order'),
          fc.integer({ min: 0, max: 32765 }),
        ),
        { nil: undefined },
      ),
      tos: fc.option(fc.tuple(fc.constantFrom('tos', 'dsfield'), fc.integer({ min: 0, max: 255 })), {
        nil: undefined,
      }),
      fwmark: fc.option(
        fc.tuple(
          fc.integer({ min: 0, max: 0xffff }),
          fc.boolean(),
          fc.option(fc.constantFrom(0xff, 0xffff, 0xffffffff), { nil: undefined }),
        ),
        { nil: undefined },
      ),
      iif: fc.option(dev, { nil: undefined }),
      oif: fc.option(dev, { nil: undefined }),
      action: fc.option(
        fc.oneof(
          fc
            .tuple(fc.constantFrom('table', 'lookup'), tables)
            .map(([w, [t, n]]) => ({ words: [w, t], text: `lookup ${n}` })),
          fc.integer({ min: 1, max: 32765 }).map((n) => ({ words: ['goto', String(n)], text: `goto ${n}` })),
          fc
            .constantFrom('blackhole', 'prohibit', 'unreachable')
            .map((t) => ({ words: [t], text: `type ${t}` })),
        ),
        { nil: undefined },
      ),
      // Words keepalived takes that its 2.2.7 dump of a rule leaves out.
      unshown: fc.subarray([
        ['sport', '1000'],
        ['dport', '2000-2010'],
        ['ipproto', 'tcp'],
        ['uidrange', '100-200'],
        ['suppress_prefixlength', '8'],
        ['realms', '3'],
        ['l3mdev'],
      ]),
      noTrack: fc.boolean(),
      order: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
    }),
  )
  .map((g) => {
    const groups: string[][] = [];
    if (g.not) groups.push(['not']);
    if (g.from) groups.push(['from', g.from]);
    if (g.to) groups.push(['to', g.to]);
    if (g.priority) groups.push([g.priority[0], String(g.priority[1])]);
    if (g.tos) groups.push([g.tos[0], String(g.tos[1])]);
    if (g.fwmark) {
      const [mark, hex, mask] = g.fwmark;
      const m = hex ? `0x${mark.toString(16)}` : String(mark);
      groups.push(['fwmark', mask === undefined ? m : `${m}/0x${mask.toString(16)}`]);
    }
    if (g.iif) groups.push(['iif', g.iif]);
    if (g.oif) groups.push(['oif', g.oif]);
    if (g.action) groups.push(g.action.words);
    groups.push(...g.unshown);
    if (g.noTrack) groups.push(['no_track']);
    const words = groups
      .map((w, i) => ({ w, key: g.order[i] ?? 0 }))
      .sort((a, b) => a.key - b.key)
      .flatMap((x) => x.w);
    const from = g.from === 'all' ? undefined : g.from;
    const to = g.to === 'all' ? undefined : g.to;
    let text = g.not ? 'not ' : '';
    text += from === undefined ? 'from all' : `from ${shown(from)}`;
    if (to !== undefined) text += ` to ${shown(to)}`;
    text += ` priority ${g.priority ? g.priority[1] : 16384}`;
    text += ` tos 0x${(g.tos?.[1] ?? 0).toString(16)}`;
    if (g.fwmark) {
      const [mark, , mask] = g.fwmark;
      text += ` fwmark 0x${mark.toString(16)}`;
      if (mask !== undefined && mask !== 0xffffffff) text += `/0x${mask.toString(16)}`;
    }
    if (g.iif) text += ` iif ${g.iif}`;
    if (g.oif) text += ` oif ${g.oif}`;
    if (!g.noTrack) text += ' protocol 18';
    text += ` ${g.action?.text}`;
    if (g.noTrack) text += ' no_track';
    const dumped = g.action ? { text, tracks: g.noTrack ? null : (g.iif ?? null) } : null;
    return { words, dumped };
  });

test('property: a rule line the configuration accepts dumps as keepalived 2.2.7 writes it', () => {
  fc.assert(
    fc.property(ruleCase, ({ words, dumped }) => {
      const diag = new Diagnostics();
      const rc = parseRuleLine(words, pos, { diag }, { nextPreference: { 4: 16384, 6: 16384 } });
      assert.ok(rc, `accepted: ${words.join(' ')} ${JSON.stringify(diag.list)}`);
      assert.deepEqual(dumpRule(rc), dumped, words.join(' '));
    }),
    { numRuns: 400 },
  );
});
