// bfd_instance NAME { ... }: keepalived's keywords, ranges, defaults and messages (docs/bfd.md, 'Configuration').
// An instance that cannot run (no neighbour, mixed families, a duplicate address pair) is dropped at its end,
// as keepalived drops it; a bad value is reported and the default kept.
import type { SourcePos } from '../diagnostics.js';
import type { BfdInstance, KeepalivedConfig } from '../model.js';
import type { KeywordDef, KeywordTable, ParseCtx } from '../parser.js';
import { readDecimalScaled, readInt, readIp } from '../values.js';

/** keepalived's defaults (its bfd.h), in µs where the file takes ms. */
export const BFD_DEFAULTS = {
  minRxUs: 10_000,
  minTxUs: 10_000,
  idleTxUs: 1_000_000,
  multiplier: 5,
  ttl4: 255,
  hopLimit6: 64,
} as const;
/** Interval ranges in ms (keepalived reads them with 3 decimals: µs resolution). */
const MS_MAX = Math.floor(4294967295 / 1000);
const NAME_MAX = 31;
/** Instances a malformed neighbour address dropped at once: the rest of the block is skipped silently. */
const dropped = new WeakSet<BfdInstance>();

export function newBfdInstance(name: string, pos: SourcePos): BfdInstance {
  return {
    name,
    pos,
    minRxUs: BFD_DEFAULTS.minRxUs,
    minTxUs: BFD_DEFAULTS.minTxUs,
    idleTxUs: BFD_DEFAULTS.idleTxUs,
    multiplier: BFD_DEFAULTS.multiplier,
    passive: false,
    ttl: 0,
    maxHops: 0,
    multihop: false,
    weight: 0,
    reverse: false,
    toVrrp: false,
    toChecker: false,
  };
}

/** Opens a bfd_instance block: null (block skipped) for a name too long or already used. */
export function openBfdInstance(
  cfg: KeepalivedConfig,
  tokens: string[],
  pos: SourcePos,
  ctx: ParseCtx,
): BfdInstance | null {
  const name = tokens[1] ?? '';
  if (name.length > NAME_MAX) {
    ctx.diag.error(
      'CONFIG_INVALID_VALUE',
      `Configuration error: BFD instance ${name} name too long (maximum length is ${NAME_MAX} characters) - ignoring`,
      pos,
    );
    return null;
  }
  if (cfg.bfdInstances.some((b) => b.name === name)) {
    ctx.diag.error(
      'CONFIG_DUPLICATE_INSTANCE',
      `Configuration error: BFD instance ${name} already configured - ignoring`,
      pos,
    );
    return null;
  }
  const b = newBfdInstance(name, pos);
  cfg.bfdInstances.push(b);
  return b;
}

/**
 * At the block's end (`pos`: its closing brace, where keepalived reports these): the checks keepalived makes
 * there; an instance that cannot run is removed.
 */
export function closeBfdInstance(cfg: KeepalivedConfig, b: BfdInstance, ctx: ParseCtx, pos: SourcePos): void {
  const drop = (msg: string) => {
    ctx.diag.error('CONFIG_INVALID_VALUE', msg, pos);
    cfg.bfdInstances = cfg.bfdInstances.filter((x) => x !== b);
  };
  if (dropped.has(b)) {
    cfg.bfdInstances = cfg.bfdInstances.filter((x) => x !== b);
    return;
  }
  if (b.neighbor === undefined || b.family === undefined)
    return drop(
      `Configuration error: BFD instance ${b.name} has no neighbor address set, disabling instance`,
    );
  const src = b.source === undefined ? undefined : readIp(b.source);
  if (src?.ok && src.value.family !== b.family)
    return drop(
      `Configuration error: BFD instance ${b.name} source address ${b.source} and neighbor address ${b.neighbor} are not of the same family, disabling instance`,
    );
  const dup = cfg.bfdInstances.find(
    (x) => x !== b && x.neighbor === b.neighbor && (x.source ?? '') === (b.source ?? ''),
  );
  if (dup)
    return drop(
      b.source === undefined
        ? `Configuration error: BFD instance ${b.name} has duplicate neighbor address ${b.neighbor}, ignoring instance`
        : `Configuration error: BFD instance ${b.name} has duplicate source/neighbor address ${b.source}/${b.neighbor}, ignoring instance`,
    );
  if (b.ttl === 0) b.ttl = b.family === 4 ? BFD_DEFAULTS.ttl4 : BFD_DEFAULTS.hopLimit6;
  if (b.maxHops > b.ttl) {
    ctx.diag.error(
      'CONFIG_VALUE_CLAMPED',
      `BFD instance ${b.name}: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit`,
      pos,
    );
    b.maxHops = b.ttl;
  }
  // Neither `vrrp` nor `checker` given: both processes hear the session.
  if (!b.toVrrp && !b.toChecker) {
    b.toVrrp = true;
    b.toChecker = true;
  }
}

