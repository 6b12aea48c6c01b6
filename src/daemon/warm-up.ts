// A backup runs its receive path for hours and its takeover path never — until the moment that counts, when
// V8 would compile that path on its first call. So the takeover runs once ahead of time, with nothing sent:
// at startup on a scratch engine driven to MASTER on a virtual clock (adverts encoded, IPv4 headers and
// frames built, written to a sink), and per instance ahead of its Master_Down deadline. Measurements:
// docs/decisions/takeover-warm-up.md.
import { buildGarpFrame, buildUnsolicitedNaFrame } from '../net/garp.js';
import { buildIpv4Header } from '../net/ipv4-header.js';
import { CountingSink } from '../net/prepared-write.js';
import type { VrrpAction } from '../vrrp/actions.js';
import { advertToEncode, VRRP_MCAST_GROUP4, VRRP_MCAST_GROUP6 } from '../vrrp/advert.js';
import { type EngineConfig, VrrpEngine } from '../vrrp/engine.js';
import type { VrrpInstanceParams } from '../vrrp/instance-params.js';
import { encodeAdvert } from '../vrrp/packet.js';
import { parseIpShared } from '../vrrp/packet-addr.js';

/**
 * KEEPALIVED_TS_COLD_TAKEOVER=1 turns the takeover warm-up off — the startup rehearsal and, per deadline,
 * the preparation and the scratch-engine rehearsal — for the test that measures what it is worth
 * (test/daemon/warm-up.test.ts) and for benches. Never set outside them.
 */
export const takeoverWarmUp = process.env.KEEPALIVED_TS_COLD_TAKEOVER !== '1';

const ROUNDS = 3;
const VIRTUAL_HOUR_US = 3_600_000_000;

/** Returns how many adverts were rehearsed (0 if the rehearsal tripped: the real path reports for itself). */
export function warmUpTakeover(config: EngineConfig): number {
  let adverts = 0;
  if (!takeoverWarmUp) return adverts;
  try {
    for (let round = 0; round < ROUNDS; round++) adverts += rehearse(config);
  } catch {
    /* a rehearsal is an optimisation, never a reason not to start */
  }
  return adverts;
}

/**
 * Time enough for rehearseInstanceTakeover before a deadline (a cold one takes up to ~1.2 ms,
 * docs/decisions/takeover-warm-up.md): one that ran into the deadline would delay what it rehearses.
 */
export const REHEARSAL_MIN_LEFT_US = 1500;

/**
 * One instance's takeover run once on a scratch engine, just before it may happen for real (the keen
 * timer's early wake, deadline-timer.ts): code that has not run for a while runs several times slower. The
 * params object is shared, not copied: the engine only reads it.
 */
export function rehearseInstanceTakeover(params: VrrpInstanceParams): boolean {
  if (!takeoverWarmUp) return false;
  try {
    const engine = new VrrpEngine({ instances: [params], syncGroups: [] });
    const isMaster = () => engine.instance(params.name)?.state === 'MASTER';
    runOnVirtualClock(engine, 4, isMaster);
    return isMaster();
  } catch {
    return false; // an optimisation only
  }
}

/**
 * Starts `engine` at virtual time 1 µs and fires its deadlines one after another: at most `maxTimers`, none
 * past a virtual hour, stopping early once `done()`. Returns every action, in order.
 */
function runOnVirtualClock(engine: VrrpEngine, maxTimers: number, done = () => false): VrrpAction[] {
  let nowUs = 1;
  const actions = engine.handle({ type: 'startAll' }, nowUs);
  for (let i = 0; i < maxTimers && !done(); i++) {
    const next = engine.nextDeadline();
    if (!next || next.atUs > VIRTUAL_HOUR_US) break;
    nowUs = next.atUs;
    actions.push(...engine.handleTimers(nowUs));
  }
  return actions;
}

/**
 * A few instances of each kind (family × multicast/unicast) exercise every path; a copy of all of them would
 * only grow the heap for good. Sync groups are left out.
 */
function sample(config: EngineConfig): EngineConfig {
  const perKind = new Map<string, number>();
  const instances = config.instances.filter((p) => {
    const kind = `${p.family}/${p.unicastPeers.length > 0}`;
    const n = perKind.get(kind) ?? 0;
    perKind.set(kind, n + 1);
    return n < 2;
  });
  return structuredClone({ instances, syncGroups: [] });
}

const sink = new CountingSink();
const NO_SOCKADDR = new Uint8Array(0);

function rehearse(config: EngineConfig): number {
  let adverts = 0;
  const actions = runOnVirtualClock(new VrrpEngine(sample(config)), 8);
  const mac = new Uint8Array(6);
  for (const a of actions) {
    if (a.type === 'sendAdvert') {
      adverts++;
      const m = a.advert;
      const advert = advertToEncode(m);
      const dst = m.family === 4 ? VRRP_MCAST_GROUP4 : VRRP_MCAST_GROUP6;
      const bytes = encodeAdvert(advert, { family: m.family, srcAddr: m.srcAddr, dstAddr: dst });
      const src = parseIpShared(m.srcAddr, m.family);
      const group = parseIpShared(dst, m.family);
      if (m.family === 4 && src && group) {
        const header = buildIpv4Header({
          src,
          dst: group,
          protocol: 112,
          payloadLength: bytes.length,
          ttl: 255,
        });
        sink.sendTo(header, NO_SOCKADDR);
      }
    } else if (a.type === 'addVips') {
      for (const v of a.vips) {
        const ip = parseIpShared(v.address, v.address.includes(':') ? 6 : 4);
        if (!ip) continue;
        if (ip.length === 4) buildGarpFrame(mac, ip);
        else buildUnsolicitedNaFrame(mac, ip);
      }
    }
  }
  return adverts;
}
