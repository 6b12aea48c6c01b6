// Outputs of the checker core: a JSON-safe union, performed in order by the checker process. Servers are
// named the way keepalived prints them (resolve.ts): `vs` "[192.0.2.100]:tcp:80", `rs` "[192.0.2.10]:tcp:80".
import type { Checker, CheckerKind, ScriptSpec } from '../../config/model.js';
import type { ProbeTarget } from '../probe.js';

export type CheckAction =
  /** Run one attempt of this probe now and report it with probeResult (at most one attempt at a time). */
  | {
      type: 'runProbe';
      probeId: number;
      kind: CheckerKind;
      checker: Checker;
      target: ProbeTarget;
      timeoutUs: number;
    }
  /** A reload dropped this probe: release it (an attempt in flight is no longer wanted). */
  | { type: 'closeProbe'; probeId: number }
  /** The real server is in service (all its checkers up); `weight` is what the data plane should use. */
  | { type: 'realServerUp'; vs: string; rs: string; weight: number; reason: string }
  /** Out of service: removed, or kept at weight 0 when `inhibit` (inhibit_on_failure). */
  | { type: 'realServerDown'; vs: string; rs: string; weight: 0; inhibit: boolean; reason: string }
  /** The weight of a real server in service changed (misc_dynamic, FILE_CHECK, slow start, reload). */
  | { type: 'realServerWeight'; vs: string; rs: string; weight: number; reason: string }
  /** Gone from the configuration (reload) or shutting down (stop). */
  | { type: 'realServerRemoved'; vs: string; rs: string; reason: string }
  | { type: 'virtualServerRemoved'; vs: string; reason: string }
  | { type: 'quorumGained'; vs: string; weightSum: number; threshold: number }
  | { type: 'quorumLost'; vs: string; weightSum: number; threshold: number }
  /** The sorry server replaces the real servers (quorum lost). */
  | { type: 'sorryServerIn'; vs: string; sorry: string; address: string; port: number }
  | { type: 'sorryServerOut'; vs: string; sorry: string; address: string; port: number }
  /**
   * Run a configured script (not awaited). `stopping`: keepalived gives scripts run at shutdown 1 s.
   */
  | {
      type: 'notify';
      event: 'notify_up' | 'notify_down' | 'quorum_up' | 'quorum_down';
      script: ScriptSpec;
      vs: string;
      rs?: string;
      stopping: boolean;
    }
  /**
   * A line for notify_fifo / lvs_notify_fifo ("RS [rip]:tcp:80 [vip]:tcp:80 UP\n", "VS [vip]:tcp:80 DOWN\n").
   * keepalived writes one NUL byte after the newline; the writer decides whether to copy that.
   */
  | { type: 'fifo'; line: string }
  /**
   * An smtp_alert mail (docs/notify-mail.md): about real server `rs` of `vs` when set, else about the virtual
   * server's quorum; `up` is the subject's UP/DOWN (the real server's liveness, or the quorum's state).
   */
  | { type: 'mail'; vs: string; rs?: string; up: boolean; body: string }
  /** A log line in keepalived's wording where it has one. */
  | { type: 'log'; message: string };

export type CheckActionType = CheckAction['type'];
