// Run inside a test namespace by retire.test.ts: a NAT data plane (libnftables and raw batches, as the
// checker has them) takes a real server out of its pool, by an update and by an adopting restart; prints
// after each step the pick rule's slot count, the slot and backend elements the kernel holds, and how many
// elements the data plane keeps retired (src/lvs/nft-retire.ts).
import { NftDataplane } from '../../src/lvs/nft-dataplane.js';
import { libnftRunner } from '../../src/lvs/nft-runner.js';
import { nat, nftNamespaceSetup, svc } from './fixtures.js';

const nft = nftNamespaceSetup();
const GRACE = 300;
const web = (n: number) =>
  svc('web', { scheduler: 'rr', reals: [11, 12, 13].slice(0, n).map((i) => nat(`192.0.2.${i}`, 8080)) });
const count = (name: string, text: string) => {
  const els = /elements = \{([^}]*)\}/.exec(text.split(`map ${name} {`)[1] ?? '')?.[1] ?? '';
  return els.trim() === '' ? 0 : els.split(',').length;
};
const report = (label: string, dp: NftDataplane, r: { ok: boolean }) => {
  if (!r.ok) throw new Error(`${label}: ${JSON.stringify(r)}`);
  const t = nft('list', 'table', 'inet', 'keepalived_ts').stdout;
  const mod = Number(/numgen inc mod (\d+)/.exec(t)?.[1] ?? -1);
  process.stdout.write(
    `${JSON.stringify({ label, mod, slots: count('slots', t), bk4: count('bk4', t), retired: dp.retiredElements() })}\n`,
  );
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const after = GRACE * 1.25 + 200;

let dp = new NftDataplane(libnftRunner(), { retireMs: GRACE });
report('start 3', dp, await dp.start({ services: [web(3)] }));
report('update 2', dp, await dp.update({ services: [web(2)] }));
await sleep(after);
report('update 2, grace over', dp, { ok: true });
report('update 3', dp, await dp.update({ services: [web(3)] }));
report('update 2 again', dp, await dp.update({ services: [web(2)] }));
report('update 3 within the grace', dp, await dp.update({ services: [web(3)] }));
await sleep(after);
report('update 3, grace over', dp, { ok: true });
// A restart adopting a table with more servers than it wants: the extra ones are retired too.
await dp.stop(true);
dp = new NftDataplane(libnftRunner(), { retireMs: GRACE });
report('adopting restart with 1', dp, await dp.start({ services: [web(1)] }));
await sleep(after);
report('adopting restart, grace over', dp, { ok: true });
await dp.stop(true);
dp = new NftDataplane(libnftRunner(), { retireMs: 0 });
report('retireMs 0: restart with 3', dp, await dp.start({ services: [web(3)] }));
report('retireMs 0: update 2', dp, await dp.update({ services: [web(2)] }));
await dp.stop();
