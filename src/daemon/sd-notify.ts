// systemd's readiness protocol (sd_notify) for Type=notify units: newline-separated KEY=VALUE datagrams sent
// to the AF_UNIX datagram socket named in NOTIFY_SOCKET, and watchdog pings at half of WATCHDOG_USEC
// (docs/operating.md). Node has no AF_UNIX datagram socket, so the socket goes through libc (koffi); nothing is
// loaded and nothing is sent when NOTIFY_SOCKET is unset. The pings run on a plain timer of this process's
// event loop: when the loop wedges they stop, and systemd restarts the service.
import {
  AF_UNIX,
  AF_UNIX_PATH_MAX,
  libc,
  MSG_DONTWAIT,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
} from '../net/libc.js';

/** offsetof(struct sockaddr_un, sun_path): the family is a 16-bit field. */
const SUN_PATH_OFFSET = 2;

export type SockaddrResult =
  | { ok: true; addr: Uint8Array }
  | { ok: false; code: 'SD_NOTIFY_SOCKET'; error: string };

/**
 * struct sockaddr_un for a NOTIFY_SOCKET value (pure). A leading '@' names an abstract socket (the address
 * starts with a NUL byte and its length counts only the name); otherwise a filesystem path, NUL-terminated.
 */
export function sockaddrUn(name: string): SockaddrResult {
  const abstract = name.startsWith('@');
  const body = Buffer.from(abstract ? name.slice(1) : name, 'utf8');
  if (!abstract && !name.startsWith('/'))
    return {
      ok: false,
      code: 'SD_NOTIFY_SOCKET',
      error: `NOTIFY_SOCKET ${name} is neither a path nor @abstract`,
    };
  // Abstract: NUL + name; path: name + NUL. Both are one byte longer than the name.
  if (body.length + 1 > AF_UNIX_PATH_MAX)
    return { ok: false, code: 'SD_NOTIFY_SOCKET', error: `NOTIFY_SOCKET ${name} is too long` };
  const addr = new Uint8Array(SUN_PATH_OFFSET + body.length + 1);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(body, SUN_PATH_OFFSET + (abstract ? 1 : 0));
  return { ok: true, addr };
}

/** The watchdog ping interval in ms: half of WATCHDOG_USEC, or null when no watchdog is asked of this pid. */
export function watchdogIntervalMs(
  usec: string | undefined,
  pidVar: string | undefined,
  pid: number,
): number | null {
  if (usec === undefined || !/^\d+$/.test(usec) || Number(usec) === 0) return null;
  if (pidVar !== undefined && pidVar !== '' && Number(pidVar) !== pid) return null;
  return Math.max(1, Math.floor(Number(usec) / 2000));
}

export interface ServiceNotifier {
  /** READY=1 with MAINPID and STATUS: the configuration is loaded and the sockets are open. */
  ready(status: string): void;
  /** RELOADING=1, runs `reload`, then READY=1 once what it returns has settled (nothing once stopping). */
  reload(reload: () => unknown): void;
  /** STOPPING=1; the watchdog stops. */
  stopping(): void;
}

interface Sink {
  info(msg: string): void;
  warn(msg: string): void;
}

const NONE: ServiceNotifier = {
  ready: () => {},
  reload: (reload) => void reload(),
  stopping: () => {},
};

/**
 * A notifier for this process, from its environment; a no-op when NOTIFY_SOCKET is unset. The variables are
 * removed from the environment (as sd_notify's unset_environment does), so the checker process and the scripts
 * this daemon runs never speak for it.
 */
export function serviceNotifier(log: Sink, env: NodeJS.ProcessEnv = process.env): ServiceNotifier {
  const socketName = env.NOTIFY_SOCKET;
  const interval = watchdogIntervalMs(env.WATCHDOG_USEC, env.WATCHDOG_PID, process.pid);
  delete env.NOTIFY_SOCKET;
  delete env.WATCHDOG_USEC;
  delete env.WATCHDOG_PID;
  if (!socketName) return NONE;
  const addr = sockaddrUn(socketName);
  if (!addr.ok) {
    log.warn(`sd_notify: ${addr.error}`);
    return NONE;
  }
  const c = libc();
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    log.warn(`sd_notify: socket() failed, errno ${c.errno()}`);
    return NONE;
  }
  let failedOnce = false;
  const send = (text: string) => {
    const buf = Buffer.from(text, 'utf8');
    // MSG_DONTWAIT: a systemd that does not read must never block the VRRP loop.
    if (c.sendto(fd, buf, buf.length, MSG_DONTWAIT, addr.addr, addr.addr.length) < 0 && !failedOnce) {
      failedOnce = true;
      log.warn(`sd_notify: cannot send to ${socketName}, errno ${c.errno()}`);
    }
  };
  let stopped = false;
  let watchdog: NodeJS.Timeout | null = null;
  if (interval !== null) {
    watchdog = setInterval(() => send('WATCHDOG=1'), interval);
    // The pings must not keep a stopping daemon alive.
    watchdog.unref();
    log.info(`sd_notify: watchdog ping every ${interval} ms`);
  }
  return {
    ready: (status) => {
      if (!stopped) send(`READY=1\nMAINPID=${process.pid}\nSTATUS=${status.replace(/\n/g, ' ')}`);
    },
    reload: (reload) => {
      if (stopped) return void reload();
      send('RELOADING=1\nSTATUS=Reloading configuration');
      const done = () => {
        if (!stopped) send('READY=1\nSTATUS=Running (configuration reloaded)');
      };
      // The reload itself runs now, inside the signal handler, as it did without systemd.
      let result: unknown;
      try {
        result = reload();
      } catch (e) {
        done();
        throw e;
      }
      Promise.resolve(result).then(done, (e: unknown) => {
        done();
        throw e;
      });
    },
    stopping: () => {
      if (stopped) return;
      send('STOPPING=1\nSTATUS=Stopping');
      stopped = true;
      if (watchdog) clearInterval(watchdog);
    },
  };
}
