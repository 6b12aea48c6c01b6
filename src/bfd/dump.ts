// The BFD process's SIGUSR1 data dump (/tmp/keepalived_bfd.data) in keepalived 2.2.7's layout: the Global
// definitions (the checker process's lines and the libnftnl version), "BFD Data" (the receive socket) and
// "BFD Topology", one block per session with its settings and state variables (docs/bfd.md, 'Dumps'). Pure:
// the sockets' numbers, the timers and the clocks come in with the view.
import type { BfdInstance, KeepalivedConfig } from '../config/model.js';
import { globalSection, type HostFacts } from '../notify/dump-sections.js';
import { DIAG_TEXT } from './packet.js';
import type { BfdSession } from './session.js';

/** One running session as the dump sees it. */
export interface BfdSessionView {
  cfg: BfdInstance;
  session: BfdSession;
  /** The send socket's descriptor, −1 when it could not be opened. */
  fdOut: number;
  /** A reopen of the send socket is scheduled (keepalived's thread_open_fd_out). */
  reopening: boolean;
  /** The last send failed (keepalived's `send error`). */
  sendError: boolean;
}

export interface BfdDumpView {
  config: KeepalivedConfig;
  host: HostFacts;
  /** The first receive socket's descriptor (keepalived has one: fd_in), −1 when none is open. */
  fdIn: number;
  sessions: BfdSessionView[];
  /** The session clock now (µs, monotonic) and the wall clock now (µs), for `last seen`. */
  nowUs: number;
  wallNowUs: number;
}

/**
 * keepalived prints a thread's address, or `0x(nil)` without one: ours prints an identifier of the timer
 * (not an address) when it is set, so the presence of each timer shows as keepalived shows it.
 */
const thread = (set: boolean, id: number) => (set ? `0x0x${(0x1000 + id).toString(16)}` : '0x(nil)');

/** ctime(3)'s first 24 characters, in local time ("Sat Dec  5 10:50:04 2026"). */
function ctime(ms: number): string {
  const d = new Date(ms);
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getDay()];
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][
    d.getMonth()
  ];
  const p2 = (n: number) => String(n).padStart(2, '0');
  const time = `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
  return `${day} ${mon} ${String(d.getDate()).padStart(2, ' ')} ${time} ${d.getFullYear()}`;
}

function sessionLines(v: BfdSessionView, k: number, view: BfdDumpView): string[] {
  const { cfg: b, session: s } = v;
  // Our session keeps 1 µs as the neighbour's Required Min RX until it is heard and after the reset (RFC 5880
  // §6.8.1, §6.8.18); keepalived keeps 0 there until heard.
  const remoteMinRx = s.remoteMinRxUs === 1 ? 0 : s.remoteMinRxUs;
  const since = s.sinceLastRxUs(view.nowUs);
  let seen = '   last_seen = [never]';
  if (since !== undefined) {
    const wall = view.wallNowUs - since;
    const sec = Math.floor(wall / 1e6);
    const usec = String(Math.floor(wall % 1e6)).padStart(6, '0');
    seen = `   last seen = ${sec}.${usec} (${ctime(wall / 1000)}.${usec})`;
  }
  const diag = (d: number) => DIAG_TEXT[d] ?? 'Unknown';
  return [
    ` BFD Instance = ${b.name}`,
    `   Neighbor IP = ${b.neighbor}`,
    ...(b.source ? [`   Source IP = ${b.source}`] : []),
    `   Required min RX interval = ${b.minRxUs} us`,
    `   Desired min TX interval = ${b.minTxUs} us`,
    `   Desired idle TX interval = ${b.idleTxUs} us`,
    `   Detection multiplier = ${b.multiplier}`,
    `   ${b.family === 4 ? 'TTL' : 'hoplimit'} = ${b.ttl}`,
    `   max_hops = ${b.maxHops}`,
    `   passive = ${b.passive ? 'true' : 'false'}`,
    `   send event to VRRP process = ${b.toVrrp ? 'Yes' : 'No'}`,
    `   send event to checker process = ${b.toChecker ? 'Yes' : 'No'}`,
    `   fd_out ${v.fdOut}`,
    `   thread_open_fd_out ${thread(v.reopening, 4 * k)}`,
    `   thread_out ${thread(s.sending, 4 * k + 1)}`,
    // Only set while a reload suspends a timer (keepalived): ours never suspends.
    '   sands_out = [disabled]',
    `   thread_exp ${thread(s.expiring, 4 * k + 2)}`,
    '   sands_exp = [disabled]',
    `   thread_rst ${thread(s.resetting, 4 * k + 3)}`,
    '   sands_rst = [disabled]',
    `   send error = ${v.sendError ? 'true' : 'false'}`,
    `   local state = ${s.state}`,
    `   remote state = ${s.remoteState}`,
    `   local discriminator = 0x${s.localDiscr.toString(16)}`,
    `   remote discriminator = 0x${s.remoteDiscr.toString(16)}`,
    `   local diag = ${diag(s.localDiag)}`,
    `   remote diag = ${diag(s.remoteDiag)}`,
    `   remote min tx intv = ${s.remoteMinTxUs} us`,
    `   remote min rx intv = ${remoteMinRx} us`,
    // We never ask for Demand mode; a Final is sent at once, never pending.
    '   local demand = 0',
    `   remote demand = ${s.remoteDemand ? 1 : 0}`,
    `   remote detect multiplier = ${s.remoteMult}`,
    `   ${s.poll ? '' : '!'}poll, !final`,
    `   local tx intv = ${s.localTxUs} us`,
    `   remote tx intv = ${s.remoteTxUs} us`,
    `   local detection time = ${s.detectUs} us`,
    `   remote detection time = ${s.remoteDetectUs} us`,
    seen,
  ];
}

export function formatBfdData(view: BfdDumpView): string {
  const out = globalSection(
    { config: view.config, host: view.host, trackers: { scripts: [], files: [] } },
    'bfd',
  );
  out.push(
    '------< BFD Data >------',
    ` fd_in = ${view.fdIn}`,
    ` thread_in = ${thread(view.fdIn >= 0, 0xfff)}`,
  );
  if (view.sessions.length > 0) {
    out.push('------< BFD Topology >------');
    view.sessions.forEach((v, k) => {
      out.push(...sessionLines(v, k, view));
    });
  }
  return `${out.join('\n')}\n`;
}
