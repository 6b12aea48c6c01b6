// The daemon's one clock: monotonic time in integer microseconds, the unit the VRRP engine works in.
// process.hrtime is CLOCK_MONOTONIC: wall-clock steps (NTP, date -s) never move VRRP timers.

export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
