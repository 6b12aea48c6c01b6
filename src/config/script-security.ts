// Script checks keepalived makes before it will run anything: the script must be found, and a
// script that would run as root without `enable_script_security` is a security violation (config
// test exit code 6).
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Diagnostics } from './diagnostics.js';
import type { KeepalivedConfig, ScriptSpec } from './model.js';

/** Finds an executable the way execvp would: absolute/relative paths as given, bare names on PATH. */
export function resolveExecutable(cmd: string, pathEnv = process.env.PATH ?? '/usr/bin:/bin'): string | null {
  const candidates = cmd.includes('/') ? [cmd] : pathEnv.split(delimiter).map((d) => join(d || '.', cmd));
  for (const c of candidates) {
    try {
      if (!statSync(c).isFile()) continue;
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      /* try the next one */
    }
  }
  return null;
}

/** User names known to this host (/etc/passwd). */
export function userExists(name: string): boolean {
  if (/^\d+$/.test(name)) return true;
  try {
    return readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .some((l) => l.split(':', 1)[0] === name);
  } catch {
    return false;
  }
}

/** A group name in /etc/group (or a number); keepalived looks the group of a script user up by name. */
export function groupExists(name: string): boolean {
  if (/^\d+$/.test(name)) return true;
  try {
    return readFileSync('/etc/group', 'utf8')
      .split('\n')
      .some((l) => l.split(':', 1)[0] === name);
  } catch {
    return false;
  }
}

/**
 * A command whose first word starts with `</` (`</dev/tcp/127.0.0.1/80`) tests whether a file opens: keepalived
 * runs it through the shell and never looks it up, so it is neither "not found" nor a security violation
 * (docs/config-meaning.md, "Scripts that test a file").
 */
export function isFileCheck(argv: readonly string[]): boolean {
  return argv[0]?.startsWith('</') ?? false;
}

/** The argv that runs `argv`: a file check goes through /bin/sh, as keepalived runs it. */
export function runnableArgv(argv: readonly string[]): string[] {
  return isFileCheck(argv) ? ['/bin/sh', '-c', argv.join(' ')] : [...argv];
}

interface NamedScript {
  spec: ScriptSpec;
  /** The vrrp_script name for track scripts (which are disabled when not found). */
  trackName?: string;
}

/** keepalived checks each process's scripts separately: the VRRP side and the checker side. */
export type ScriptSide = 'vrrp' | 'checker';

function allScripts(cfg: KeepalivedConfig, side: ScriptSide): NamedScript[] {
  const out: NamedScript[] = [];
  const add = (spec: ScriptSpec | undefined, trackName?: string) => {
    if (spec) out.push(trackName ? { spec, trackName } : { spec });
  };
  const gd = cfg.globalDefs;
  if (side === 'vrrp') {
    for (const s of cfg.vrrpScripts) add(s.script, s.name);
    for (const i of cfg.vrrpInstances) for (const spec of Object.values(i.notify)) add(spec);
    for (const g of cfg.syncGroups) for (const spec of Object.values(g.notify)) add(spec);
    add(gd.notifyFifoScript);
    add(gd.vrrpNotifyFifoScript);
    return out;
  }
  add(gd.lvsNotifyFifoScript);
  for (const vs of cfg.virtualServers) {
    add(vs.quorumUp);
    add(vs.quorumDown);
    for (const rs of vs.realServers) {
      add(rs.notifyUp);
      add(rs.notifyDown);
      for (const c of rs.checkers) add(c.miscPath);
    }
  }
  return out;
}

/**
 * startup_script / shutdown_script running as root without enable_script_security: 2.2.7's line of its own
 * for them, and `-t` exits 6 as for other scripts (seen with 2.2.7).
 */
export function checkLifecycleScripts(cfg: KeepalivedConfig, diag: Diagnostics): void {
  const gd = cfg.globalDefs;
  if (gd.enableScriptSecurity) return;
  const asRoot = rootTest(gd);
  if ([gd.startupScript, gd.shutdownScript].some((s) => s !== undefined && asRoot(s)))
    diag.add(
      'security',
      'CONFIG_SCRIPT_SECURITY',
      'SECURITY VIOLATION - start/shutdown scripts are being executed but script_security not enabled.',
    );
}

/** Whether a script runs as root: its own user, else script_user, else root unless keepalived_script exists. */
function rootTest(gd: KeepalivedConfig['globalDefs']): (spec: ScriptSpec) => boolean {
  const isRoot = (u: string) => u === 'root' || u === '0';
  const defaultUserIsRoot = gd.scriptUser ? isRoot(gd.scriptUser.user) : !userExists('keepalived_script');
  return (spec) => (spec.user ? isRoot(spec.user) : defaultUserIsRoot);
}

export function checkScripts(cfg: KeepalivedConfig, diag: Diagnostics, side: ScriptSide): void {
  const gd = cfg.globalDefs;
  const asRoot = rootTest(gd);
  let violation = false;
  const disabled = new Set<string>();
  for (const { spec, trackName } of allScripts(cfg, side)) {
    if (isFileCheck(spec.argv)) continue;
    const cmd = spec.argv[0];
    const found = cmd ? resolveExecutable(cmd) : null;
    if (!found) {
      if (trackName) {
        diag.error(
          'CONFIG_SCRIPT_NOT_FOUND',
          `Disabling track script ${trackName} since not found/accessible`,
        );
        disabled.add(trackName);
      }
      continue;
    }
    if (asRoot(spec) && !gd.enableScriptSecurity) violation = true;
  }
  if (disabled.size > 0) cfg.vrrpScripts = cfg.vrrpScripts.filter((s) => !disabled.has(s.name));
  if (violation)
    diag.add(
      'security',
      'CONFIG_SCRIPT_SECURITY',
      // keepalived 2.2.7's checker process says "check scripts" (check_data.c), its VRRP process "scripts"
      `SECURITY VIOLATION - ${side === 'checker' ? 'check ' : ''}scripts are being executed but script_security not enabled.`,
    );
}
