// Crafted VRRP adverts from inside a test namespace, for test/daemon/hostile.test.ts: run as
// `ip netns exec NS node --import tsx hostile-sender.ts JSON`. Sends the phases of JSON in order (each: an
// advert, a rate and a duration; several lists side by side with `tracks`) through the project's own VrrpSocket (it writes the IPv4 header), counts
// the adverts it hears from `countFrom` meanwhile, and prints {"sent":N,"heard":M} when done.
import { VrrpSocket } from '../../src/net/vrrp-socket.js';
import type { VrrpAdvert } from '../../src/vrrp/advert.js';
import { encodeAdvert } from '../../src/vrrp/packet.js';

export interface SenderPhase {
  /** 3 (default; the IPv4 pseudo-header checksum, keepalived's default) or 2 (no authentication). */
  version?: 2 | 3;
  src: string;
  vrid: number;
  priority: number;
  /** Centiseconds (v2: whole seconds, 100, 200…). */
  intervalCs: number;
  addresses: string[];
  /** 0: send nothing for durationMs (a pause). */
  ratePerS: number;
  durationMs: number;
}

export interface SenderJob {
  phases: SenderPhase[];
  /** Phase lists run side by side from the same start (one process: no start-up skew between them). */
  tracks?: SenderPhase[][];
  /** Count adverts heard from this address (our router under test). */
  countFrom?: string;
}

const GROUP = '224.0.0.18';

function advertBytes(p: SenderPhase): Uint8Array {
  const v2 = p.version === 2;
  const advert: VrrpAdvert = {
    version: v2 ? 2 : 3,
    type: 1,
    vrid: p.vrid,
    priority: p.priority,
    advertIntervalCs: p.intervalCs,
    authType: 0,
    authDataHex: v2 ? '0000000000000000' : '',
    addresses: p.addresses,
    checksum: 0,
  };
  return encodeAdvert(advert, { family: 4, srcAddr: p.src, dstAddr: GROUP });
}

async function run(job: SenderJob): Promise<void> {
  let heard = 0;
  let sent = 0;
  const sockets = new Map<string, VrrpSocket>();
  const socketFor = (src: string): VrrpSocket => {
    let s = sockets.get(src);
    if (!s) {
      const r = VrrpSocket.open({ ifname: 'eth0', family: 4, srcAddr: src });
      if (!r.ok) throw new Error(r.error.message);
      s = r.value;
      sockets.set(src, s);
      if (sockets.size === 1) {
        const started = s.onMessage((_payload, meta) => {
          if (meta.srcAddr === job.countFrom) heard++;
        });
        if (!started.ok) throw new Error(started.error.message);
      }
    }
    return s;
  };
  const track = async (phases: SenderPhase[]) => {
    for (const phase of phases) {
      const sock = socketFor(phase.src);
      const bytes = advertBytes(phase);
      const t0 = Date.now();
      let phaseSent = 0;
      // Every 10 ms, as many as the rate asks for by then.
      while (Date.now() - t0 < phase.durationMs) {
        const due = phase.ratePerS > 0 ? Math.floor(((Date.now() - t0) * phase.ratePerS) / 1000) + 1 : 0;
        for (; phaseSent < due; phaseSent++) {
          const r = sock.send(bytes);
          if (!r.ok) throw new Error(r.error.message);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      sent += phaseSent;
    }
  };
  await Promise.all((job.tracks ?? [job.phases]).map(track));
  // A moment for the last answers to arrive.
  await new Promise((r) => setTimeout(r, 100));
  process.stdout.write(`${JSON.stringify({ sent, heard })}\n`);
  for (const s of sockets.values()) s.close();
}

run(JSON.parse(process.argv[2] ?? '{}') as SenderJob).catch((e: unknown) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
