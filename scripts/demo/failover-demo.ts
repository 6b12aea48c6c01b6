// The live demo behind `npm start` (scripts/start.mjs runs it through tsx, as root): three keepalived-ts
// routers share a VIP on a LAN of network namespaces, a client sends a UDP echo probe to the VIP every 5 ms, and the master's
// link is cut, restored, and the master is stopped — with what the routers logged and what the client lost
// printed at each step. Every namespace and child process is removed at the end, on Ctrl-C and on errors.
import { installCleanup } from '../../bench/lib/cleanup.js';
import { isRoot } from '../../bench/lib/failover-lab.js';
import { FailoverScenario, type StepResult, sleep, VIP } from '../../bench/lib/failover-scenario.js';

const ADVERT_INTERVAL_S = 0.1;
const PRIORITIES = [150, 100, 50];
const PROBE_INTERVAL_MS = 5;

const t0 = Date.now();
const say = (msg: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(2).padStart(5)} s] ${msg}`);
const ms = (x: number) => `${Math.round(x)} ms`;

function clientLine(step: StepResult): string {
  if (!step.outage) return 'the client saw no reply gap it could measure';
  if (step.outage.outageMs < PROBE_INTERVAL_MS) return 'the client missed no reply';
  return `the client got no reply for ${ms(step.outage.outageMs)}`;
}

async function main(): Promise<void> {
  if (!isRoot()) {
    console.log('The demo needs root: it creates network namespaces and the routers open raw VRRP sockets.');
    process.exit(1);
  }
  let scenario: FailoverScenario | null = null;
  installCleanup(() => console.log('\nInterrupted: stopping the routers and deleting the namespaces.'));

  console.log('keepalived-ts live failover demo');
  console.log(
    `Three routers r1/r2/r3 (priorities ${PRIORITIES.join('/')}) share VIP ${VIP} with VRRPv3, ` +
      `advert_int ${ADVERT_INTERVAL_S} s.`,
  );
  console.log('');
  say('Building the lab: a bridge and four network namespaces (kats-demo-*): r1 r2 r3 and a client.');
  scenario = new FailoverScenario({
    prefix: 'kats-demo',
    impl: 'keepalived-ts',
    version: 3,
    advertIntervalS: ADVERT_INTERVAL_S,
    priorities: PRIORITIES,
    probeIntervalMs: PROBE_INTERVAL_MS,
  });
  const s = scenario;
  for (const h of s.lab.routers) say(`  ${h.label}: ${h.ns}, eth0 ${h.address}/24`);
  say(`  client: ${s.lab.client.ns}, eth0 ${s.lab.client.address}/24`);

  say(
    `Starting keepalived-ts in r1, r2, r3; the client sends a UDP probe to ${VIP} every ${PROBE_INTERVAL_MS} ms ` +
      '(an echo responder runs on every router; replies say who answered).',
  );
  await s.startAndElect();
  say(
    `Elected: r1 MASTER, r2 and r3 BACKUP. VIP ${VIP} is on ${s.holders().join(', ') || 'nobody'}; ` +
      'the client gets replies.',
  );
  await sleep(1000);
  const steady = s.probe.outage(Date.now() - 1000, Date.now());
  say(`One steady second: longest reply gap ${ms((steady?.outageMs ?? 0) + PROBE_INTERVAL_MS)}.`);

  say("Cutting r1's link (its bridge port goes down: carrier loss).");
  const cut = await s.cutTop();
  say(`  r1 logged FAULT after ${ms(cut.faultMs)}.`);
  say(
    `  ${cut.newMaster} logged MASTER after ${ms(cut.takeoverMs)}: it heard no advert for its ` +
      'Master_Down_Interval (3 × 100 ms + 61 ms skew, counted from the last advert r1 sent).',
  );
  say(`  ${clientLine(cut)}; replies now come from ${s.probe.lastResponder()}.`);

  say("Restoring r1's link: r1 has the higher priority and preempts.");
  const back = await s.restoreTop();
  say(`  r1 logged MASTER after ${ms(back.takeoverMs)}; r2 went back to BACKUP.`);
  say(`  ${clientLine(back)}; replies now come from ${s.probe.lastResponder()}.`);

  say('Stopping r1 gracefully (SIGTERM): it sends a priority-0 advert so r2 need not wait for its timer.');
  const stop = await s.stopTop();
  say(
    `  ${stop.newMaster} logged MASTER after ${ms(stop.takeoverMs)}; r1 exited after ${ms(stop.exitedMs)}.`,
  );
  say(`  ${clientLine(stop)}; replies now come from ${s.probe.lastResponder()}.`);

  say('Cleaning up: stopping the routers and the probe, deleting the namespaces.');
  await s.close();
  say('Done.');
}

main().catch((e: unknown) => {
  console.error(`The demo failed: ${e instanceof Error ? e.message : String(e)}`);
  console.error('Cleaning up the namespaces and processes.');
  process.exit(1);
});
