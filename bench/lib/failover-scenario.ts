// The failover scenario shared by `npm start` and bench/compare-keepalived.ts: N routers (priorities high to
// low) share one VIP on a namespace LAN; a client pings the VIP. Steps: elect, cut the master's link, restore
// it (the master preempts back), stop the master gracefully (SIGTERM) and start it again. Each step reports
// what the daemons logged and what the client saw (udp-probe.ts: fixed-cadence UDP echo to the VIP).
import { monotonicUs } from '../../src/common/clock.js';
import { CLIENT_ADDRESS, FailoverLab, type LabHost } from './failover-lab.js';
import { PhaseCutter } from './phase-cutter.js';
import { type Outage, UdpProbe } from './udp-probe.js';
import { type Implementation, VrrpDaemon, vrrpConf } from './vrrp-daemon.js';

export const VIP = '192.0.2.100';
export const INSTANCE = 'VI_1';
const MASTER = /\(VI_1\) Entering MASTER STATE/;
const BACKUP = /\(VI_1\) Entering BACKUP STATE/;
const FAULT = /\(VI_1\) Entering FAULT STATE/;

export interface ScenarioOptions {
  /** Namespace name prefix, e.g. `kats-demo`. */
  prefix: string;
  impl: Implementation;
  version: 2 | 3;
  advertIntervalS: number;
  /** One per router, highest first: the first router is the elected master. */
  priorities: number[];
  probeIntervalMs: number;
}

export interface StepResult {
  /** Client-side silence around the event (null: the probe never recovered inside the wait). */
  outage: Outage | null;
  /** Event → the log line of the router that took over (ms, arrival times). */
  takeoverMs: number;
  /** Which router took over. */
  newMaster: string;
  /** Wall-clock ms of the event (cut, restore, SIGTERM, start) and of the takeover log line. */
  eventAtMs: number;
  takeoverAtMs: number;
}

export class FailoverScenario {
  readonly lab: FailoverLab;
  readonly daemons: VrrpDaemon[];
  #probe: UdpProbe | null = null;
  #cutter: PhaseCutter | null = null;
  readonly opts: ScenarioOptions;

  constructor(opts: ScenarioOptions) {
    this.opts = opts;
    this.lab = new FailoverLab(opts.prefix, opts.priorities.length);
    this.daemons = this.lab.routers.map((h, k) => {
      const conf = vrrpConf([
        {
          name: 'VI_1',
          vrid: 51,
          priority: opts.priorities[k]!,
          version: opts.version,
          advertIntervalS: opts.advertIntervalS,
          vips: [`${VIP}/24`],
        },
      ]);
      return new VrrpDaemon(h.label, opts.impl, h.ns, conf);
    });
  }

