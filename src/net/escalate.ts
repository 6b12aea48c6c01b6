// Errors thrown by our own handlers inside callbacks that native code makes (koffi's poll and timer fds,
// libuv's signal handles). Nothing may unwind into the native frame: koffi would keep the exception
// pending and re-throw it from an unrelated call, and node-addon-api modules abort the process
// ("terminate called after throwing an instance of 'Napi::Error'"). So the adapters catch, and hand the
// error here: it is re-thrown on a clean stack, named with the callback it came from, where the daemon's
// fatal handler (src/daemon/fatal.ts) logs it, releases what the daemon holds and exits non-zero.

export class CallbackError extends Error {
  readonly where: string;

  constructor(where: string, cause: unknown) {
    super(`${where}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'CallbackError';
    this.where = where;
  }
}

/** Re-throws `error` from `where` on a clean stack (never inside the native caller). */
export function escalate(where: string, error: unknown): void {
  setImmediate(() => {
    throw new CallbackError(where, error);
  });
}
