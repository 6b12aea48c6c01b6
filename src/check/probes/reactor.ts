// One epoll instance for the probes' own sockets, watched by a single libuv poll handle: a socket costs one
// epoll_ctl(ADD) and its close(), and the readiness of every socket that became ready arrives in one callback
// (epoll_wait, level-triggered). A uv_poll handle per socket costs an allocation, two epoll_ctl calls, a
// handle close and one napi callback per event (docs/probes.md, "Sockets"; docs/decisions/checker-scale.md).
//
// Sockets are forgotten without EPOLL_CTL_DEL: closing the fd removes it from the epoll set. A forked child
// that still holds a copy of the descriptor for a moment (between fork and exec) can keep the registration
// alive briefly; every registration carries a token (the upper half of epoll_data), so events of a forgotten
// socket — or of an old one whose fd number was reused — are dropped.
import koffi from 'koffi';
import { libcLibrary } from '../../net/libc.js';
import { errnoName } from '../../net/net-error.js';

export const EPOLLIN = 0x001;
export const EPOLLOUT = 0x004;
export const EPOLLERR = 0x008;
export const EPOLLHUP = 0x010;

const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CTL_MOD = 3;
const EPOLL_CLOEXEC = 0o2000000;
/** struct epoll_event is packed on x86-64 (12 bytes), naturally aligned elsewhere (16). */
const EVENT_SIZE = process.arch === 'x64' ? 12 : 16;
const DATA_OFFSET = process.arch === 'x64' ? 4 : 8;
const MAX_EVENTS = 256;

/** Told when its socket is ready: `events` is the EPOLL* mask (errors and hang-ups included). */
export interface FdReady {
  onFdReady(events: number): void;
}

interface EpollLib {
  create: (flags: number) => number;
  ctl: (epfd: number, op: number, fd: number, ev: Uint8Array | null) => number;
  wait: (epfd: number, evs: Uint8Array, max: number, timeout: number) => number;
}

class Reactor {
  readonly #lib: EpollLib;
  readonly #epfd: number;
  readonly #events = new Uint8Array(EVENT_SIZE * MAX_EVENTS);
  readonly #view = new DataView(this.#events.buffer);
  readonly #one = new Uint8Array(EVENT_SIZE);
  readonly #oneView = new DataView(this.#one.buffer);
  /** By fd: who hears its events, and the token of its registration (0: none). */
  #targets: (FdReady | null)[] = [];
  #tokens = new Uint32Array(1024);
  #nextToken = 0;
  #watched = 0;
  #poll: ReturnType<typeof koffi.node.poll> | null = null;

  constructor() {
    const l = libcLibrary();
    const create = l.func('int epoll_create1(int)');
    const ctl = l.func('int epoll_ctl(int, int, int, void *)');
    const wait = l.func('int epoll_wait(int, void *, int, int)');
    this.#lib = {
      create: (f) => create(f) as number,
      ctl: (e, op, fd, ev) => ctl(e, op, fd, ev) as number,
      wait: (e, evs, max, t) => wait(e, evs, max, t) as number,
    };
    this.#epfd = this.#lib.create(EPOLL_CLOEXEC);
    if (this.#epfd < 0) throw new Error(`epoll_create1 failed: ${errnoName(koffi.errno())}`);
  }

  /** Sockets watched now (for tests and leak checks). */
  get size(): number {
    return this.#watched;
  }

  /** Starts watching `fd` for `events`; 0 or the errno name. */
  watch(fd: number, events: number, target: FdReady): 0 | string {
    if (fd >= this.#tokens.length) {
      const t = new Uint32Array(Math.max(fd + 1, this.#tokens.length * 2));
      t.set(this.#tokens);
      this.#tokens = t;
    }
    let token = (this.#nextToken + 1) >>> 0;
    if (token === 0) token = 1;
    this.#nextToken = token;
    this.#fill(events, fd, token);
    if (this.#lib.ctl(this.#epfd, EPOLL_CTL_ADD, fd, this.#one) !== 0) return errnoName(koffi.errno());
    if (this.#tokens[fd] === 0) this.#watched++;
    this.#tokens[fd] = token;
    this.#targets[fd] = target;
    if (this.#watched === 1) this.#start();
    return 0;
  }

  /** Changes the events a watched fd waits for; 0 or the errno name. */
  modify(fd: number, events: number): 0 | string {
    const token = this.#tokens[fd] ?? 0;
    if (token === 0) return 'EBADF';
    this.#fill(events, fd, token);
    return this.#lib.ctl(this.#epfd, EPOLL_CTL_MOD, fd, this.#one) === 0 ? 0 : errnoName(koffi.errno());
  }

  /** Stops delivering events for `fd`, which the caller closes now (the close removes it from epoll). */
  forget(fd: number): void {
    if ((this.#tokens[fd] ?? 0) === 0) return;
    this.#tokens[fd] = 0;
    this.#targets[fd] = null;
    if (--this.#watched === 0) this.#stop();
  }

  /** Stops watching `fd`, which stays open (handed on to another owner). */
  release(fd: number): void {
    if ((this.#tokens[fd] ?? 0) === 0) return;
    this.#lib.ctl(this.#epfd, EPOLL_CTL_DEL, fd, this.#one);
    this.forget(fd);
  }

  #fill(events: number, fd: number, token: number): void {
    const v = this.#oneView;
    v.setUint32(0, events, true);
    v.setInt32(DATA_OFFSET, fd, true);
    v.setUint32(DATA_OFFSET + 4, token, true);
  }

  // The handle keeps the event loop alive only while sockets are watched (ref'd then, unref'd when idle), so
  // an idle reactor never holds a process open.
  #start(): void {
    if (this.#poll) {
      this.#poll.ref();
      return;
    }
    const h = koffi.node.poll(this.#epfd, { readable: true }, () => {
      try {
        this.#drain();
      } catch (e) {
        // koffi would re-throw it from an unrelated later call: re-throw on a clean stack instead.
        setImmediate(() => {
          throw e;
        });
      }
    });
    if (!h) throw new Error('koffi.node.poll returned no handle');
    this.#poll = h;
  }

  #stop(): void {
    this.#poll?.unref();
  }

  #drain(): void {
    const v = this.#view;
    for (;;) {
      const n = this.#lib.wait(this.#epfd, this.#events, MAX_EVENTS, 0);
      if (n <= 0) return;
      for (let i = 0; i < n; i++) {
        const off = i * EVENT_SIZE;
        const fd = v.getInt32(off + DATA_OFFSET, true);
        const token = v.getUint32(off + DATA_OFFSET + 4, true);
        if (this.#tokens[fd] !== token) continue;
        const target = this.#targets[fd];
        if (target) target.onFdReady(v.getUint32(off, true));
      }
      if (n < MAX_EVENTS) return;
    }
  }
}

let reactor: Reactor | undefined;

/** The process-wide reactor (built on first use). */
export function probeReactor(): Reactor {
  reactor ??= new Reactor();
  return reactor;
}

export type { Reactor };
