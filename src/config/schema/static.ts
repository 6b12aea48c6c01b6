// static_ipaddress / static_routes / static_rules: addresses and routes keepalived keeps in place
// whatever the VRRP state.
import type { KeepalivedConfig } from '../model.js';
import type { KeywordTable } from '../parser.js';
import { parseRouteLine, parseRuleLine, parseVirtualAddress, type RuleDefaults } from './addresses.js';

export function addressRouteKeywords(rules: RuleDefaults): KeywordTable<KeepalivedConfig> {
  return {
    static_ipaddress: {
      values: {
        open: (c) => c,
        value: (c: KeepalivedConfig, tokens, pos, ctx) => {
          const a = parseVirtualAddress(tokens, pos, ctx);
          if (a) c.staticIpaddresses.push(a);
        },
      },
    },
    static_routes: {
      values: {
        open: (c) => c,
        value: (c: KeepalivedConfig, tokens, pos, ctx) => {
          const r = parseRouteLine(tokens, pos, ctx);
          if (r) c.staticRoutes.push(r);
        },
      },
    },
    static_rules: {
      values: {
        open: (c) => c,
        value: (c: KeepalivedConfig, tokens, pos, ctx) => {
          const r = parseRuleLine(tokens, pos, ctx, rules);
          if (r) c.staticRules.push(r);
        },
      },
    },
  };
}
