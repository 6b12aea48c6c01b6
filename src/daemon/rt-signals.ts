// keepalived's JSON and STATS_CLEAR signals are real-time ones (SIGRTMIN+2 = 36, SIGRTMAX−1 = 63 with glibc:
// `keepalived --signum=JSON`). Node's process.on() only knows named signals, and an unhandled real-time
// signal terminates the process — so an operator's `kill -s $(keepalived --signum=JSON)` would kill the
// daemon. libuv can watch any signal number; Node's own signal handle (the one process.on uses) is reached
// through process.binding('signal_wrap'), deprecated but present in Node 20–24. Its one-time deprecation
// warning is silenced for that call only. On a Node without it the two signals are not watched (one would
// still end the process, as before); the daemon says so at startup.
import { escalate } from '../net/escalate.js';

interface SignalHandle {
  onsignal: (signum: number) => void;
  start(signum: number): number;
  close(): void;
  unref(): void;
}

/** Watches signal number `signum`; returns a closer, or null when this Node cannot watch it. */
export function onSignalNumber(signum: number, handler: () => void): (() => void) | null {
  let handle: SignalHandle;
  const quiet = process.noDeprecation;
  try {
    process.noDeprecation = true;
    const binding = (
      process as unknown as { binding(name: string): { Signal: new () => SignalHandle } }
    ).binding('signal_wrap');
    handle = new binding.Signal();
  } catch {
    return null;
  } finally {
    process.noDeprecation = quiet;
  }
  handle.onsignal = () => {
    try {
      handler();
    } catch (e) {
      escalate(`signal ${signum} handler`, e);
    }
  };
  if (handle.start(signum) !== 0) {
    handle.close();
    return null;
  }
  handle.unref(); // like process.on(): a signal watch alone does not keep the daemon alive
  return () => handle.close();
}
