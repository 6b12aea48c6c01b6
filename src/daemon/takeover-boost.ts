// A takeover's writes — the advert, the VIP install, the gratuitous ARPs — run at real-time priority
// (SCHED_RR 1, SCHED_RESET_ON_FORK) and return to the normal policy straight after: two system calls per
// transition to MASTER. A takeover on a Master_Down deadline is raised earlier, at the deadline's early wake
// (deadline-timer.ts onKeenPhase), so that the wake at the end of its sleep and its wait on the CPU are not
// queued behind other tasks either; a master's next advert likewise over its last 10 ms (a punctual
// deadline), since a busy host otherwise holds a normal task's wake-up back by up to a scheduler tick.
//
// Why: the advert wakes listeners on this host (a VRRP peer in a namespace, a capture, the service behind the
// VIP), and a socket wake-up puts the woken task on the sender's CPU, where it preempts the sender; a normal
// task cannot preempt a real-time one. Measurements: docs/decisions/takeover-boost.md.
//
// keepalived has no such default (its vrrp_rt_priority makes the whole process real-time); with that set
// here too the process is real-time already and the boost stays out of the way. Without CAP_SYS_NICE the
// first refusal is logged and the boost is off.
import { errnoName } from '../net/net-error.js';
import { SCHED_OTHER, SCHED_RESET_ON_FORK, SCHED_RR, tuningCalls } from './process-tuning.js';

/** The real-time priority of a boosted takeover: the lowest, above every normal task and below any RT one. */
export const BOOST_RT_PRIORITY = 1;

/** The boost raised on this thread now, if any: the thread's policy is one per thread, so one record. */
let raised: TakeoverBoost | null = null;

/**
 * Back to the normal policy before work that may run long (a reload's configuration read, a data dump): a
 * deadline's phase may be under way when it starts, and a long run at real-time priority would hold a CPU
 * from every normal task. The phase does not resume; the next deadline's starts as usual.
 */
export function normalPriorityNow(): void {
  raised?.leave();
}

export class TakeoverBoost {
  /** 'off': never (real-time already, or refused); 'idle': ready; 'raised': inside a takeover. */
  #state: 'off' | 'idle' | 'raised';
  readonly #onRefused: (message: string) => void;

  /** `realtimeAlready`: vrrp_rt_priority is in force, so the process never leaves SCHED_RR. */
  constructor(realtimeAlready: boolean, onRefused: (message: string) => void) {
    this.#state = realtimeAlready ? 'off' : 'idle';
    this.#onRefused = onRefused;
  }

  /** Raises the calling thread's policy; false when it did not (off, refused, or raised already). */
  enter(): boolean {
    if (this.#state !== 'idle') return false;
    let c: ReturnType<typeof tuningCalls>;
    try {
      c = tuningCalls();
    } catch {
      this.#state = 'off';
      return false;
    }
    if (c.schedSetscheduler(0, SCHED_RR | SCHED_RESET_ON_FORK, BOOST_RT_PRIORITY) !== 0) {
      this.#state = 'off';
      this.#onRefused(
        `takeovers run at normal priority: real-time priority refused (${errnoName(c.errno())}; needs CAP_SYS_NICE)`,
      );
      return false;
    }
    this.#state = 'raised';
    raised = this;
    return true;
  }

  /** Back to SCHED_OTHER (the nice value, vrrp_priority's, is kept by the kernel); idempotent. */
  leave(): void {
    if (this.#state !== 'raised') return;
    this.#state = 'idle';
    raised = null;
    tuningCalls().schedSetscheduler(0, SCHED_OTHER, 0);
  }
}
