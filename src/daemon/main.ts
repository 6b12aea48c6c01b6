// Process entry: command line → the requested mode: help, version, --signum, the config test / dump, or
// the daemon (run.ts).
import { writeFileSync } from 'node:fs';
import { BFD_CHILD_ARG } from '../bfd/channel.js';
import { runBfdChild } from '../bfd/child.js';
import { CHECKER_CHILD_ARG } from '../check/channel.js';
import { runCheckerChild } from '../check/child.js';
import { genhashMain } from '../check/genhash.js';
import { DEFAULT_UMASK, setFileMask } from '../common/file-mask.js';
import { lvsListMain } from '../lvs/lvs-list.js';
import { STATUS_CHILD_ARG } from '../status/channel.js';
import { parseArgs, USAGE } from './cli.js';
import { runConfigTest } from './config-test.js';
import { DEFAULT_CHECKERS_PID_FILE } from './pidfile.js';
import { runDaemon, SIGNAL_JSON, SIGNAL_STATS_CLEAR } from './run.js';

export const VERSION = '0.1.0';

const SIGNUMS: Record<string, number> = {
  STOP: 15,
  RELOAD: 1,
  DATA: 10,
  STATS: 12,
  STATS_CLEAR: SIGNAL_STATS_CLEAR,
  JSON: SIGNAL_JSON,
};

export function main(argv: string[]): number {
  // keepalived --genhash (-T): what keepalived's genhash prints for a URL; its own flags follow.
  if (argv[0] === '--genhash' || argv[0] === '-T') {
    void genhashMain(argv.slice(1)).then((code) => {
      process.exitCode = code;
    });
    return 0;
  }
  // The status listener process (status-supervisor.ts); loaded only there, so the VRRP process never loads
  // the HTTP and metrics code.
  if (argv[0] === STATUS_CHILD_ARG) {
    void import('../status/child.js').then((m) => m.runStatusChild());
    return 0;
  }
  // `keepalived-ts status`: the status API as a table (src/status/client.ts).
  if (argv[0] === 'status') {
    void import('../status/client.js').then(async (m) => {
      process.exitCode = await m.statusMain(argv.slice(1));
    });
    return 0;
  }
  // The checker process (started by the main process's CheckerSupervisor with the daemon's argv).
  const child = argv[0] === CHECKER_CHILD_ARG;
  // The BFD process (started by the main process's BfdSupervisor with the daemon's argv).
  const bfdChild = argv[0] === BFD_CHILD_ARG;
  const parsed = parseArgs(child || bfdChild ? argv.slice(1) : argv);
  if (!parsed.ok) {
    process.stderr.write(`keepalived-ts: ${parsed.error}\n${USAGE}`);
    return 1;
  }
  const o = parsed.options;
  // keepalived's mask from the start, or -u's (src/common/file-mask.ts): the children inherit it and apply
  // global_defs umask themselves.
  setFileMask(o.umask ?? DEFAULT_UMASK);
  if (child) return runCheckerChild(o);
  if (bfdChild) return runBfdChild(o);
  // 2.2.7 says so on stderr and goes on with the mask it had.
  if (o.umaskError) process.stderr.write(`${o.umaskError}\n`);
  if (o.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (o.version) {
    process.stderr.write(`keepalived-ts v${VERSION} (keepalived 2.x compatible)\n`);
    return 0;
  }
  if (o.signum !== undefined) {
    const n = SIGNUMS[o.signum.toUpperCase()];
    if (n === undefined) {
      process.stderr.write(`Unknown sigfunc ${o.signum}\n`);
      return 1;
    }
    process.stdout.write(`${n}\n`);
    return 0;
  }
  if (o.lvsList) {
    void lvsListMain(o.checkersPidFile ?? DEFAULT_CHECKERS_PID_FILE).then((code) => {
      process.exitCode = code;
    });
    return 0;
  }
  if (o.configTest || o.dumpConf) {
    const r = runConfigTest(o.configFile, o.configId, o.umask !== undefined);
    const report = r.lines.map((l) => `${l}\n`).join('');
    // rw-r--r-- less the mask, as 2.2.7 creates it.
    if (o.configTestOutput) writeFileSync(o.configTestOutput, report, { mode: 0o644 });
    else process.stderr.write(report);
    if (o.dumpConf) process.stdout.write(`${JSON.stringify(r.config, null, 2)}\n`);
    return r.exitCode;
  }
  return runDaemon(o, argv, VERSION);
}
