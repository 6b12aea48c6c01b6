// The phase cutter's process (see phase-cutter.ts), run inside a lab's bridge namespace:
//   node --import tsx bench/lib/phase-cutter-main.ts <bridge port> <router IPv4 address>
// It watches the router's VRRP adverts arrive on its bridge port (an AF_PACKET socket) and, when asked, takes
// the port down (rtnetlink, no `ip` process) a chosen number of µs after the next advert. Commands on stdin,
// one JSON object a line: {"afterUs": N}; answers on stdout: {"advertUs": …, "cutUs": …} (CLOCK_MONOTONIC µs),
// or {"error": "…"}. "ready" once listening.
import { createInterface } from 'node:readline';
import { monotonicUs as nowUs } from '../../src/common/clock.js';
import { Netlink } from '../../src/net/netlink.js';
import { RawSocket } from '../../src/net/raw-socket.js';
import { sockaddrLl } from '../../src/net/sockaddr.js';
import { Timerfd } from '../../src/net/timerfd.js';

// ETH_P_ALL: a bridge port's frames go to the bridge, not to per-protocol packet sockets; only the taps
// that see every frame see them.
const ETH_P_ALL = 0x0003;
const ETHERTYPE_IPV4 = 0x0800;
const ETH_HEADER = 14;
const VRRP = 112;

const say = (x: unknown) => process.stdout.write(`${JSON.stringify(x)}\n`);

async function main(): Promise<void> {
  const [port, routerAddress] = process.argv.slice(2);
  if (!port || !routerAddress) throw new Error('usage: phase-cutter-main.ts <port> <router IPv4 address>');
  const nl = Netlink.open();
  if (!nl.ok) throw new Error(nl.error.message);
  const link = await nl.value.linkByName(port);
  if (!link.ok) throw new Error(link.error.message);
  const index = link.value.index;
  const sock = RawSocket.openPacket(ETH_P_ALL, 'phase-cutter');
  if (!sock.ok) throw new Error(sock.error.message);
  const bound = sock.value.bind(sockaddrLl(index, ETH_P_ALL));
  if (!bound.ok) throw new Error(bound.error.message);

  let pending: { afterUs: number } | null = null;
  // A timerfd wakes within ~0.1 ms of a µs deadline without holding a core (a spinning cutter slowed the
  // lab's echo responders and so the very outage being measured).
  let onTime: () => void = () => {};
  const timer = new Timerfd(() => onTime());
  const cutAfter = async (advertUs: number, afterUs: number) => {
    const atUs = advertUs + afterUs;
    await new Promise<void>((r) => {
      onTime = r;
      timer.arm(atUs);
    });
    const cutUs = nowUs();
    const r = await nl.value.setLinkUp(index, false);
    say(r.ok ? { advertUs, cutUs } : { error: r.error.message });
  };
  const started = sock.value.onFrame((frame) => {
    if (!pending || frame.length < ETH_HEADER + 20) return;
    if (((frame[12]! << 8) | frame[13]!) !== ETHERTYPE_IPV4 || frame[ETH_HEADER + 9] !== VRRP) return;
    const src = Array.from(frame.subarray(ETH_HEADER + 12, ETH_HEADER + 16)).join('.');
    if (src !== routerAddress) return;
    const { afterUs } = pending;
    pending = null;
    void cutAfter(nowUs(), afterUs);
  });
  if (!started.ok) throw new Error(started.error.message);
  say('ready');
  for await (const line of createInterface({ input: process.stdin })) {
    const cmd = JSON.parse(line) as { afterUs?: number };
    if (typeof cmd.afterUs !== 'number' || cmd.afterUs < 0) say({ error: `bad command ${line}` });
    else pending = { afterUs: cmd.afterUs };
  }
  timer.close();
  sock.value.close();
  nl.value.close();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    say({ error: (e as Error).message });
    process.exit(1);
  },
);
