// keepalived's notifications (docs/keepalived-semantics.md, 'Notifications'): for each notify action, the
// specific script (notify_master, notify_backup, notify_fault, notify_stop, notify_master_rx_lower_pri), then
// the generic `notify` with 4 more args (INSTANCE|GROUP, name, state, priority), then one line on each notify
// FIFO (`INSTANCE "VI_1" MASTER 100`). Scripts are spawned detached in their own process group and never
// awaited: nothing on the advert path waits for them.
import type { Logger } from '../common/logger.js';
import type { UserRef } from '../common/script-identity.js';
import type { NotifyScripts, ScriptSpec } from '../config/model.js';
import type { NotifyState } from '../vrrp/actions.js';
import { MailProcess } from './mail/mail-process.js';
import { VrrpMailAlerts, type VrrpMailPlan } from './mail/vrrp-alerts.js';
import { type FifoPlan, NotifyFifos } from './notify-fifos.js';
import { ScriptLauncher } from './script-launcher.js';

export interface NotifyEvent {
  scope: 'INSTANCE' | 'GROUP';
  name: string;
  state: NotifyState;
  priority: number;
}

/** The FIFO line keepalived writes (vrrp_notify.c format). */
export function fifoLine(e: NotifyEvent): string {
  return `${e.scope} "${e.name}" ${e.state} ${e.priority}\n`;
}

/** The specific script for a state, if configured. */
export function scriptFor(scripts: NotifyScripts, state: NotifyState): ScriptSpec | undefined {
  switch (state) {
    case 'MASTER':
      return scripts.master;
    case 'BACKUP':
      return scripts.backup;
    case 'FAULT':
      return scripts.fault;
    case 'STOP':
      return scripts.stop;
    case 'MASTER_RX_LOWER_PRI':
      return scripts.masterRxLowerPri;
    case 'DELETED':
      return scripts.deleted;
    default:
      return undefined;
  }
}

/** How long the mailer process may go on after the daemon stops, to send the STOP alerts. */
const MAILER_STOP_GRACE_MS = 2000;

const GENERIC_STATES = new Set<NotifyState>(['MASTER', 'BACKUP', 'FAULT', 'STOP', 'DELETED']);

/** The generic `notify` script runs for real states only (DELETED included), not for the pseudo-states. */
export function genericArgv(scripts: NotifyScripts, e: NotifyEvent): string[] | undefined {
  if (!scripts.generic) return undefined;
  if (!GENERIC_STATES.has(e.state)) return undefined;
  return [...scripts.generic.argv, e.scope, e.name, e.state, String(e.priority)];
}

export class Notifier {
  #instances: Map<string, NotifyScripts>;
  #groups: Map<string, NotifyScripts>;
  readonly #fifos: NotifyFifos;
  readonly #scripts: ScriptLauncher;
  readonly #log: Logger;
  /** smtp_alert (docs/notify-mail.md): which notifications mail, and the mailer process that sends them. */
  readonly #mailAlerts: VrrpMailAlerts;
  #mailer: MailProcess | null = null;

  constructor(
    instances: Map<string, NotifyScripts>,
    groups: Map<string, NotifyScripts>,
    fifos: FifoPlan,
    log: Logger,
    scriptUser?: UserRef,
    mail: VrrpMailPlan | null = null,
  ) {
    this.#log = log;
    this.#mailAlerts = new VrrpMailAlerts(mail);
    if (mail) this.#mailer = new MailProcess(mail.settings, log);
    this.#instances = instances;
    this.#groups = groups;
    this.#scripts = new ScriptLauncher(log, scriptUser);
    this.#fifos = new NotifyFifos(log);
    this.#fifos.open(fifos);
  }

  /** Reload: the FIFOs closed and opened again, their scripts restarted (notify-fifos.ts). */
  reopenFifos(plan: FifoPlan): void {
    this.#fifos.open(plan);
  }

  /** Reload: new notify scripts, and the new mail plan (undefined: unchanged). */
  setScripts(
    instances: Map<string, NotifyScripts>,
    groups: Map<string, NotifyScripts>,
    mail?: VrrpMailPlan | null,
  ): void {
    this.#instances = instances;
    this.#groups = groups;
    if (mail === undefined) return;
    this.#mailAlerts.configure(mail);
    if (mail && this.#mailer) this.#mailer.configure(mail.settings);
    else if (mail) this.#mailer = new MailProcess(mail.settings, this.#log);
  }

  notify(e: NotifyEvent): void {
    const scripts = (e.scope === 'INSTANCE' ? this.#instances : this.#groups).get(e.name) ?? {};
    const specific = scriptFor(scripts, e.state);
    if (specific) this.#scripts.run(specific.argv, specific);
    const generic = genericArgv(scripts, e);
    if (generic && scripts.generic) this.#scripts.run(generic, scripts.generic);
    this.#fifos.write(fifoLine(e));
    // keepalived's order: scripts, FIFO, then the mail (composed here, sent by the mailer process).
    const alert = this.#mailer && this.#mailAlerts.alertFor(e);
    if (alert) this.#mailer!.post(alert);
  }

  /** The FIFO line alone (no script, no mail): fifo_write_vrrp_states_on_reload's restatement. */
  fifoOnly(e: NotifyEvent): void {
    this.#fifos.write(fifoLine(e));
  }

  /**
   * Resolves when no notify script is running any more, or after `timeoutMs`: a stopping daemon gives the
   * scripts it just started (notify_stop, the generic notify's STOP) that long before close() ends them, and
   * its FIFOs' readers as long to drain the closed FIFOs (notify-fifos.ts).
   */
  settle(timeoutMs: number): Promise<void> {
    return Promise.all([this.#scripts.settle(timeoutMs), this.#fifos.settle(timeoutMs)]).then(() => {});
  }

  close(): void {
    this.#mailer?.close(MAILER_STOP_GRACE_MS);
    this.#mailer = null;
    this.#scripts.close();
    this.#fifos.close();
  }
}
