// Which VRRP notifications become mail, as keepalived decides (docs/notify-mail.md "VRRP alerts"): instances
// and sync groups with smtp_alert on (their own keyword, else smtp_alert_vrrp, else smtp_alert, else off),
// for the states MASTER, BACKUP, FAULT (not with no_email_faults) and, for instances, DELETED; never the same
// state twice in a row. Not STOP: see alertFor. Composing an alert is a few string operations; the sending is elsewhere.
import type { KeepalivedConfig } from '../../config/model.js';
import { type MailAlert, type MailSettings, mailSettings, routerIdOf, vrrpAlert } from './message.js';

export interface VrrpMailPlan {
  settings: MailSettings;
  routerId: string;
  instances: Set<string>;
  groups: Set<string>;
  noEmailFaults: boolean;
}

/** The VRRP side's mail plan, or null when no VRRP alert can be sent (nothing to start for it). */
export function vrrpMailPlan(cfg: KeepalivedConfig): VrrpMailPlan | null {
  const g = cfg.globalDefs;
  const settings = mailSettings(g);
  if (!settings) return null;
  const dflt = g.smtpAlertVrrp ?? g.smtpAlert ?? false;
  const instances = new Set(cfg.vrrpInstances.filter((i) => i.smtpAlert ?? dflt).map((i) => i.name));
  const groups = new Set(cfg.syncGroups.filter((s) => s.smtpAlert ?? dflt).map((s) => s.name));
  if (instances.size === 0 && groups.size === 0) return null;
  return { settings, routerId: routerIdOf(g), instances, groups, noEmailFaults: g.noEmailFaults === true };
}

export class VrrpMailAlerts {
  #plan: VrrpMailPlan | null;
  /** keepalived's last_email_state, per "INSTANCE name" / "GROUP name". */
  readonly #last = new Map<string, string>();

  constructor(plan: VrrpMailPlan | null) {
    this.#plan = plan;
  }

  configure(plan: VrrpMailPlan | null): void {
    this.#plan = plan;
  }

  /** The alert for a notification, or null when keepalived mails nothing for it. */
  alertFor(e: { scope: 'INSTANCE' | 'GROUP'; name: string; state: string }): MailAlert | null {
    const p = this.#plan;
    if (!p) return null;
    if (!(e.scope === 'INSTANCE' ? p.instances : p.groups).has(e.name)) return null;
    if (p.noEmailFaults && e.state === 'FAULT') return null;
    // keepalived composes STOP alerts at shutdown, but its VRRP process exits before the dialogue can run:
    // none ever arrives (seen against 2.2.7), so none is sent here either.
    if (e.state === 'STOP') return null;
    const key = `${e.scope} ${e.name}`;
    if (this.#last.get(key) === e.state) return null;
    const a = vrrpAlert(p.routerId, e.scope, e.name, e.state);
    if (a) this.#last.set(key, e.state);
    return a;
  }
}
