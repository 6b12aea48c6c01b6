// virtual_routes / virtual_rules / static_routes / static_rules, typed by the configuration layer
// (src/config/route-words.ts), → what travels through the engine (opaque JSON there) → the netlink layer's
// RouteSpec / RuleSpec. Lines the configuration could not type are not planned (its note says why).
import type { Family, Route, RouteConfig, Rule, RuleConfig } from '../config/model.js';
import type { RouteSpec, RuleSpec } from '../net/netlink-types.js';
import type { JsonValue } from '../vrrp/instance-params.js';

/** A route or rule in the engine: the typed value with its family settled, and its line for the log. */
interface Planned<T> {
  line: string;
  value: T & { family: Family };
}

function plan<T extends { family?: Family }>(words: string[], value: T, family: Family): JsonValue {
  const out: Planned<T> = { line: words.join(' '), value: { ...value, family: value.family ?? family } };
  return out as unknown as JsonValue;
}

/** The routes the daemon installs; `family` applies where a line names no address (the instance's). */
export function planRoutes(lines: readonly RouteConfig[], family: Family): JsonValue[] {
  return lines.flatMap((r) => (r.route ? [plan(r.words, r.route, family)] : []));
}

export function planRules(lines: readonly RuleConfig[], family: Family): JsonValue[] {
  return lines.flatMap((r) => (r.rule ? [plan(r.words, r.rule, family)] : []));
}

function planned<T>(item: JsonValue): Planned<T> | undefined {
  const o = item as Partial<Planned<T>> | null;
  return o && typeof o.line === 'string' && typeof o.value === 'object' && o.value !== null
    ? (o as Planned<T>)
    : undefined;
}

/** A planned route as a netlink request; `ifindex` resolves `dev`. A string says why there is none. */
export function routeRequest(
  item: JsonValue,
  ifindex: (name: string) => number | undefined,
): { line: string; spec: RouteSpec | string } | undefined {
  const p = planned<Route>(item);
  if (!p) return undefined;
  const { dev, ...spec } = p.value;
  if (dev === undefined) return { line: p.line, spec };
  const index = ifindex(dev);
  return { line: p.line, spec: index === undefined ? `no interface ${dev}` : { ...spec, oif: index } };
}

/** A planned rule as a netlink request. */
export function ruleRequest(item: JsonValue): { line: string; spec: RuleSpec } | undefined {
  const p = planned<Rule>(item);
  return p && { line: p.line, spec: p.value };
}
