// For tests only: KEEPALIVED_TS_FAULT=POINT[@N] makes the handler at POINT throw on its Nth call (default
// the first), so a test can prove that an exception in every kind of callback — packet, timer, netlink
// event, signal — ends in the fatal path (src/daemon/fatal.ts): addresses released, exit 1, one line.
// Unset (always, outside tests) the check is one comparison with an empty string.
// 'start' throws while the VRRP runtime is built, after the host (VMACs, sockets) is open: the start-up's
// clean-up path.
export type FaultPoint = 'advert' | 'timer' | 'netlink' | 'sighup' | 'signal-json' | 'start';

const spec = /^([a-z-]+)(?:@(\d+))?$/.exec(process.env.KEEPALIVED_TS_FAULT ?? '');
const point = spec?.[1] ?? '';
let callsLeft = Number(spec?.[2] ?? 1);

export function faultPoint(p: FaultPoint): void {
  if (point !== p || callsLeft <= 0) return;
  if (--callsLeft === 0) throw new Error(`injected fault in the ${p} handler (KEEPALIVED_TS_FAULT)`);
}
