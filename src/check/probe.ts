// The contract between the checker core (pure: schedules, retries, quorum; src/check/core) and the probes
// that talk to real servers (adapters: src/check/probes). The core never does I/O: it asks for a probe to
// run and later hears its outcome, with the time passed in. A probe runs one attempt against one target and
// settles within its timeout; it never throws and never rejects.
import type { Checker, Family } from '../config/model.js';

/** Where one attempt goes: the real server (or connect_ip/connect_port) and the local binding. */
export interface ProbeTarget {
  address: string;
  port: number;
  family: Family;
  bindTo?: string;
  bindPort?: number;
  bindIf?: string;
  /** The fwmark set on the probe's packets (the checker's `fwmark`). */
  fwmark?: number;
}

/** One attempt's result. `reason` is the one line logged when the attempt failed. */
export type ProbeOutcome =
  | {
      ok: true;
      /** Wall time from the attempt's start to its verdict. */
      latencyUs: number;
      /** misc_dynamic (exit code 2–255 → weight exit-2) and FILE_CHECK weights; absent otherwise. */
      weight?: number;
      /** MISC_CHECK: the script's exit status (for the data dump's "Last status"). */
      exitStatus?: number;
      /** FILE_CHECK: the file's value (the data dump's track file "Status"). */
      fileValue?: number;
    }
  | {
      ok: false;
      latencyUs: number;
      /** Stable, for counters and tests: 'refused', 'timeout', 'reset', 'status', 'digest', ... */
      code: string;
      reason: string;
      /** HTTP_GET / SSL_GET: the path of the url that failed (the data dump's "Failed URL"). */
      url?: string;
      /** MISC_CHECK: the script's exit status when it exited (not when killed). */
      exitStatus?: number;
      fileValue?: number;
      /**
       * keepalived's last_errno (the data dump's "Last errno"): the errno of a connect() that failed at once for
       * a reason that is not the server's, or, UDP_CHECK, of its connect() or send() (outcome.ts).
       */
      connectErrno?: number;
    };

export interface Probe {
  /** One attempt; settles (never rejects) within `timeoutUs` plus scheduling noise. */
  run(timeoutUs: number): Promise<ProbeOutcome>;
  /** Releases whatever the probe keeps between attempts (sockets, watchers, children). */
  close(): void;
}

/** Builds the probe for one checker of one real server; an error is a located, loggable line. */
export type ProbeFactory = (
  checker: Checker,
  target: ProbeTarget,
) => { ok: true; probe: Probe } | { ok: false; message: string };
