// Service builders shared by the LVS tests (src/lvs/dataplane.ts's ServiceSpec), so each test states only
// what it changes from one well-known service.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import type { RealServerSpec, SchedFlags, ServiceSpec } from '../../src/lvs/dataplane.js';

/** Scheduler flags all off. */
export const NO_FLAGS: SchedFlags = { hashPort: false, fallback: false, onePacket: false };

/** A NAT real server. */
export const nat = (address: string, port: number, weight = 1): RealServerSpec => ({
  address,
  port,
  weight,
  method: 'NAT',
});

/** A direct-routing real server (port 0 in a fwmark service). */
export const dr = (address: string, port: number, weight = 1): RealServerSpec => ({
  address,
  port,
  weight,
  method: 'DR',
});

/** For the `*-main.ts` scripts run in a test namespace: `nft` itself, and an `eth0` that `fwd`/`dup` can name. */
export function nftNamespaceSetup(): (...args: string[]) => SpawnSyncReturns<string> {
  spawnSync('ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1']);
  spawnSync('ip', ['link', 'set', 'eth0', 'up']);
  return (...args) => spawnSync('nft', args, { encoding: 'utf8' });
}

/** The established DR connection the `*-main.ts` scripts plant: client 198.51.100.10:40000 → 198.51.100.100:80. */
export const DR_FLOW = '198.51.100.10 . 40000 . 198.51.100.100 . 80';

/** Adds DR_FLOW to the DR table's flows4 map naming `mark` (a real server's), as the packet path would. */
export function addDrFlow(nft: ReturnType<typeof nftNamespaceSetup>, mark: number | undefined): void {
  if (mark === undefined) throw new Error('no mark for the DR server');
  const added = nft(
    'add',
    'element',
    'netdev',
    'keepalived_ts_dr',
    'flows4',
    `{ ${DR_FLOW} : 0x${mark.toString(16)} }`,
  );
  if (added.status !== 0) throw new Error(added.stderr);
}

/**
 * A service named `name`: TCP 198.51.100.100:80, wrr over 192.0.2.11:8080 (weight 3) and 192.0.2.12:8080
 * (weight 1), NAT, no sorry server; `over` replaces whole fields.
 */
export function svc(name: string, over: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name,
    family: 4,
    protocol: 'tcp',
    matches: [{ kind: 'addr', address: '198.51.100.100', port: 80 }],
    scheduler: 'wrr',
    flags: { ...NO_FLAGS },
    reals: [nat('192.0.2.11', 8080, 3), nat('192.0.2.12', 8080, 1)],
    sorryActive: false,
    ...over,
  };
}
