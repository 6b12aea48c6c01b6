// keepalived's command line: the same short and long options, so existing unit files and scripts
// can call keepalived-ts unchanged. Parsing is pure; errors are values.
import { readNumericMask } from '../common/file-mask.js';

export interface CliOptions {
  configFile: string;
  configTest: boolean;
  /** `--config-test=FILE` writes the report there instead of stderr. */
  configTestOutput?: string;
  configId?: string;
  dontFork: boolean;
  logConsole: boolean;
  logDetail: boolean;
  logFacility?: number;
  logFile?: string;
  noSyslog: boolean;
  vrrpOnly: boolean;
  checkOnly: boolean;
  noBfd: boolean;
  pidFile?: string;
  vrrpPidFile?: string;
  checkersPidFile?: string;
  bfdPidFile?: string;
  dontRespawn: boolean;
  dontReleaseVrrp: boolean;
  dontReleaseIpvs: boolean;
  releaseVips: boolean;
  namespace?: string;
  signum?: string;
  version: boolean;
  help: boolean;
  /** keepalived-ts: print the resolved configuration model as JSON. */
  dumpConf: boolean;
  /** keepalived-ts: print the virtual servers as `ipvsadm -Ln` does. */
  lvsList: boolean;
  /** keepalived-ts: write the VRRP engine's inputs and outputs to this file as JSON lines. */
  recordEvents?: string;
  /** `-u MASK`: the file creation mask, over global_defs `umask` (src/common/file-mask.ts). */
  umask?: number;
  /** A `-u` value 2.2.7 refuses: its message, printed once; the mask then stays 0177 or the keyword's. */
  umaskError?: string;
}

export type CliResult = { ok: true; options: CliOptions } | { ok: false; error: string };

export const DEFAULT_CONFIG_FILE = '/etc/keepalived/keepalived.conf';

export type Spec = {
  short?: string;
  long: string;
  arg: 'none' | 'required' | 'optional';
  set: (o: CliOptions, v?: string) => void;
};

type FlagKey = { [K in keyof CliOptions]-?: CliOptions[K] extends boolean ? K : never }[keyof CliOptions];
type TextKey = { [K in keyof CliOptions]-?: string extends CliOptions[K] ? K : never }[keyof CliOptions];

/** An option without an argument that turns `key` on. */
function flag(short: string | undefined, long: string, key: FlagKey): Spec {
  return { short, long, arg: 'none', set: (o) => (o[key] = true) };
}

/** An option whose argument is kept as given in `key`. */
function text(short: string | undefined, long: string, key: TextKey): Spec {
  return { short, long, arg: 'required', set: (o, v) => (o[key] = v!) };
}

/** Accepted for compatibility; changes nothing here. */
function ignored(short: string, long: string, arg: Spec['arg']): Spec {
  return { short, long, arg, set: () => {} };
}

export const SPECS: Spec[] = [
  text('f', 'use-file', 'configFile'),
  {
    short: 't',
    long: 'config-test',
    arg: 'optional',
    set: (o, v) => {
      o.configTest = true;
      if (v) o.configTestOutput = v;
    },
  },
  text('i', 'config-id', 'configId'),
  flag('n', 'dont-fork', 'dontFork'),
  flag('l', 'log-console', 'logConsole'),
  flag('D', 'log-detail', 'logDetail'),
  { short: 'S', long: 'log-facility', arg: 'required', set: (o, v) => (o.logFacility = Number(v)) },
  { short: 'g', long: 'log-file', arg: 'optional', set: (o, v) => (o.logFile = v ?? '/tmp/keepalived.log') },
  flag('G', 'no-syslog', 'noSyslog'),
  flag('P', 'vrrp', 'vrrpOnly'),
  flag('C', 'check', 'checkOnly'),
  flag('B', 'no_bfd', 'noBfd'),
  text(undefined, 'record-events', 'recordEvents'),
  text('p', 'pid', 'pidFile'),
  text('r', 'vrrp_pid', 'vrrpPidFile'),
  text('c', 'checkers_pid', 'checkersPidFile'),
  text('b', 'bfd_pid', 'bfdPidFile'),
  flag('R', 'dont-respawn', 'dontRespawn'),
  flag('V', 'dont-release-vrrp', 'dontReleaseVrrp'),
  flag('I', 'dont-release-ipvs', 'dontReleaseIpvs'),
  flag('X', 'release-vips', 'releaseVips'),
  text('s', 'namespace', 'namespace'),
  flag('v', 'version', 'version'),
  flag('h', 'help', 'help'),
  text(undefined, 'signum', 'signum'),
  flag(undefined, 'dump-conf', 'dumpConf'),
  flag(undefined, 'lvs-list', 'lvsList'),
  ignored('d', 'dump-conf-keepalived', 'none'),
  ignored('x', 'snmp', 'none'),
  ignored('a', 'address-monitoring', 'none'),
  ignored('m', 'core-dump', 'none'),
  ignored('M', 'core-dump-pattern', 'optional'),
  {
    short: 'u',
    long: 'umask',
    arg: 'required',
    set: (o, v) => {
      const m = readNumericMask(v!);
      if (m === null) o.umaskError = `Invalid --umask option ${v}`;
      else {
        o.umask = m;
        delete o.umaskError;
      }
    },
  },
];

