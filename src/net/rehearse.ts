// A write rehearsed ahead of a likely takeover: the same code runs (requests and frames built and kept, the
// system call made on fd -1, which fails at once) and nothing reaches the kernel, so that a takeover's
// first real write runs nothing for the first time (docs/decisions/takeover-warm-up.md). Passed as a named
// option, so that a call never reads as `send(…, true)` beside another boolean.
export interface RehearseOption {
  rehearse?: boolean;
}

/** The one options object every rehearsed write passes (no allocation per write). */
export const REHEARSE: RehearseOption = Object.freeze({ rehearse: true });

export function isRehearsal(o: RehearseOption | undefined): boolean {
  return o?.rehearse === true;
}
