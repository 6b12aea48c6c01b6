// The BFD process: keepalived's BFD child. Started by the main process (src/daemon/bfd-supervisor.ts) with
// the daemon's command line; it reads the configuration itself (and again on reload), runs the sessions
// (runner.ts) and reports their states over the channel. Nothing here shares the VRRP process's event loop.
// Its log lines carry keepalived's BFD ident (Keepalived_bfd) on syslog.
import { writeDataFile } from '../common/file-mask.js';
import type { KeepalivedConfig } from '../config/model.js';
import { childLogger, loadRunnableConfig, sendToParent, startingConfig } from '../daemon/child-start.js';
import type { CliOptions } from '../daemon/cli.js';
import { installFatalHandler } from '../daemon/fatal.js';
import { applyProcessTuning } from '../daemon/process-tuning.js';
import { readHostFacts as readDumpHost } from '../notify/dump-host.js';
import { type FromBfd, isToBfd } from './channel.js';
import { formatBfdData } from './dump.js';
import { BfdRunner } from './runner.js';

const send: (m: FromBfd) => void = sendToParent;

export function runBfdChild(o: CliOptions): number {
  const log = childLogger(o, 'Keepalived_bfd');
  const load = () => loadRunnableConfig(o);
  let config = startingConfig(o, log, 'BFD');
  if (!config) return 1;
  const runner = new BfdRunner({
    log,
    onState: (b, up) => send({ type: 'state', name: b.name, up, vrrp: b.toVrrp, checker: b.toChecker }),
  });
  const dumpText = () => {
    const c = config as KeepalivedConfig;
    return formatBfdData({ config: c, host: readDumpHost(c.globalDefs), ...runner.dumpView() });
  };
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    runner.stop();
    send({ type: 'stopped' });
    log.close();
    process.exit(code);
  };
  installFatalHandler({
    report: (line) => log.error(line),
    release: async () => runner.stop(),
    exit: (code) => {
      log.close();
      process.exit(code);
    },
  });
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  process.on('SIGHUP', () => {});
  process.on('disconnect', () => stop(0));
  process.on('message', (m: unknown) => {
    if (!isToBfd(m)) return;
    switch (m.type) {
      case 'reload': {
        log.info(`Reloading (BFD): ${o.configFile}`);
        const next = load();
        if (next) {
          config = next;
          runner.apply(next.bfdInstances);
        } else log.error('BFD reload aborted: the new configuration cannot be run');
        break;
      }
      case 'dump':
        log.info(`Printing BFD data for process(${process.pid}) on signal`);
        writeDataFile(m.file, dumpText()).catch((e: Error) =>
          log.error(`cannot write ${m.file}: ${e.message}`),
        );
        break;
      case 'stop':
        stop(0);
        break;
    }
  });
  runner.apply(config.bfdInstances);
  // bfd_priority, bfd_rt_priority, … (applied once; a respawned BFD process takes new ones).
  applyProcessTuning(config.globalDefs.bfdProcess, log, 'bfd');
  send({ type: 'ready', pid: process.pid });
  return 0;
}
