// Errors of the VRRP runtime as values, up to the log line: a stable code, the instance concerned (when one
// is) and one human-readable line. The layers below (net/, vmac.ts, engine-plan/) already return coded
// values; this carries their codes through start-up and reload instead of collapsing them into strings, so
// the runtime decides on codes and never on message text.
import type { NetErrorCode } from '../net/net-error.js';

/** Instances the engine plan cannot run (engine-plan/). */
export type PlanErrorCode = 'VRRP_NO_VRID' | 'VRRP_NO_INTERFACE';

/** use_vmac set-up (vmac.ts). */
export type VmacErrorCode = NetErrorCode | 'KA_VMAC_NAME_TAKEN' | 'KA_VMAC_NO_LINK_LOCAL';

export type RuntimeErrorCode =
  | PlanErrorCode
  | VmacErrorCode
  | NetErrorCode
  /** The configuration has no instance the engine could run. */
  | 'VRRP_NOTHING_TO_RUN'
  /** An exception while building the runtime (a bug: its message says which). */
  | 'VRRP_START_EXCEPTION';

export interface RuntimeError {
  code: RuntimeErrorCode;
  /** The vrrp_instance concerned, when there is one. */
  instance?: string;
  /** One line for the log; names the instance in keepalived's "(NAME) …" form when there is one. */
  message: string;
}

export function runtimeError(code: RuntimeErrorCode, message: string, instance?: string): RuntimeError {
  return instance === undefined ? { code, message } : { code, instance, message };
}
