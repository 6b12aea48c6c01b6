// An LVS-DR director whose checker process (which programs the data plane) is SIGKILLed and respawned
// while clients hold connections through it: the respawned checker adopts the tables the dead one left
// (docs/lvs.md, "Adopting the table at start") and keeps the DR flow map, so every established connection
// goes on reaching its real server (with lvs_timeouts set, whose objects adoption reads back too).
// Replacing the tables instead empties the flow map: the next packet of each connection is scheduled anew
// (rr) and lands on another server, which resets it.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DR_REALS, DR_VIP, drDaemonConf } from '../daemon/lvs-daemon-lab.js';
import { killAllRouters, needsRoot, Router } from '../daemon/router.js';
import { Lab, nsExec } from '../helpers/netns.js';
import { drClientDirector, drRealServer } from './lab.js';

const skip = needsRoot();
const VIP = DR_VIP;
const RS = DR_REALS;
let lab: Lab;
let client = '';
let director = '';
const procs: ChildProcess[] = [];

// lvs_timeouts set: the respawned checker adopts all the same (its ct timeout objects are read back too).
const conf = `global_defs {\n  lvs_timeouts tcp 7200 udp 77\n}\n${drDaemonConf({ vrid: 72, priority: 150 })}`;

/** A server answering each line with its name, on connections that stay open. */
const lineServerJs = (name: string) => `
require('node:net').createServer((c) => {
  c.on('data', () => c.write('${name}\\n'));
  c.on('error', () => {});
}).listen(80, '0.0.0.0', () => console.log('ready'));
`;

/**
 * Opens 3 connections to the VIP one after the other and asks each who answers; on a line on stdin asks
 * again, in reverse order (a rescheduled connection would then meet other servers than before); prints
 * {first, second} (names, or the error of each connection).
 */
const holderJs = `
const net = require('node:net');
const ask = (c) => new Promise((res) => {
  const t = setTimeout(() => res('timeout'), 3000);
  const fin = (x) => { clearTimeout(t); c.removeAllListeners('data'); c.removeAllListeners('error'); c.removeAllListeners('close'); res(x); };
  c.once('data', (d) => fin(String(d).trim()));
  c.once('error', (e) => fin(e.code || e.message));
  c.once('close', () => fin('closed'));
  c.write('who\\n');
});
(async () => {
  const conns = []; const first = [];
  for (let i = 0; i < 3; i++) {
    const c = net.connect({ host: '${VIP}', port: 80, localAddress: '198.51.100.10' });
    await new Promise((res, rej) => { c.once('connect', res); c.once('error', rej); });
    conns.push(c);
    first.push(await ask(c));
  }
  console.log(JSON.stringify({ first }));
  process.stdin.once('data', async () => {
    const second = [];
    for (const c of [...conns].reverse()) second.unshift(await ask(c));
    console.log(JSON.stringify({ second }));
    for (const c of conns) c.destroy();
  });
})();
`;

before(async () => {
  if (skip) return;
  lab = new Lab('drresp');
  ({ client, director } = drClientDirector(lab, 'cl', 'd1'));
  await Promise.all(
    RS.map((addr, i) => {
      const ns = drRealServer(lab, `rs${i + 1}`, addr, undefined, VIP);
      const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', lineServerJs(`rs${i + 1}`)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      procs.push(p);
      return new Promise<void>((res, rej) => {
        p.stdout?.once('data', () => res());
        p.once('exit', (c) => rej(new Error(`server exited ${c}`)));
      });
    }),
  );
});

after(() => {
  killAllRouters();
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  lab?.close();
});

const flowCount = (): number => {
  const r = nsExec(director, 'nft', ['list', 'map', 'netdev', 'keepalived_ts_dr', 'flows4']);
  const els = /elements = \{([^}]*)\}/.exec(r.stdout)?.[1] ?? '';
  return els.trim() === '' ? 0 : els.split(',').length;
};

test('LVS-DR: established connections survive a checker SIGKILL and respawn (flow map adopted)', {
  skip,
  timeout: 60_000,
}, async () => {
  const pidFile = join(mkdtempSync(join(tmpdir(), 'kats-drresp-')), 'checkers.pid');
  const d = new Router('d1', director, conf, { extraArgs: ['-c', pidFile] });
  await d.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
  // The checker programs the table once all three real servers have been checked.
  const probe = `const c = require('node:net').connect({ host: '${VIP}', port: 80 }, () => c.write('x\\n'));
    c.on('data', () => process.exit(0)); c.on('error', () => process.exit(1)); setTimeout(() => process.exit(1), 1000);`;
  for (let k = 0; k < 40 && nsExec(client, process.execPath, ['-e', probe]).status !== 0; k++)
    await new Promise((r) => setTimeout(r, 250));
  const holder = spawn('ip', ['netns', 'exec', client, process.execPath, '-e', holderJs], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  procs.push(holder);
  const lines: string[] = [];
  let buf = '';
  holder.stdout?.setEncoding('utf8').on('data', (x: string) => {
    buf += x;
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
  });
  const line = async (ms: number): Promise<Record<string, string[]>> => {
    const t0 = Date.now();
    while (lines.length === 0) {
      if (Date.now() - t0 > ms || holder.exitCode !== null) throw new Error('no answer from the client');
      await new Promise((r) => setTimeout(r, 50));
    }
    return JSON.parse(lines.shift() as string) as Record<string, string[]>;
  };
  const first = (await line(10_000)).first ?? [];
  // rr over three new connections: one on each real server.
  assert.deepEqual([...first].sort(), ['rs1', 'rs2', 'rs3'], JSON.stringify(first));
  assert.equal(flowCount() >= 3, true, 'the connections have flow entries');

  const mark = d.mark();
  process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
  await d.waitFor(/Healthcheck child process\(\d+\) died/, 5000, mark);
  await d.waitFor(/nftables: adopted the tables an earlier run left \(0 flow entries/, 20_000, mark);
  assert.ok(flowCount() >= 3, 'the flow entries are still there');
  const objects = nsExec(director, 'nft', ['list', 'table', 'inet', 'keepalived_ts']).stdout;
  assert.deepEqual(
    [...objects.matchAll(/ct timeout (\S+) \{/g)].map((m) => m[1]),
    ['to_tcp_7200_0', 'to_udp_77'],
  );

  holder.stdin?.write('go\n');
  const { second } = await line(10_000);
  // Each connection still reaches the server it was established with.
  assert.deepEqual(second, first);
  assert.equal(await d.stop('SIGTERM', 10_000), 0);
});
