// Run inside a test namespace by nft-raw-big.test.ts: one NAT service grows from 2 real servers to 10,000
// in one update (the first verdicts of a large pool): the change goes as one raw batch of about 0.9 MB,
// longer than a netlink socket's default send buffer. Prints the route taken and the slot count.
import { NftDataplane } from '../../src/lvs/nft-dataplane.js';
import { libnftRunner } from '../../src/lvs/nft-runner.js';
import { nat, nftNamespaceSetup, svc } from './fixtures.js';

const nft = nftNamespaceSetup();
const reals = (n: number) =>
  Array.from({ length: n }, (_, i) => nat(`127.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, 8080));
const web = (n: number) => svc('web', { scheduler: 'rr', reals: reals(n) });
const logs: string[] = [];
const dp = new NftDataplane(libnftRunner(), { log: (m) => logs.push(m) });
const a = await dp.start({ services: [web(2)] });
const t0 = performance.now();
const b = await dp.update({ services: [web(10_000)] });
const ms = performance.now() - t0;
const mod = Number(
  /numgen inc mod (\d+)/.exec(nft('list', 'chain', 'inet', 'keepalived_ts', 'vs1g').stdout)?.[1],
);
process.stdout.write(`${JSON.stringify({ ok: a.ok && b.ok, route: dp.lastRoute, mod, ms, logs })}\n`);
await dp.stop();
