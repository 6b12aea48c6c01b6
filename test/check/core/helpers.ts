// Shared by the checker-core tests: configs from keepalived text, and small drivers over the core.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckAction } from '../../../src/check/core/actions.js';
import { CheckerCore, type CheckerCoreOptions } from '../../../src/check/core/core.js';
import type { ProbeOutcome } from '../../../src/check/probe.js';
import { loadConfig } from '../../../src/config/load.js';
import type { KeepalivedConfig } from '../../../src/config/model.js';

export const S = 1_000_000;

/** Parses keepalived configuration text; fails the test on any error diagnostic. */
export function conf(text: string): KeepalivedConfig {
  // One path per process, so that source positions (and so action streams) replay identically.
  const dir = join(tmpdir(), `kats-check-core-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    const file = join(dir, 'keepalived.conf');
    writeFileSync(file, text);
    const { config, diag } = loadConfig(file, { configId: 'test', env: {} });
    const errors = diag.list.filter((d) => d.severity === 'error');
    if (errors.length > 0) throw new Error(`config errors: ${errors.map((e) => e.message).join('; ')}`);
    return config;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * keepalived text for the virtual server most checker tests use — 192.0.2.100:80, NAT, rr, TCP, delay_loop
 * 10 — around `body` (its real servers and further lines); `head` goes first (default `warmup 0`).
 */
export function virtualServer(body: string, head = 'warmup 0'): string {
  return `
virtual_server 192.0.2.100 80 {
  delay_loop 10
  ${head}
  lb_algo rr
  lb_kind NAT
  protocol TCP
  ${body}
}`;
}

export function core(text: string, opts: Partial<CheckerCoreOptions> = {}): CheckerCore {
  return new CheckerCore(conf(text), { seed: 1, ...opts });
}

export const ok = (latencyUs = 1000, weight?: number): ProbeOutcome =>
  weight === undefined ? { ok: true, latencyUs } : { ok: true, latencyUs, weight };
export const fail = (code = 'refused', reason = 'connection refused', latencyUs = 500): ProbeOutcome => ({
  ok: false,
  latencyUs,
  code,
  reason,
});

export function logs(actions: CheckAction[]): string[] {
  return actions.flatMap((a) => (a.type === 'log' ? [a.message] : []));
}

export function ofType<T extends CheckAction['type']>(
  actions: CheckAction[],
  type: T,
): Extract<CheckAction, { type: T }>[] {
  return actions.filter((a): a is Extract<CheckAction, { type: T }> => a.type === type);
}

export function probeIds(actions: CheckAction[]): number[] {
  return ofType(actions, 'runProbe').map((a) => a.probeId);
}

/** Advances to the next deadline and fires it; returns the time and the actions. */
export function fireNext(c: CheckerCore): { at: number; actions: CheckAction[] } {
  const at = c.nextDeadline();
  if (at === null) throw new Error('nothing scheduled');
  return { at, actions: c.timer(at) };
}

/** Fires timers until a runProbe comes out; returns its time and probe id. */
export function nextRun(c: CheckerCore): { at: number; probeId: number; actions: CheckAction[] } {
  for (let i = 0; i < 1000; i++) {
    const { at, actions } = fireNext(c);
    const ids = probeIds(actions);
    if (ids.length > 0) return { at, probeId: ids[0]!, actions };
  }
  throw new Error('no probe ran');
}

export function live(c: CheckerCore, vs: string): string[] {
  const v = c.snapshot().find((x) => x.vs === vs);
  if (!v) throw new Error(`no VS ${vs}`);
  return v.live.map((l) => l.rs);
}
