// The trackers of each instance (track_interface, track_file, track_script, track_process, its own and its
// sync group's), and the tracked blocks some instance uses: those are what the daemon runs and watches.
import type {
  BfdInstance,
  KeepalivedConfig,
  TrackFile,
  TrackProcess,
  TrackRef,
  VrrpInstanceConfig,
  VrrpScript,
} from '../../config/model.js';
import type { TrackerDef } from '../../vrrp/priority.js';

interface Tracked {
  name: string;
  weight: number;
  reverse: boolean;
}

/** One kind of tracked block: the runnable ones by name, and the ones some instance tracks. */
class Blocks<D extends Tracked> {
  readonly byName: Map<string, D>;
  readonly used = new Map<string, D>();
  constructor(blocks: D[]) {
    this.byName = new Map(blocks.map((b) => [b.name, b]));
  }
}

export class TrackerCatalog {
  /** A sync group's track_* entries apply to each member (keepalived vrrp_sync.c). */
  readonly #group = new Map<
    string,
    {
      interfaces: TrackRef[];
      scripts: TrackRef[];
      files: TrackRef[];
      processes: TrackRef[];
      bfds: TrackRef[];
    }
  >();
  readonly #bfds: Blocks<BfdInstance>;
  readonly #files: Blocks<TrackFile>;
  readonly #scripts: Blocks<VrrpScript>;
  readonly #processes: Blocks<TrackProcess>;

