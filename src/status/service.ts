// The status listener as the daemon runs it (run.ts): off unless metrics_listen is configured; then a feed
// on the VRRP side (feed.ts) and the listener process (status-supervisor.ts), the checker's real servers
// forwarded from its supervisor. docs/operating.md, 'Watching it run'.

import type { Logger } from '../common/logger.js';
import type { GlobalDefs, KeepalivedConfig } from '../config/model.js';
import { StatusSupervisor } from '../daemon/status-supervisor.js';
import { type RealServerEvent, type RealServerInfo, WEB_DIR } from './channel.js';
import { type FeedSource, StatusFeed } from './feed.js';

export interface StatusService {
  feed: StatusFeed;
  supervisor: StatusSupervisor;
  /** The checker supervisor's onRealServers. */
  realServers: (m: { list: RealServerInfo[]; atMs: number; events?: RealServerEvent[] } | null) => void;
  /** Once the VRRP runtime runs (null: no VRRP in this run). */
  attach(source: FeedSource | null, cfg: KeepalivedConfig): void;
  stop(timeoutMs: number): Promise<void>;
}

const isLoopback = (host: string) => host === '::1' || host.startsWith('127.');

export function statusService(g: GlobalDefs, log: Logger, version: string): StatusService | null {
  if (!g.metricsListen) {
    if (g.metricsToken !== undefined) log.warn('metrics_token without metrics_listen: no status listener');
    return null;
  }
  const { host, port } = g.metricsListen;
  if (g.metricsToken === undefined && !isLoopback(host))
    log.warn(
      `metrics_listen ${host}:${port} without metrics_token: anyone who reaches it can read the status`,
    );
  // The feed sends through the supervisor, which tells the feed when a new listener wants everything again.
  let supervisor: StatusSupervisor | null = null;
  const feed = new StatusFeed((m) => supervisor?.send(m));
  supervisor = new StatusSupervisor({
    settings: {
      host,
      port,
      webDir: WEB_DIR,
      ...(g.metricsToken === undefined ? {} : { token: g.metricsToken }),
    },
    log,
    version,
    onReady: () => feed.replay(),
  });
  const sup = supervisor;
  sup.start();
  return {
    feed,
    supervisor: sup,
    realServers: (m) =>
      sup.send(
        m
          ? { type: 'realServers', list: m.list, atMs: m.atMs, ...(m.events ? { events: m.events } : {}) }
          : { type: 'checker', running: false },
      ),
    attach: (source, cfg) => feed.attach(source, cfg),
    stop: async (timeoutMs) => {
      feed.stop();
      await sup.stop(timeoutMs);
    },
  };
}
