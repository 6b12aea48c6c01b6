// The status listener as the daemon runs it (run.ts): a feed on the VRRP side (feed.ts) and, while
// metrics_listen is configured, the listener process (status-supervisor.ts), the checker's real servers
// forwarded from its supervisor. A reload (SIGHUP) applies metrics_listen and metrics_token: the listener
// starts, stops, or moves (a new process: the old one gave up root and cannot bind again), and a new token
// is handed to the running one. docs/operating.md, 'Watching it run'.

import type { Logger } from '../common/logger.js';
import type { GlobalDefs, KeepalivedConfig } from '../config/model.js';
import { StatusSupervisor } from '../daemon/status-supervisor.js';
import type { ServiceTraffic } from '../lvs/counters.js';
import { type ListenerSettings, type RealServerEvent, type RealServerInfo, WEB_DIR } from './channel.js';
import { type FeedSource, StatusFeed } from './feed.js';

export interface StatusService {
  feed: StatusFeed;
  /** The listener process's supervisor while metrics_listen is configured. */
  readonly supervisor: StatusSupervisor | null;
  /** The checker supervisor's onRealServers. */
  realServers: (
    m: {
      list: RealServerInfo[];
      atMs: number;
      events?: RealServerEvent[];
      traffic?: ServiceTraffic[];
    } | null,
  ) => void;
  /** Whether the checker process should report its real servers (a listener runs). */
  wantsRealServers: () => boolean;
  /** Told when that changes (a reload turned the listener on or off). */
  setChecker(c: { watchRealServers(on: boolean): void } | null): void;
  /** Once the VRRP runtime runs (null: no VRRP in this run). */
  attach(source: FeedSource | null, cfg: KeepalivedConfig): void;
  /** A reload's global_defs: metrics_listen and metrics_token applied now. */
  reconfigure(g: GlobalDefs): Promise<void>;
  stop(timeoutMs: number): Promise<void>;
}

const isLoopback = (host: string) => host === '::1' || host.startsWith('127.');

/** The listener's settings from global_defs (null: no metrics_listen, no listener), with the warnings. */
function settingsOf(g: GlobalDefs, log: Logger): ListenerSettings | null {
  if (!g.metricsListen) {
    if (g.metricsToken !== undefined) log.warn('metrics_token without metrics_listen: no status listener');
    return null;
  }
  const { host, port } = g.metricsListen;
  if (g.metricsToken === undefined && !isLoopback(host))
    log.warn(
      `metrics_listen ${host}:${port} without metrics_token: anyone who reaches it can read the status`,
    );
  return {
    host,
    port,
    webDir: WEB_DIR,
    maxRequests: g.metricsMaxRequests ?? DEFAULT_MAX_REQUESTS,
    ...(g.metricsToken === undefined ? {} : { token: g.metricsToken }),
  };
}

/**
 * /metrics and /status answered a second when metrics_max_requests is not set: a scraper needs one every
 * few seconds; a flood answered in full pushes gigabytes a second through the kernel at 1,000 instances
 * (docs/decisions/status-listener.md, 2026-12-05 "flood defences").
 */
export const DEFAULT_MAX_REQUESTS = 20;

/** How long a listener being moved or stopped by a reload gets to exit. */
const RELOAD_STOP_MS = 2000;

/** The service; its listener runs only while metrics_listen is configured (the feed notes nothing until then). */
export function statusService(g: GlobalDefs, log: Logger, version: string): StatusService {
  let settings = settingsOf(g, log);
  let supervisor: StatusSupervisor | null = null;
  let attached: { source: FeedSource | null; cfg: KeepalivedConfig } | null = null;
  let checker: { watchRealServers(on: boolean): void } | null = null;
  // The feed sends through the supervisor, which tells the feed when a new listener wants everything again.
  const feed = new StatusFeed((m) => supervisor?.send(m));
  feed.enabled = settings !== null;
  const startListener = (s: ListenerSettings) => {
    const sup: StatusSupervisor = new StatusSupervisor({
      settings: s,
      log,
      version,
      onReady: () => feed.replay(),
    });
    supervisor = sup;
    sup.start();
  };
  if (settings) startListener(settings);
  // Serialised: a second SIGHUP waits for the first one's listener to be stopped or moved.
  let reconfiguring = Promise.resolve();
  const reconfigure = async (next: ListenerSettings | null) => {
    const was = settings;
    settings = next;
    const sup = supervisor;
    if (!was && !next) return;
    if (was && next && sup) {
      if (was.host === next.host && was.port === next.port) {
        if (was.token !== next.token || was.maxRequests !== next.maxRequests) {
          if (was.token !== next.token)
            log.info('metrics_token changed: the status listener takes the new one');
          if (was.maxRequests !== next.maxRequests)
            log.info(`metrics_max_requests ${next.maxRequests}: the status listener takes it`);
          sup.setSettings(next);
        }
        return;
      }
      log.info(`metrics_listen moved to ${next.host}:${next.port}: starting a new status listener`);
      supervisor = null;
      await sup.stop(RELOAD_STOP_MS);
      startListener(next);
      return;
    }
    if (!next) {
      log.info('metrics_listen removed: stopping the status listener');
      feed.enabled = false;
      feed.stop();
      checker?.watchRealServers(false);
      supervisor = null;
      await sup?.stop(RELOAD_STOP_MS);
      return;
    }
    log.info(`metrics_listen added: starting the status listener on ${next.host}:${next.port}`);
    feed.enabled = true;
    startListener(next);
    if (attached) feed.attach(attached.source, attached.cfg);
    checker?.watchRealServers(true);
  };
  return {
    feed,
    get supervisor() {
      return supervisor;
    },
    realServers: (m) =>
      supervisor?.send(
        m
          ? {
              type: 'realServers',
              list: m.list,
              atMs: m.atMs,
              ...(m.events ? { events: m.events } : {}),
              ...(m.traffic ? { traffic: m.traffic } : {}),
            }
          : { type: 'checker', running: false },
      ),
    wantsRealServers: () => settings !== null,
    setChecker: (c) => {
      checker = c;
    },
    attach: (source, cfg) => {
      attached = { source, cfg };
      if (settings) feed.attach(source, cfg);
    },
    reconfigure: (g2) => {
      const next = settingsOf(g2, log);
      reconfiguring = reconfiguring.then(() => reconfigure(next));
      return reconfiguring;
    },
    stop: async (timeoutMs) => {
      feed.stop();
      await reconfiguring;
      await supervisor?.stop(timeoutMs);
    },
  };
}
