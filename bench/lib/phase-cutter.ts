// Cuts a router's link at a chosen point of its advert cycle. A client-seen failover outage runs from the cut
// to the new master's first answer, and the cut can fall anywhere between two adverts: with random cuts each
// sample carries up to one advert interval of noise (±14 % of a 35 ms failover at advert_int 0.01), more than
// the difference between two implementations. Cutting at set offsets after an advert — the same offsets for
// each implementation, spread evenly over the interval — keeps the phase out of the comparison and the
// figures still cover every phase.
//
// The cutter runs in the lab's bridge namespace (phase-cutter-main.ts), where it sees the router's frames on
// its bridge port and takes that port down through rtnetlink within microseconds of the planned time.
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { trackChild } from './cleanup.js';

const MAIN = resolve(import.meta.dirname, 'phase-cutter-main.ts');

export interface PhaseCut {
  /** CLOCK_MONOTONIC µs of the advert the cut was timed from (seen on the bridge port) and of the cut. */
  advertUs: number;
  cutUs: number;
}

export class PhaseCutter {
  readonly #proc: ChildProcess;
  readonly #answers: ((line: string) => void)[] = [];
  readonly #lines: string[] = [];

  private constructor(proc: ChildProcess) {
    this.#proc = proc;
    const rl = createInterface({ input: proc.stdout! });
    rl.on('line', (line) => {
      const waiter = this.#answers.shift();
      if (waiter) waiter(line);
      else this.#lines.push(line);
    });
  }

  /** Starts the cutter for `port` (in `bridgeNs`) watching adverts from `routerAddress`. */
  static async start(bridgeNs: string, port: string, routerAddress: string): Promise<PhaseCutter> {
    const proc = spawn(
      'ip',
      ['netns', 'exec', bridgeNs, process.execPath, '--import', 'tsx', MAIN, port, routerAddress],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    trackChild(proc);
    const c = new PhaseCutter(proc);
    const first = await c.#next(20_000);
    if (first !== '"ready"') throw new Error(`phase cutter did not start: ${first}`);
    return c;
  }

  #next(timeoutMs: number): Promise<string> {
    const queued = this.#lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`phase cutter: no answer in ${timeoutMs} ms`)), timeoutMs);
      this.#answers.push((line) => {
        clearTimeout(t);
        res(line);
      });
    });
  }

  /** Takes the port down `afterUs` after the router's next advert; resolves once it is down. */
  async cut(afterUs: number, timeoutMs = 10_000): Promise<PhaseCut> {
    this.#proc.stdin!.write(`${JSON.stringify({ afterUs: Math.round(afterUs) })}\n`);
    const answer = JSON.parse(await this.#next(timeoutMs)) as Partial<PhaseCut> & { error?: string };
    if (answer.error !== undefined || answer.advertUs === undefined || answer.cutUs === undefined)
      throw new Error(`phase cutter: ${answer.error ?? 'bad answer'}`);
    return { advertUs: answer.advertUs, cutUs: answer.cutUs };
  }

  stop(): void {
    this.#proc.stdin?.end();
    this.#proc.kill('SIGTERM');
  }
}
