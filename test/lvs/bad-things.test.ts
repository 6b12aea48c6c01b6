// Bad things on the LVS-NAT data plane (lab.ts layout, real kernel, real HTTP servers): a real server
// flapping every 100 ms, and the programming process SIGKILLed in the middle of its transactions again
// and again. Throughout, a client keeps requesting the VIP, and every real server it can be sent to is
// healthy: no request may fail. After each kill the kernel's table is read back: it must be one of the
// two states the process moves between, never a mixture; a respawned process re-converges.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isRoot, nsExec } from '../helpers/netns.js';
import { counts, NatLab } from './lab.js';

// Runs the built code (npm test builds first; so do the daemon tests).
const FLIPPER = fileURLToPath(new URL('./flipper-main.mjs', import.meta.url));

/**
 * The programmed pool as the kernel has it: the pick rule's slot count, and whether every slot it can
 * pick maps to a server mark that has a backend. Elements a change took out of use may linger for a
 * grace period (src/lvs/nft-retire.ts): more slots and backends than the pick reaches are fine.
 */
function kernelPool(ns: string): { mod: number; reachable: boolean; slots: number; backends: number } {
  const r = nsExec(ns, 'nft', ['list', 'table', 'inet', 'keepalived_ts']);
  assert.equal(r.status, 0, r.stderr);
  const pick = /numgen inc mod (\d+) offset (\d+)/.exec(r.stdout);
  const mod = Number(pick?.[1] ?? -1);
  const offset = Number(pick?.[2] ?? -1);
  const block = (name: string) =>
    /elements = \{([^}]*)\}/.exec(r.stdout.split(`map ${name} {`)[1] ?? '')?.[1] ?? '';
  const pairs = (s: string) =>
    new Map(
      s
        .split(',')
        .map((e) => e.trim().split(/\s*:\s*/))
        .filter((kv) => kv.length === 2)
        .map(([k, v]) => [Number(k), v as string]),
    );
  const slots = pairs(block('slots'));
  const backends = pairs(block('bk4'));
  let reachable = mod > 0;
  for (let i = 0; i < mod; i++) {
    const m = slots.get(offset + i);
    if (m === undefined || !backends.has(Number(m))) reachable = false;
  }
  return { mod, reachable, slots: slots.size, backends: backends.size };
}

describe('LVS bad things', { skip: !isRoot() && 'needs root' }, () => {
  let lab: NatLab;
  const procs: ChildProcess[] = [];
  before(async () => {
    lab = new NatLab();
    await lab.startServers();
  });
  after(() => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    nsExec(lab.director, 'nft', ['delete', 'table', 'inet', 'keepalived_ts']);
    lab?.close();
  });

  /** Starts the flipper in the director; resolves once its table is programmed. */
  function flipper(
    periodMs: number,
  ): Promise<{ p: ChildProcess; txs: () => number; adopted: boolean; firstTx: Promise<void> }> {
    const p = spawn('ip', ['netns', 'exec', lab.director, process.execPath, FLIPPER, String(periodMs)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    procs.push(p);
    let txs = 0;
    let adopted = false;
    let txSeen = () => {};
    const firstTx = new Promise<void>((r) => {
      txSeen = r;
    });
    let buf = '';
    return new Promise((resolve, reject) => {
      p.stdout?.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const l of lines) {
          if (l === 'adopted true') adopted = true;
          if (l === 'started') resolve({ p, txs: () => txs, adopted, firstTx });
          else if (l.startsWith('tx ')) {
            txs++;
            txSeen();
          }
        }
      });
      p.once('exit', (c, s) => reject(new Error(`flipper exited ${c ?? s} before programming`)));
    });
  }

  const kill = async (p: ChildProcess) => {
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  };

  it('a real server flapping every 100 ms: requests never fail, it gets traffic only while in', async () => {
    const f = await flipper(100);
    const res = await lab.clientRun({ durationMs: 3000, concurrency: 4 });
    const flips = f.txs();
    await kill(f.p);
    assert.equal(res.errors, 0, res.errs.join());
    assert.ok(flips >= 15, `only ${flips} flips in 3 s`);
    const c = counts(res.names);
    assert.deepEqual(Object.keys(c).sort(), ['rs1', 'rs2', 'rs3'], JSON.stringify(c));
    // In the pool half of the time: a third of the requests then, none otherwise.
    assert.ok((c.rs3 ?? 0) < (c.rs1 ?? 0), JSON.stringify(c));
  });

  it('the programming process SIGKILLed mid-transaction: never a half-written table, traffic never stops, a respawn re-converges', async () => {
    // 14 s of kills: under load 30 on 2 cores a programmer takes ~3 s to start, and at least 4 kills are wanted.
    const traffic = lab.clientRun({ durationMs: 16_000, concurrency: 4 });
    let kills = 0;
    let txs = 0;
    let adoptions = 0;
    const seen = new Set<string>();
    const t0 = Date.now();
    while (kills < 12 && Date.now() - t0 < 14_000) {
      const f = await flipper(0);
      if (f.adopted) adoptions++;
      // Killed at a random point of its back-to-back transactions.
      // Once its transactions are under way (a loaded machine may take a while to the first one).
      await Promise.race([f.firstTx, new Promise((r) => setTimeout(r, 5000))]);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 150)));
      await kill(f.p);
      txs += f.txs();
      kills++;
      const k = kernelPool(lab.director);
      // Either state, whole: 2 or 3 servers picked, every slot the pick can choose backed by a server.
      assert.ok(
        (k.mod === 2 || k.mod === 3) && k.reachable,
        `half-written after kill ${kills}: ${JSON.stringify(k)}`,
      );
      seen.add(String(k.mod));
    }
    const res = await traffic;
    const why = `requests failed across ${kills} kills: ${res.errs.join()}`;
    // Not one request refused. Each restart adopts the table the killed process left (the first too: the
    // flapping test's flipper left one) and sends only the difference, never replacing the table; replacing
    // it (delete and re-add of the NAT chain in one transaction) refused about one request in 7 runs. A slot
    // or backend deleted in the transaction that stops picking it refused one request in a few thousand
    // under load (a lookup racing the commit): they are retired instead (src/lvs/nft-retire.ts).
    assert.equal(res.errors, 0, why);
    assert.equal(adoptions, kills, `${adoptions} of ${kills} restarts adopted the table`);
    assert.ok(kills >= 4, `only ${kills} kills`);
    assert.ok(txs > kills, `transactions were under way: ${txs} in ${kills} runs`);
    assert.ok(res.names.length > 50, `${res.names.length} requests`);
    // A respawned programmer adopts the table and converges.
    const f = await flipper(1000);
    assert.ok(f.adopted, 'the respawned programmer adopted the table');
    const k = kernelPool(lab.director);
    assert.ok(k.mod === 3 || k.mod === 2, JSON.stringify(k));
    const after = await lab.clientRun({ count: 12 });
    assert.equal(after.errors, 0, after.errs.join());
    await kill(f.p);
  });
});
