// keepalived.conf text for daemon tests: an optional global_defs body and one vrrp_instance on eth0, with
// the defaults most tests share (VRRPv3, VRID 51, priority 100, 0.1 s adverts, VIP 192.0.2.100/24).
export interface InstanceOptions {
  name?: string;
  vrid?: number;
  priority?: number;
  advertInt?: number;
  /** `address/prefix` */
  vips?: string[];
  /** Further lines inside the instance block. */
  extra?: string;
  /** `state` line (none by default). */
  state?: 'BACKUP' | 'MASTER';
}

export function daemonConf(global: string, i: InstanceOptions = {}): string {
  return `${global ? `global_defs {\n  ${global}\n}\n` : ''}${vrrpInstanceConf(i)}`;
}

/** One vrrp_instance block with those defaults, for a configuration of several. */
export function vrrpInstanceConf(i: InstanceOptions = {}): string {
  return `vrrp_instance ${i.name ?? 'VI_1'} {
${i.state ? `  state ${i.state}\n` : ''}  interface eth0
  virtual_router_id ${i.vrid ?? 51}
  version 3
  priority ${i.priority ?? 100}
  advert_int ${i.advertInt ?? 0.1}
  ${i.extra ?? ''}
  virtual_ipaddress {
    ${(i.vips ?? ['192.0.2.100/24']).join('\n    ')}
  }
}
`;
}
