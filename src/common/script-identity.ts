// Which user a script runs as (man5 "SCRIPTS"; docs/keepalived-semantics.md, 'Script user'): the script's own
// `user [group]`, else global_defs `script_user`, else `keepalived_script` if that user exists, else root.
// Names are looked up in /etc/passwd and /etc/group (a numeric id is taken as is). The result feeds
// child_process.spawn's uid/gid; libuv then also drops supplementary groups.
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';

export interface Identity {
  uid: number;
  gid: number;
  /** For the log. */
  user: string;
}

export interface UserRef {
  user: string;
  group?: string;
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** uid and primary gid of `name` in passwd(5) text. */
export function lookupUser(passwd: string, name: string): { uid: number; gid: number } | null {
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || f[0] !== name) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
  }
  return null;
}

/** gid of `name` in group(5) text. */
export function lookupGroup(group: string, name: string): number | null {
  for (const line of group.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && f[0] === name) {
      const gid = Number(f[2]);
      if (Number.isInteger(gid)) return gid;
    }
  }
  return null;
}

/**
 * Resolves the identity for a script. `own` is the script's `user` setting, `global` global_defs script_user.
 * Returns null when the daemon should run it as itself (root by default), or an error for unknown names.
 */
export function resolveIdentity(
  own: UserRef | undefined,
  global: UserRef | undefined,
  files: { passwd: string; group: string } = { passwd: readOr('/etc/passwd'), group: readOr('/etc/group') },
): Identity | null | { error: string } {
  let ref = own ?? global;
  if (!ref) {
    if (!lookupUser(files.passwd, 'keepalived_script')) return null;
    ref = { user: 'keepalived_script' };
  }
  const numeric = /^\d+$/.test(ref.user);
  const u = numeric ? { uid: Number(ref.user), gid: Number(ref.user) } : lookupUser(files.passwd, ref.user);
  if (!u) return { error: `unknown script user ${ref.user}` };
  let gid = u.gid;
  if (ref.group !== undefined) {
    const g = /^\d+$/.test(ref.group) ? Number(ref.group) : lookupGroup(files.group, ref.group);
    if (g === null) return { error: `unknown script group ${ref.group}` };
    gid = g;
  }
  if (u.uid === 0 && gid === 0) return null;
  return { uid: u.uid, gid, user: ref.user };
}

export type IdentityResolver = (own: UserRef | undefined) => Identity | null | { error: string };

/** resolveIdentity with the global default bound and results memoised per (user, group). */
export function identityResolver(global: UserRef | undefined): IdentityResolver {
  const memo = new Map<string, Identity | null | { error: string }>();
  return (own) => {
    const key = own ? `${own.user}:${own.group ?? ''}` : '';
    let r = memo.get(key);
    if (r === undefined) {
      r = resolveIdentity(own, global);
      memo.set(key, r);
    }
    return r;
  };
}

/** spawn() options for an identity (none for running as ourselves). */
export function spawnIdentity(id: Identity | null): { uid?: number; gid?: number } {
  return id ? { uid: id.uid, gid: id.gid } : {};
}

/**
 * How keepalived starts a script's argv: execve() the first word directly when it names an executable file,
 * else hand the whole line to /bin/sh -c (so shell syntax in a notify or vrrp_script line still works).
 */
export function execPlan(argv: string[]): { file: string; args: string[] } {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return { file: '/bin/sh', args: ['-c', ''] };
  try {
    accessSync(cmd, constants.X_OK);
    if (statSync(cmd).isFile()) return { file: cmd, args };
  } catch {
    /* not a file we may execute: through the shell */
  }
  return { file: '/bin/sh', args: ['-c', argv.join(' ')] };
}

/** util-linux's setpriv (Debian: always installed), or null. Looked up once. */
let setprivPath: string | null | undefined;
function setpriv(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  for (const p of ['/usr/bin/setpriv', '/bin/setpriv']) {
    try {
      accessSync(p, constants.X_OK);
      setprivPath = p;
      break;
    } catch {
      /* not here */
    }
  }
  return setprivPath;
}

/**
 * How a script is started: execPlan, behind `setpriv --pdeathsig TERM` where util-linux provides it. keepalived
 * sets PR_SET_PDEATHSIG SIGTERM in each forked script, so that scripts end with the daemon however it ends
 * (SIGKILL, a crash); Node's spawn runs no code of ours between fork and exec, so setpriv sets it and then
 * execs the script in the same process (the pid stays the script's). It runs after spawn's uid/gid change,
 * which would otherwise clear the setting. Without setpriv the script starts as before; the daemon still
 * stops running scripts when it stops (notifier.ts, script-trackers.ts).
 */
export function launchPlan(argv: string[]): { file: string; args: string[] } {
  const plan = execPlan(argv);
  const wrapper = setpriv();
  return wrapper ? { file: wrapper, args: ['--pdeathsig', 'TERM', '--', plan.file, ...plan.args] } : plan;
}

/**
 * Signals a script started detached (its own process group): the group, shell and children alike, unless it
 * has exited.
 */
export function killScriptGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // gone
  }
}
