// A data-plane process for the bad-things tests (plain JavaScript over the built dist/, so that it starts
// in a fraction of a second): run inside the director's namespace (`ip netns exec NS node
// test/lvs/flipper-main.mjs PERIOD_MS`), it programs the LVS-NAT service of lab.ts through libnftables,
// adopting a table an earlier flipper left (as a respawned checker does), then moves real server 3 out of and back into the pool every
// PERIOD_MS (0 = back to back), printing one line per committed transaction, until it is killed.
import { NftDataplane } from '../../dist/lvs/nft-dataplane.js';
import { libnftRunner } from '../../dist/lvs/nft-runner.js';

const VIP = '198.51.100.100';
const REALS = ['192.0.2.11', '192.0.2.12', '192.0.2.13'];
const period = Number(process.argv[2] ?? 0);
const web = (n) => ({
  name: 'web',
  family: 4,
  protocol: 'tcp',
  matches: [{ kind: 'addr', address: VIP, port: 80 }],
  scheduler: 'rr',
  flags: { hashPort: false, fallback: false, onePacket: false },
  reals: REALS.slice(0, n).map((address) => ({ address, port: 8080, weight: 1, method: 'NAT' })),
  sorryActive: false,
});
// KATS_FLIPPER_RAW=0: every change through libnftables (to compare with the raw element batches).
const dp = new NftDataplane(libnftRunner(), process.env.KATS_FLIPPER_RAW === '0' ? { raw: false } : {});
const r = await dp.start({ services: [web(3)] });
if (!r.ok) throw new Error(r.error.message);
// Whether this start adopted the table an earlier (killed) flipper left, instead of replacing it.
process.stdout.write(`adopted ${dp.lastAdoption.adopted}\nstarted\n`);
for (let k = 0; ; k++) {
  const u = await dp.update({ services: [web(k % 2 === 0 ? 2 : 3)] });
  if (!u.ok) throw new Error(u.error.message);
  process.stdout.write(`tx ${k}\n`);
  if (period > 0) await new Promise((res) => setTimeout(res, period));
}
