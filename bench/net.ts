// Cost of the koffi socket layer: sendto per packet, receive CPU per packet, and event-loop delay while a
// burst is being received. Runs in two throwaway namespaces joined by a veth pair; the sockets are opened
// by child processes inside them (`ip netns exec`), because this process stays in the root namespace.
// Usage (root): node --import tsx bench/net.ts [packets]
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { VrrpSocket } from '../src/net/vrrp-socket.js';
import { deleteNetns, ip, linkedPair } from '../test/helpers/netns.js';

const role = process.env.KATS_BENCH_ROLE;
const packets = Number(process.argv[2] ?? process.env.KATS_BENCH_PACKETS ?? 20000);
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

function advert(family: 4 | 6): Uint8Array {
  const p = new Uint8Array(family === 4 ? 12 : 24);
  p.set([0x31, 7, 100, 1, 0, 100]);
  return p;
}

function openSocket(family: 4 | 6, src: string): VrrpSocket {
  const r = VrrpSocket.open({ ifname: 'eth0', family, srcAddr: src });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

async function sender(family: 4 | 6): Promise<void> {
  const s = openSocket(family, family === 4 ? '192.0.2.1' : '2001:db8::1');
  const pkt = advert(family);
  let sendNs = 0n;
  let errors = 0;
  // Chunks with a pause between, so the receiver's socket buffer is not the thing being measured.
  for (let sent = 0; sent < packets; ) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 200 && sent < packets; i++, sent++) if (!s.send(pkt).ok) errors++;
    sendNs += process.hrtime.bigint() - t0;
    await new Promise((r) => setTimeout(r, 1));
  }
  s.close();
  out({ role: 'send', family, packets, errors, sendUsPerPacket: Number(sendNs) / 1000 / packets });
}

function receiver(family: 4 | 6): void {
  const s = openSocket(family, family === 4 ? '192.0.2.2' : '2001:db8::2');
  const delay = monitorEventLoopDelay({ resolution: 1 });
  let count = 0;
  let cpu0: NodeJS.CpuUsage | undefined;
  let idle: NodeJS.Timeout | undefined;
  const finish = () => {
    delay.disable();
    const cpu = process.cpuUsage(cpu0);
    s.close();
    out({
      role: 'recv',
      family,
      received: count,
      cpuUsPerPacket: (cpu.user + cpu.system) / Math.max(count, 1),
      loopDelayP99Ms: delay.percentile(99) / 1e6,
      loopDelayMaxMs: delay.max / 1e6,
    });
    process.exit(0);
  };
  s.onMessage(() => {
    if (count++ === 0) {
      cpu0 = process.cpuUsage();
      delay.enable();
    }
    clearTimeout(idle);
    idle = setTimeout(finish, 300);
  });
  out({ role: 'recv', ready: true });
  setTimeout(finish, 30_000);
}

type Lines = Record<string, unknown>[];

/** Starts a role inside `ns`; resolves once it is ready (receiver) with a promise of its output lines. */
function child(ns: string, childRole: string, family: 4 | 6): Promise<{ done: Promise<Lines> }> {
  const self = fileURLToPath(import.meta.url);
  const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', self, String(packets)], {
    env: { ...process.env, KATS_BENCH_ROLE: childRole, KATS_BENCH_FAMILY: String(family) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Lines = [];
  let buf = '';
  let onReady: (() => void) | undefined;
  p.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const o = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (o.ready) onReady?.();
      else lines.push(o);
    }
  });
  const done = new Promise<Lines>((resolve) => p.on('exit', () => resolve(lines)));
  if (childRole !== 'recv') return Promise.resolve({ done });
  return new Promise((resolve) => {
    onReady = () => resolve({ done });
  });
}

async function main(): Promise<void> {
  const [a, b] = linkedPair('bna', 'bnb');
  try {
    ip('-n', a, 'addr', 'add', '2001:db8::1/64', 'dev', 'eth0', 'nodad');
    ip('-n', b, 'addr', 'add', '2001:db8::2/64', 'dev', 'eth0', 'nodad');
    for (const family of [4, 6] as const) {
      const receiving = await child(b, 'recv', family);
      const [send] = await (await child(a, 'send', family)).done;
      const [recv] = await receiving.done;
      const f = (x: unknown) => Number(x).toFixed(2);
      console.log(
        `IPv${family} VRRP, ${packets} packets: sendto ${f(send?.sendUsPerPacket)} µs/packet (${send?.errors} errors); ` +
          `received ${recv?.received}, receive CPU ${f(recv?.cpuUsPerPacket)} µs/packet; ` +
          `event-loop delay during the burst p99 ${f(recv?.loopDelayP99Ms)} ms, max ${f(recv?.loopDelayMaxMs)} ms`,
      );
    }
  } finally {
    deleteNetns(a);
    deleteNetns(b);
  }
}

if (role === 'send') await sender(Number(process.env.KATS_BENCH_FAMILY) as 4 | 6);
else if (role === 'recv') receiver(Number(process.env.KATS_BENCH_FAMILY) as 4 | 6);
else await main();
