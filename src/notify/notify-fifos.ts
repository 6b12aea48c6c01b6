// The notify FIFOs of one process and the *_fifo_scripts that read them. As keepalived 2.2.7's: each script
// starts with its FIFO's path as its last argument and runs until the process stops; at a reload the
// scripts are stopped (SIGTERM to their groups), the FIFOs closed — removed when this process made them —
// and both made again from the new configuration, so a changed path, script, script_user or umask takes
// effect at the reload (docs/keepalived-semantics.md, "Notify FIFOs").

import type { Logger } from '../common/logger.js';
import type { UserRef } from '../common/script-identity.js';
import type { GlobalDefs, ScriptSpec } from '../config/model.js';
import { FifoWriter, ScriptLauncher } from './script-launcher.js';

/** What one process opens: its FIFOs, and the scripts started to read them. */
export interface FifoPlan {
  fifos: string[];
  scripts: { fifo: string; script: ScriptSpec }[];
  scriptUser?: UserRef;
}

/**
 * One process's FIFOs: the global notify_fifo and its own (vrrp_notify_fifo, lvs_notify_fifo), the same path
 * written once, with the scripts that read them — the global FIFO's when `globalScript` (the process that
 * starts it), the own FIFO's unless it is the global FIFO's path (ignored then, as keepalived does).
 */
export function fifoPlan(
  g: GlobalDefs,
  own: { fifo: string | undefined; script: ScriptSpec | undefined },
  globalScript: boolean,
): FifoPlan {
  const scripts: FifoPlan['scripts'] = [];
  if (globalScript && g.notifyFifo && g.notifyFifoScript)
    scripts.push({ fifo: g.notifyFifo, script: g.notifyFifoScript });
  if (own.fifo && own.script && own.fifo !== g.notifyFifo)
    scripts.push({ fifo: own.fifo, script: own.script });
  return {
    fifos: [...new Set([g.notifyFifo, own.fifo].filter((f): f is string => !!f))],
    scripts,
    ...(g.scriptUser ? { scriptUser: g.scriptUser } : {}),
  };
}

export class NotifyFifos {
  readonly #log: Logger;
  #writer: FifoWriter | null = null;
  /** The FIFO scripts' own launcher: a reload stops them without touching notify scripts in flight. */
  #readers: ScriptLauncher | null = null;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Closes what is open, then opens the plan's FIFOs and starts their scripts. */
  open(plan: FifoPlan): void {
    this.close();
    this.#writer = new FifoWriter(plan.fifos, this.#log);
    if (plan.scripts.length === 0) return;
    this.#readers = new ScriptLauncher(this.#log, plan.scriptUser);
    for (const f of plan.scripts)
      this.#readers.run([...f.script.argv, f.fifo], f.script, 'notify FIFO script');
  }

  write(line: string): void {
    this.#writer?.write(line);
  }

  /**
   * At a stop, once its last lines are written: the FIFOs are closed, so a reader that loops until end of
   * file drains them and ends; resolves when the readers have, or after `timeoutMs` (close() then ends them).
   */
  settle(timeoutMs: number): Promise<void> {
    this.#writer?.close();
    this.#writer = null;
    return this.#readers?.settle(timeoutMs) ?? Promise.resolve();
  }

  /** Stops the scripts and closes the FIFOs (each removed if this process made it). */
  close(): void {
    this.#readers?.close();
    this.#readers = null;
    this.#writer?.close();
    this.#writer = null;
  }
}