function line(
  set: (b: BfdInstance, tokens: string[], pos: SourcePos, ctx: ParseCtx) => void,
  doc: KeywordDef['doc'],
  needsValue = true,
): KeywordDef<BfdInstance> {
  return {
    ...(doc ? { doc } : {}),
    line: (b, tokens, pos, ctx) => {
      if (dropped.has(b)) return;
      if (needsValue && tokens[1] === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
      set(b, tokens, pos, ctx);
    },
  };
}

/** An interval in ms with µs resolution: min_rx, min_tx, idle_tx. */
function interval(
  kw: 'min_rx' | 'min_tx' | 'idle_tx',
  field: 'minRxUs' | 'minTxUs' | 'idleTxUs',
  minMs: number,
): KeywordDef<BfdInstance> {
  return line(
    (b, tokens, pos, ctx) => {
      const r = readDecimalScaled(tokens[1], 3, minMs, MS_MAX);
      if (!r.ok) {
        ctx.diag.error(
          'CONFIG_INVALID_VALUE',
          `Configuration error: BFD instance ${b.name} ${kw} value ${tokens[1]} is not valid (must be in range [${minMs}-${MS_MAX}]), ignoring`,
          pos,
        );
        return;
      }
      b[field] = r.value;
    },
    { args: 'MILLISECONDS', range: `${minMs}..${MS_MAX} ms, 3 decimal places`, field, fieldInUs: true },
  );
}

/** bfd_instance keywords (keepalived's bfd_parser.c). */
export function bfdKeywords(): KeywordTable<BfdInstance> {
  const neighbor = line(
    (b, tokens, pos, ctx) => {
      const r = readIp(tokens[1]);
      if (!r.ok) {
        ctx.diag.error(
          'CONFIG_INVALID_ADDRESS',
          `Configuration error: BFD instance ${b.name} has malformed ${tokens[0] === 'neighbour_ip' ? 'neighbour' : 'neighbor'} address ${tokens[1]}, ignoring instance`,
          pos,
        );
        dropped.add(b);
        return;
      }
      b.neighbor = r.value.address;
      b.family = r.value.family;
    },
    { args: 'ADDRESS', field: 'neighbor' },
  );
  const ttl = line(
    (b, tokens, pos, ctx) => {
      const r = readInt(tokens[1], 1, 255);
      if (!r.ok)
        return ctx.diag.error(
          'CONFIG_INVALID_VALUE',
          `Configuration error: BFD instance ${b.name} ttl/hoplimit value ${tokens[1]} not valid (must be in range [1-255]), ignoring`,
          pos,
        );
      b.ttl = r.value;
    },
    { args: 'INTEGER', range: '1..255; default 255 (IPv4), 64 (IPv6)' },
  );
  return {
    neighbor_ip: neighbor,
    neighbour_ip: neighbor,
    source_ip: line(
      (b, tokens, pos, ctx) => {
        const r = readIp(tokens[1]);
        if (!r.ok)
          return ctx.diag.error(
            'CONFIG_INVALID_ADDRESS',
            `Configuration error: BFD instance ${b.name} has malformed source address ${tokens[1]}, ignoring`,
            pos,
          );
        b.source = r.value.address;
      },
      { args: 'ADDRESS', field: 'source' },
    ),
    min_rx: interval('min_rx', 'minRxUs', 1),
    min_tx: interval('min_tx', 'minTxUs', 1),
    idle_tx: interval('idle_tx', 'idleTxUs', 1000),
    multiplier: line(
      (b, tokens, pos, ctx) => {
        const r = readInt(tokens[1], 1, 255);
        if (!r.ok)
          return ctx.diag.error(
            'CONFIG_INVALID_VALUE',
            `Configuration error: BFD instance ${b.name} multiplier value ${tokens[1]} not valid (must be in range [1-255]), ignoring`,
            pos,
          );
        b.multiplier = r.value;
      },
      { args: 'INTEGER', range: '1..255', field: 'multiplier' },
    ),
    passive: line(
      (b) => {
        b.passive = true;
      },
      { field: 'passive' },
      false,
    ),
    ttl,
    hoplimit: ttl,
    max_hops: line(
      (b, tokens, pos, ctx) => {
        const r = readInt(tokens[1], -1, 255);
        if (!r.ok)
          return ctx.diag.error(
            'CONFIG_INVALID_VALUE',
            `Configuration error: BFD instance ${b.name} max_hops value ${tokens[1]} not valid (must be in range [-1-255]), ignoring`,
            pos,
          );
        b.maxHops = r.value === -1 ? 255 : r.value;
      },
      { args: 'INTEGER', range: '-1..255 (-1 and 255: no TTL check)', field: 'maxHops' },
    ),
    // keepalived 2.2.7 has no `multihop` (later versions do: port 4784, RFC 5883); it is accepted here.
    multihop: line(
      (b, tokens, pos, ctx) => {
        const v = tokens[1];
        if (v === undefined || ['true', 'on', 'yes'].includes(v)) b.multihop = true;
        else if (['false', 'off', 'no'].includes(v)) b.multihop = false;
        else ctx.diag.error('CONFIG_INVALID_VALUE', `multihop: invalid boolean '${v}'`, pos);
      },
      { args: '[true|false]', field: 'multihop' },
      false,
    ),
    weight: line(
      (b, tokens, pos, ctx) => {
        const r = readInt(tokens[1], -253, 253);
        if (!r.ok)
          ctx.diag.error(
            'CONFIG_INVALID_VALUE',
            `Configuration error: BFD instance ${b.name} weight value ${tokens[1]} not valid (must be in range [-253-253]), ignoring`,
            pos,
          );
        else b.weight = r.value;
        if (tokens[2] !== undefined) {
          if (tokens[2] === 'reverse') b.reverse = true;
          else
            ctx.diag.error(
              'CONFIG_INVALID_VALUE',
              `Configuration error: BFD instance ${b.name} unknown weight option ${tokens[2]}`,
              pos,
            );
        }
      },
      { args: 'INTEGER [reverse]', range: '-253..253', field: 'weight' },
    ),
    vrrp: line(
      (b) => {
        b.toVrrp = true;
      },
      {},
      false,
    ),
    checker: line(
      (b) => {
        b.toChecker = true;
      },
      {},
      false,
    ),
  };
}
