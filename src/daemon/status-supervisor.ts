// The status listener process, seen from the main process (the shape of checker-supervisor.ts): forked from
// the daemon's own entry script with STATUS_CHILD_ARG, fed by the StatusFeed (src/status/feed.ts), restarted
// with back-off when it dies. The VRRP engine never waits on it: messages are queued and sent after the
// current batch, and when the child stops reading (wedged, or slower than the feed), snapshots are dropped
// rather than buffered in this process. Why a process and not a thread: docs/decisions/status-listener.md.
import { type ChildProcess, fork } from 'node:child_process';
import type { Logger } from '../common/logger.js';
import { isFromStatus, type ListenerSettings, STATUS_CHILD_ARG, type ToStatus } from '../status/channel.js';
import { childExecArgv, exitHow, RespawnBackoff, stopChild } from './child-process.js';

/** Messages handed to the pipe and not yet written: beyond this, snapshots are dropped. */
const MAX_IN_FLIGHT = 16;
/** The listener's young generation (it parses HTTP and builds JSON; the VRRP process keeps 1 MiB). */
const LISTENER_SEMI_SPACE_MB = 4;

export interface StatusSupervisorOptions {
  settings: ListenerSettings;
  log: Logger;
  version: string;
  /** Called when a new listener is ready: replay the state (StatusFeed.replay). */
  onReady: () => void;
  /** The entry script to fork (default: this process's). */
  script?: string;
}

export class StatusSupervisor {
  readonly #o: StatusSupervisorOptions;
  #child: ChildProcess | null = null;
  #startedAt = 0;
  readonly #respawn = new RespawnBackoff();
  #stopping = false;
  #inFlight = 0;
  #ready = false;
  readonly #startedMs = Date.now();
  /** Listeners started so far; snapshots dropped because the child lagged (for tests and the log). */
  starts = 0;
  dropped = 0;

  constructor(o: StatusSupervisorOptions) {
    this.#o = o;
  }

  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  start(): void {
    if (this.#stopping || this.#child) return;
    const script = this.#o.script ?? process.argv[1];
    if (script === undefined) return;
    const child = fork(script, [STATUS_CHILD_ARG], {
      execArgv: childExecArgv(process.execArgv, LISTENER_SEMI_SPACE_MB),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    this.#child = child;
    this.#ready = false;
    this.#inFlight = 0;
    this.#startedAt = Date.now();
    this.starts++;
    this.#o.log.info(`Starting status listener process, pid=${child.pid}`);
    child.on('message', (m: unknown) => {
      if (!isFromStatus(m)) return;
      if (m.type === 'ready') {
        this.#ready = true;
        this.#sendSettings();
        this.#o.onReady();
      } else if (m.type === 'listening') this.#o.log.info(`Status listener on ${m.address}`);
      else if (m.level === 'error') this.#o.log.error(`status listener: ${m.text}`);
      else this.#o.log.info(`status listener: ${m.text}`);
    });
    child.on('error', (e) => this.#o.log.error(`status listener process: ${e.message}`));
    child.on('exit', (code, signal) => this.#exited(child, code, signal));
  }

  #exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child !== child) return;
    this.#child = null;
    this.#ready = false;
    if (this.#stopping) return;
    const delayS = this.#respawn.schedule(this.#startedAt, () => this.start(), { unref: true });
    this.#o.log.error(
      `status listener process(${child.pid}) died (${exitHow(code, signal)}): Respawning in ${delayS} s`,
    );
  }

  /**
   * Sends now (callers queue: the feed sends after the runtime's batch). Snapshots give way to a lagging
   * child; real-server changes (events) do not, as the next snapshot would not bring them back.
   */
  send(m: ToStatus): void {
    const c = this.#child;
    if (!c?.connected || !this.#ready) return;
    const snapshot = m.type === 'tick' || (m.type === 'realServers' && m.events === undefined);
    if (this.#inFlight >= MAX_IN_FLIGHT && snapshot) {
      this.dropped++;
      return;
    }
    this.#inFlight++;
    c.send(m, (e) => {
      this.#inFlight--;
      if (e) this.#o.log.detail(`status channel: ${e.message}`);
    });
  }

  /** New settings for the running listener (a reload changed metrics_token): sent now, and to each new one. */
  setSettings(settings: ListenerSettings): void {
    this.#o.settings = settings;
    this.#sendSettings();
  }

  #sendSettings(): void {
    this.send({
      type: 'settings',
      settings: this.#o.settings,
      daemon: { pid: process.pid, version: this.#o.version, startedMs: this.#startedMs },
    });
  }

  async stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    this.#respawn.cancel();
    await stopChild(this.#child, timeoutMs, (c) => c.kill('SIGTERM'));
  }
}
