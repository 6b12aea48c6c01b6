// HTTP load on the status listener, run inside the daemon's namespace:
//   node bench/lib/http-load-main.ts <host> <port> <token|-> seq <path> <count>
//     <count> requests one after the other; prints {latenciesMs, bytes, statuses}.
//   node bench/lib/http-load-main.ts <host> <port> <token|-> rate <per second> <seconds> <path,path,...>
//     open loop: a request every 1/rate s, rotating through the paths (a leading '!' sends no token, a
//     leading '~' asks for gzip as Prometheus does: Accept-Encoding: gzip; bytes are as received),
//     at most 32 in flight (the rest counted as skipped); prints {sent, done, skipped, statuses, latenciesMs}.
// Prints "ready" first, then the JSON on one line when done.
import { Agent, request } from 'node:http';

const [host, portText, tokenArg, mode, ...rest] = process.argv.slice(2);
const port = Number(portText);
const token = tokenArg === '-' ? undefined : tokenArg;
const agent = new Agent({ keepAlive: true, maxSockets: 32 });

function get(path: string): Promise<{ ms: number; status: number; bytes: number }> {
  const gzip = path.startsWith('~');
  const auth = !path.startsWith(gzip ? '~!' : '!');
  const p = path.slice((gzip ? 1 : 0) + (auth ? 0 : 1));
  const headers: Record<string, string> = gzip ? { 'Accept-Encoding': 'gzip' } : {};
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  const t0 = performance.now();
  return new Promise((res) => {
    const req = request({ host, port, path: p, agent, headers }, (r) => {
      let bytes = 0;
      r.on('data', (c: Buffer) => {
        bytes += c.length;
      });
      r.on('end', () => res({ ms: performance.now() - t0, status: r.statusCode ?? 0, bytes }));
    });
    req.on('error', () => res({ ms: performance.now() - t0, status: 0, bytes: 0 }));
    req.end();
  });
}

console.log('ready');
if (mode === 'seq') {
  const [path, countText] = rest;
  const latenciesMs: number[] = [];
  const statuses: Record<number, number> = {};
  let bytes = 0;
  for (let k = 0; k < Number(countText); k++) {
    const r = await get(path!);
    latenciesMs.push(r.ms);
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    bytes = r.bytes;
  }
  console.log(JSON.stringify({ latenciesMs, bytes, statuses }));
} else {
  const [rateText, secondsText, pathsText] = rest;
  const rate = Number(rateText);
  const paths = pathsText!.split(',');
  const endAt = performance.now() + Number(secondsText) * 1000;
  const latenciesMs: number[] = [];
  const statuses: Record<number, number> = {};
  let sent = 0;
  let skipped = 0;
  let inFlight = 0;
  const start = performance.now();
  await new Promise<void>((done) => {
    const step = () => {
      const now = performance.now();
      // Catch up to the schedule (timers are coarse): every request due by now.
      const due = Math.floor(((now - start) * rate) / 1000);
      while (sent + skipped < due) {
        if (inFlight >= 32) {
          skipped++;
          continue;
        }
        const path = paths[(sent + skipped) % paths.length]!;
        sent++;
        inFlight++;
        void get(path).then((r) => {
          inFlight--;
          latenciesMs.push(r.ms);
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        });
      }
      if (now >= endAt) {
        const wait = setInterval(() => {
          if (inFlight === 0 || performance.now() > endAt + 5000) {
            clearInterval(wait);
            done();
          }
        }, 20);
        return;
      }
      setTimeout(step, 1);
    };
    step();
  });
  console.log(JSON.stringify({ sent, done: latenciesMs.length, skipped, statuses, latenciesMs }));
}
agent.destroy();