/** The configuration's load options from the command line: -i, and whether -u was given. */
export function loadOptions(o: CliOptions): { configId?: string; umaskFromCli?: boolean } {
  return {
    ...(o.configId === undefined ? {} : { configId: o.configId }),
    ...(o.umask === undefined ? {} : { umaskFromCli: true }),
  };
}

export function defaultOptions(): CliOptions {
  return {
    configFile: DEFAULT_CONFIG_FILE,
    configTest: false,
    dontFork: false,
    logConsole: false,
    logDetail: false,
    noSyslog: false,
    vrrpOnly: false,
    checkOnly: false,
    noBfd: false,
    dontRespawn: false,
    dontReleaseVrrp: false,
    dontReleaseIpvs: false,
    releaseVips: false,
    version: false,
    help: false,
    dumpConf: false,
    lvsList: false,
  };
}

export function parseArgs(argv: string[]): CliResult {
  const o = defaultOptions();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const [name, inline] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
      const spec = SPECS.find((s) => s.long === name);
      if (!spec) return { ok: false, error: `unrecognized option '--${name}'` };
      if (spec.arg === 'none') {
        if (inline !== undefined) return { ok: false, error: `option '--${name}' doesn't allow an argument` };
        spec.set(o);
      } else if (spec.arg === 'optional') spec.set(o, inline);
      else {
        const v = inline ?? argv[++i];
        if (v === undefined) return { ok: false, error: `option '--${name}' requires an argument` };
        spec.set(o, v);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let k = 1; k < a.length; k++) {
        const ch = a[k]!;
        const spec = SPECS.find((s) => s.short === ch);
        if (!spec) return { ok: false, error: `invalid option -- '${ch}'` };
        if (spec.arg === 'none') {
          spec.set(o);
          continue;
        }
        const rest = a.slice(k + 1);
        if (spec.arg === 'optional') spec.set(o, rest || undefined);
        else {
          const v = rest || argv[++i];
          if (v === undefined) return { ok: false, error: `option requires an argument -- '${ch}'` };
          spec.set(o, v);
        }
        break;
      }
      continue;
    }
    return { ok: false, error: `unexpected argument '${a}'` };
  }
  return { ok: true, options: o };
}

export const USAGE = `Usage: keepalived-ts [OPTION...]
  -f, --use-file=FILE          Use the specified configuration file (default ${DEFAULT_CONFIG_FILE})
  -t, --config-test[=LOG_FILE] Check the configuration for obvious errors, output to stderr by default
  -i, --config-id ID           Skip any configuration lines beginning '@' that don't match ID
  -n, --dont-fork              Don't fork the daemon process
  -l, --log-console            Log messages to local console
  -D, --log-detail             Detailed log messages
  -S, --log-facility=[0-7]     Set syslog facility to LOG_LOCAL[0-7]
  -g, --log-file=FILE          Also log to FILE (default /tmp/keepalived.log)
  -G, --no-syslog              Don't log via syslog
  -P, --vrrp                   Only run with VRRP subsystem
  -C, --check                  Only run with Health-checker subsystem
  -p, --pid=FILE               Use specified pidfile for parent process
  -r, --vrrp_pid=FILE          Use specified pidfile for VRRP child process
  -c, --checkers_pid=FILE      Use specified pidfile for checkers child process
  -B, --no_bfd                 Don't run BFD subsystem
  -b, --bfd_pid=FILE           Use specified pidfile for BFD child process
  -R, --dont-respawn           Don't respawn child processes
  -V, --dont-release-vrrp      Don't remove VRRP VIPs and VROUTEs on daemon stop
  -I, --dont-release-ipvs      Don't remove IPVS topology on daemon stop
  -s, --namespace=NAME         Run in network namespace NAME
  -u, --umask=MASK             umask for file creation (in numeric form)
      --signum=SIGFUNC         Return signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON
      --dump-conf              Print the resolved configuration as JSON and exit
      --lvs-list               Print the running daemon's virtual servers as ipvsadm -Ln does (-c PIDFILE names it)
      --record-events=FILE     Write the VRRP engine's inputs and outputs to FILE as JSON lines (replayable)
  -T, --genhash ARGS...        Print the MD5 digest of a URL's body as keepalived's genhash (-s IP -p PORT -u PATH ...)
  -v, --version                Display the version number
  -h, --help                   Display this help message
       keepalived-ts status [--json] [--url http://ADDRESS:PORT] [-f FILE]: the running daemon's state
`;