  /** The client's UDP probe (started by startAndElect). */
  get probe(): UdpProbe {
    if (!this.#probe) throw new Error('the probe starts in startAndElect()');
    return this.#probe;
  }

  get clientAddress(): string {
    return CLIENT_ADDRESS;
  }

  get top(): VrrpDaemon {
    return this.daemons[0]!;
  }

  get second(): VrrpDaemon {
    return this.daemons[1]!;
  }

  host(d: VrrpDaemon): LabHost {
    return this.lab.router(d.name);
  }

  /** A generous bound for anything that takes a few Master_Down_Intervals. */
  get settleMs(): number {
    return Math.max(3000, 8 * this.opts.advertIntervalS * 1000 + 2000);
  }

  /** Starts every daemon and waits for the top router MASTER, the others BACKUP, and the client answered. */
  async startAndElect(): Promise<void> {
    this.#probe = await UdpProbe.start(this.lab.client.ns, this.lab.routers, VIP, this.opts.probeIntervalMs);
    for (const d of this.daemons) d.start();
    await this.top.waitFor(MASTER, this.settleMs + 5000);
    await waitUntil(
      () => this.top.state() === 'MASTER' && this.daemons.slice(1).every((d) => d.state() === 'BACKUP'),
      this.settleMs,
      'top router MASTER, the others BACKUP',
    );
    if (!(await this.probe.waitReplies(Date.now(), 5, this.settleMs)))
      throw new Error(`the client gets no reply from ${VIP}`);
  }

  /** The routers holding the VIP right now. */
  holders(): string[] {
    return this.lab.holders(VIP).map((h) => h.label);
  }

  /**
   * Cuts the top router's link; waits for the second to take over and the client to be answered again.
   * `phaseUs`: cut that long after one of the top router's adverts (phase-cutter.ts) instead of at once.
   */
  async cutTop(phaseUs?: number): Promise<StepResult & { faultMs: number; phaseUs?: number }> {
    const top = this.top;
    const marks = this.daemons.map((d) => d.mark());
    let atMs = Date.now();
    let phase: number | undefined;
    if (phaseUs === undefined) this.lab.cut(this.host(top));
    else {
      const h = this.host(top);
      this.#cutter ??= await PhaseCutter.start(this.lab.bridgeNs, h.port, h.address);
      const cut = await this.#cutter.cut(phaseUs);
      // Both processes read CLOCK_MONOTONIC; Date.now() is the clock the log lines and probe replies carry.
      atMs = cut.cutUs / 1000 + (Date.now() - monotonicUs() / 1000);
      phase = cut.cutUs - cut.advertUs;
    }
    const fault = await top.waitFor(FAULT, this.settleMs, marks[0]);
    const step = await this.#takeover(atMs, marks);
    return { ...step, faultMs: fault.atMs - atMs, ...(phase === undefined ? {} : { phaseUs: phase }) };
  }

  /** Restores the top router's link; waits for it to preempt and the second to go back to BACKUP. */
  async restoreTop(): Promise<StepResult> {
    const top = this.top;
    const marks = this.daemons.map((d) => d.mark());
    const atMs = Date.now();
    this.lab.restore(this.host(top));
    const took = await top.waitFor(MASTER, this.settleMs, marks[0]);
    await this.second.waitFor(BACKUP, this.settleMs, marks[1]);
    const outage = await this.#clientOutage(atMs, took.atMs);
    return {
      outage,
      takeoverMs: took.atMs - atMs,
      newMaster: top.name,
      eventAtMs: atMs,
      takeoverAtMs: took.atMs,
    };
  }

  /** SIGTERM to the top router (it sends priority 0); waits for the takeover. */
  async stopTop(): Promise<StepResult & { exitedMs: number }> {
    const marks = this.daemons.map((d) => d.mark());
    const atMs = Date.now();
    const stopping = this.top.stop('SIGTERM');
    const step = await this.#takeover(atMs, marks);
    await stopping;
    return { ...step, exitedMs: Date.now() - atMs };
  }

  /** Starts the top router again; waits for it to be MASTER and the second BACKUP. */
  async restartTop(): Promise<StepResult> {
    const marks = this.daemons.map((d) => d.mark());
    const atMs = Date.now();
    this.top.start();
    const took = await this.top.waitFor(MASTER, this.settleMs + 5000, marks[0]);
    await this.second.waitFor(BACKUP, this.settleMs, marks[1]);
    const outage = await this.#clientOutage(atMs, took.atMs);
    return {
      outage,
      takeoverMs: took.atMs - atMs,
      newMaster: this.top.name,
      eventAtMs: atMs,
      takeoverAtMs: took.atMs,
    };
  }

  async #takeover(atMs: number, marks: number[]): Promise<StepResult> {
    const others = this.daemons.slice(1);
    const took = await Promise.any(others.map((d, k) => d.waitFor(MASTER, this.settleMs, marks[k + 1])));
    const who = others.find((d) => d.lines.includes(took))!;
    const outage = await this.#clientOutage(atMs, took.atMs);
    return {
      outage,
      takeoverMs: took.atMs - atMs,
      newMaster: who.name,
      eventAtMs: atMs,
      takeoverAtMs: took.atMs,
    };
  }

  /**
   * Waits until the client has had steady replies for a while after `afterMs`, then measures the longest
   * silence since `eventMs`.
   */
  async #clientOutage(eventMs: number, afterMs: number): Promise<Outage | null> {
    const steadyMs = Math.max(200, 3 * this.opts.advertIntervalS * 1000);
    await this.probe.waitReplies(afterMs, 10, this.settleMs);
    await sleep(Math.min(steadyMs, 1000));
    return this.probe.outage(eventMs, Date.now());
  }

  /** Stops every daemon (SIGTERM) and the probe, deletes the namespaces and the daemons' temp dirs. */
  async close(): Promise<void> {
    this.#probe?.stop();
    this.#cutter?.stop();
    await Promise.all(this.daemons.map((d) => d.stop('SIGTERM', 3000)));
    this.lab.close();
    for (const d of this.daemons) d.removeDir();
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}
