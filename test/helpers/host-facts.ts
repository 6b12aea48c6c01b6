// The host a dump is written for in unit tests: no interfaces, every script run as 0:0, clocks at 0.
import type { HostFacts } from '../../src/notify/dump-sections.js';

export const TEST_HOST: HostFacts = {
  hostname: 'h',
  interfaces: [],
  scriptUidGid: () => '0:0',
  resolveCommand: (c) => c,
  nowS: 0,
  monoNowUs: 0,
};
