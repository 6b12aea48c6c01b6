// The file creation mask, as keepalived 2.2.7 keeps it (docs/keepalived-semantics.md, "File modes and
// umask"): 0177 from the start, `-u MASK` on the command line, else global_defs `umask`. It is the process
// umask too, so the scripts the daemon starts inherit it. The files the daemon writes get explicit modes
// here (set with fchmod/chmod, so they do not depend on the umask of the moment): data files rw for all
// less the mask, FIFOs rw-r--r-- less the mask, pid files always rw-r--r--.
import { closeSync, fchmodSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';

/** keepalived's mask before any `-u` or `umask`: u=x, g=rwx, o=rwx (files 0600). */
export const DEFAULT_UMASK = 0o177;

/** Pid files: rw-r--r-- whatever the mask (keepalived clears the mask's bits of these for them). */
export const PID_FILE_MODE = 0o644;

/** Pid directories (/run/keepalived/NAMESPACE): rwxr-xr-x whatever the mask. */
export const PID_DIR_MODE = 0o755;

let mask = DEFAULT_UMASK;

/** The mask in force in this process. */
export function fileMask(): number {
  return mask;
}

/** Sets the mask, and the process umask that spawned scripts inherit. */
export function setFileMask(m: number): void {
  mask = m & 0o777;
  process.umask(mask);
}

/**
 * At start and at each reload of a daemon process: `-u` (when given and valid) wins; else global_defs
 * `umask` when the configuration sets it; else the mask stays as it is — 2.2.7 keeps the last one set, so a
 * reload that drops the keyword changes nothing.
 */
export function applyFileMask(cliUmask: number | undefined, configured: number | undefined): void {
  if (cliUmask !== undefined) setFileMask(cliUmask);
  else if (configured !== undefined) setFileMask(configured);
}

/** A data file's mode (dumps, track_file init_file): rw for all less the mask; 0600 by default. */
export function dataFileMode(): number {
  return 0o666 & ~mask;
}

/** A notify FIFO's mode when the daemon creates it: rw-r--r-- less the mask; 0600 by default. */
export function fifoMode(): number {
  return 0o644 & ~mask;
}

/**
 * `strtol(s, &end, 0)` taking the whole string, as 2.2.7 reads a numeric mask: decimal, 0-prefixed octal or
 * 0x-prefixed hex, optional leading blanks and sign (the empty string reads as 0, as strtol leaves it);
 * null when anything is left over.
 */
export function readCNumber(s: string): number | null {
  if (s === '') return 0;
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return null;
  const digits = m[2]!;
  const v = /^0[xX]/.test(digits)
    ? Number.parseInt(digits.slice(2), 16)
    : digits.startsWith('0')
      ? Number.parseInt(digits, 8)
      : Number.parseInt(digits, 10);
  return m[1] === '-' ? -v : v;
}

/** A mask as `-u` takes it (a number, 0 to 0777), or null. */
export function readNumericMask(s: string): number | null {
  const v = readCNumber(s);
  return v === null || v < 0 || v > 0o777 ? null : v;
}

/**
 * Runs a synchronous creation with the mask's `keep` bits cleared, as 2.2.7 creates its pid files (0644) and
 * pid directories (0755) whatever the mask; the mask is back when it returns.
 */
export function withBitsKept<T>(keep: number, create: () => T): T {
  const before = process.umask(mask & ~keep);
  try {
    return create();
  } finally {
    process.umask(before);
  }
}

/** One temporary name per write: two dumps in quick succession must not write into the same file. */
let written = 0;
const tmpName = (file: string) => `${file}.${process.pid}.${++written}.tmp`;

/**
 * A data file as 2.2.7 writes its dumps: into a temporary file given dataFileMode() (chmod, not left to the
 * umask), then renamed over `file`, so a reader never sees half of it and an old file's mode does not stay.
 */
export async function writeDataFile(file: string, text: string): Promise<void> {
  const tmp = tmpName(file);
  const mode = dataFileMode();
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.chmod(mode);
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

/** writeDataFile, synchronously (track_file's init_file at start and reload). */
export function writeDataFileSync(file: string, text: string): void {
  const tmp = tmpName(file);
  const mode = dataFileMode();
  const fd = openSync(tmp, 'wx', mode);
  try {
    fchmodSync(fd, mode);
    writeFileSync(fd, text);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
