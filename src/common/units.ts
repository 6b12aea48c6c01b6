// Time units. Every duration in the code is an integer count of microseconds (`…Us` in names), keepalived's
// TIMER_HZ unit; these convert from the units the configuration and the wire speak.

/** VRRPv3 advertisement intervals are in centiseconds (RFC 9568 §5.2.7). */
export const US_PER_CS = 10_000;
export const US_PER_S = 1_000_000;