  constructor(cfg: KeepalivedConfig) {
    for (const sg of cfg.syncGroups)
      for (const m of sg.members)
        this.#group.set(m.name, {
          interfaces: sg.trackInterfaces,
          scripts: sg.trackScripts,
          files: sg.trackFiles,
          processes: sg.trackProcesses,
          bfds: sg.trackBfds,
        });
    // BFD sessions reporting to VRRP (a bfd_instance with only `checker` is not VRRP's).
    this.#bfds = new Blocks(cfg.bfdInstances.filter((b) => b.toVrrp));
    this.#processes = new Blocks(cfg.trackProcesses.filter((p) => (p.process?.length ?? 0) > 0));
    this.#files = new Blocks(cfg.trackFiles.filter((f) => f.file));
    this.#scripts = new Blocks(cfg.vrrpScripts.filter((v) => v.script && !v.invalid));
  }

  /** The instance's trackers; a reference to a block that cannot run is a warning (`name` starts it). */
  forInstance(i: VrrpInstanceConfig, name: string, warnings: string[]): TrackerDef[] {
    const group = this.#group.get(i.name);
    // track_interface: weight 0 (the default) means FAULT while down (man5 track_interface).
    const trackers: TrackerDef[] = [];
    for (const ref of [...i.trackInterfaces, ...(group?.interfaces ?? [])]) {
      if (ref.name === i.interface) continue; // the instance's own interface is tracked anyway
      if (trackers.some((t) => t.kind === 'interface' && t.name === ref.name)) continue;
      trackers.push({
        name: ref.name,
        kind: 'interface',
        weight: ref.weight ?? 0,
        reverse: ref.reverse,
        ...(ref.weightListedAsZero ? { weightInSyncGroup: true } : {}),
      });
    }
    // A VIP on another interface (`dev`, unless no_track): keepalived 2.2.7 faults the instance while that
    // interface is down or missing (dynamic_interfaces), weight 0 (docs/config-meaning.md).
    if (i.useVmac === undefined)
      for (const v of [...i.virtualIpaddresses, ...i.virtualIpaddressesExcluded]) {
        if (v.dev === undefined || v.noTrack || v.dev === i.interface) continue;
        if (trackers.some((t) => t.kind === 'interface' && t.name === v.dev)) continue;
        trackers.push({ name: v.dev, kind: 'interface', weight: 0, reverse: false, implicit: true });
      }
    // So are a virtual route's output interface (`dev`) and a virtual rule's interfaces (`iif`, `oif`), unless
    // no_track, VMAC or not (docs/config-meaning.md).
    for (const dev of routeDevices(i)) {
      if (dev === i.interface) continue;
      if (trackers.some((t) => t.kind === 'interface' && t.name === dev)) continue;
      trackers.push({ name: dev, kind: 'interface', weight: 0, reverse: false, implicit: true });
    }
    // track_file, track_script, track_process: the entry's weight (and reverse) override the block's own
    // (man5 track_script); weight 0 means FAULT while down (not for track_file: a value).
    const fromBlocks = <D extends Tracked>(
      refs: TrackRef[],
      blocks: Blocks<D>,
      kind: TrackerDef['kind'],
      missing: string,
      extra: (d: D) => Partial<TrackerDef> = () => ({}),
    ) => {
      for (const ref of refs) {
        const def = blocks.byName.get(ref.name);
        if (!def) {
          warnings.push(`${name} ${missing.replace('%s', ref.name)}; ignored`);
          continue;
        }
        // Names are per kind (keepalived keeps one list per kind): only the same kind repeats.
        if (trackers.some((t) => t.kind === kind && t.name === ref.name)) continue;
        blocks.used.set(def.name, def);
        trackers.push({
          name: ref.name,
          kind,
          weight: ref.weight ?? def.weight,
          reverse: ref.weight !== undefined ? ref.reverse : def.reverse || ref.reverse,
          ...extra(def),
        });
      }
    };
    fromBlocks([...i.trackFiles, ...(group?.files ?? [])], this.#files, 'file', 'track_file %s has no file');
    fromBlocks(
      [...i.trackScripts, ...(group?.scripts ?? [])],
      this.#scripts,
      'script',
      'track_script %s is not a runnable vrrp_script',
      (def) => ({ initialUp: !def.initFail }),
    );
    fromBlocks(
      [...i.trackProcesses, ...(group?.processes ?? [])],
      this.#processes,
      'process',
      'track_process %s names no process to track',
    );
    // track_bfd: Down until the BFD process says Up (keepalived starts every tracked BFD down).
    fromBlocks(
      [...i.trackBfds, ...(group?.bfds ?? [])],
      this.#bfds,
      'bfd',
      'track_bfd %s is not a BFD instance reporting to VRRP',
      () => ({ initialUp: false }),
    );
    return trackers;
  }

  /** The blocks some instance tracks (after every forInstance). */
  used(): { scripts: VrrpScript[]; files: TrackFile[]; processes: TrackProcess[] } {
    return {
      scripts: [...this.#scripts.used.values()],
      files: [...this.#files.used.values()],
      processes: [...this.#processes.used.values()],
    };
  }
}

/**
 * The interfaces an instance's tracked virtual routes (`dev`) and rules (`iif` and `oif`, a rule with an
 * action) name: keepalived 2.2.7 faults the instance while one is down or missing, as for a VIP's device.
 */
export function routeDevices(i: VrrpInstanceConfig): string[] {
  const devs = [
    ...i.virtualRoutes.map((r) => (r.noTrack ? undefined : r.ip.dev)),
    ...i.virtualRules.flatMap((r) => (r.noTrack || r.ip.action === undefined ? [] : [r.ip.iif, r.ip.oif])),
  ];
  return [...new Set(devs.filter((d): d is string => d !== undefined))];
}

/**
 * Every interface an instance names, tracked or not (`no_track`), in the order keepalived reads them: its
 * own, the tracked ones, its VIPs' devices, its virtual routes' (`dev`, next hops' `dev`) and rules' (`iif`,
 * `oif`). keepalived knows each of them (with dynamic_interfaces, one missing at start is a placeholder it
 * names in its start-up lines and its data dump: docs/config-meaning.md, 'Interfaces that do not exist').
 */
export function namedDevices(i: VrrpInstanceConfig): string[] {
  const devs = [
    i.interface,
    ...i.trackInterfaces.map((t) => t.name),
    ...[...i.virtualIpaddresses, ...i.virtualIpaddressesExcluded].map((v) => v.dev),
    ...i.virtualRoutes.flatMap((r) => [r.ip.dev, ...r.ip.nexthops.map((h) => h.dev)]),
    ...i.virtualRules.flatMap((r) => (r.ip.action === undefined ? [] : [r.ip.iif, r.ip.oif])),
  ];
  return [...new Set(devs.filter((d): d is string => d !== undefined))];
}
