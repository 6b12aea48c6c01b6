// The nftables data plane: keeps the committed state and its rendered objects in memory (the kernel is
// never read back), and sends each change set as one atomic transaction through an NftRunner.
import {
  canonical,
  type Dataplane,
  type DataplaneError,
  type DataplaneResult,
  type DataplaneState,
  EMPTY_STATE,
  validateState,
} from './dataplane.js';
import {
  allocate,
  diffScript,
  emptyAlloc,
  fullScript,
  type IdAlloc,
  type NftModel,
  removeScript,
  renderModel,
  unsupported,
} from './nft-model.js';
import type { NftRunner } from './nft-runner.js';

const fail = (error: DataplaneError): DataplaneResult => ({ ok: false, error });

export class NftDataplane implements Dataplane {
  #runner: NftRunner;
  #state: DataplaneState = EMPTY_STATE;
  #alloc: IdAlloc = emptyAlloc();
  #model: NftModel | undefined;
  /** Serialises transactions: each one is computed against the state the previous one committed. */
  #queue: Promise<unknown> = Promise.resolve();
  /** The last script sent (for logs and tests). */
  lastScript = '';

  constructor(runner: NftRunner) {
    this.#runner = runner;
  }

  committed(): DataplaneState {
    return this.#state;
  }

  /** Conntrack mark of each (service, server) pair — what the listing counts connections by. */
  marks(): ReadonlyMap<string, number> {
    return this.#alloc.marks;
  }

  #serial<T>(f: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(f, f);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  #check(state: DataplaneState): DataplaneError | undefined {
    return validateState(state)[0] ?? unsupported(state)[0];
  }

  start(state: DataplaneState): Promise<DataplaneResult> {
    return this.#serial(async () => {
      const bad = this.#check(state);
      if (bad) return fail(bad);
      const want = canonical(state);
      const alloc = allocate(this.#alloc, want);
      const model = renderModel(want, alloc);
      const script = fullScript(model);
      this.lastScript = script;
      const r = await this.#runner.run(script);
      if (!r.ok) return fail({ code: 'LVS_KERNEL', message: r.message });
      this.#state = want;
      this.#alloc = alloc;
      this.#model = model;
      return { ok: true };
    });
  }

  update(state: DataplaneState): Promise<DataplaneResult> {
    if (!this.#model) return this.start(state);
    return this.#serial(async () => {
      const bad = this.#check(state);
      if (bad) return fail(bad);
      const want = canonical(state);
      const alloc = allocate(this.#alloc, want);
      const model = renderModel(want, alloc);
      const script = this.#model ? diffScript(this.#model, model) : fullScript(model);
      this.lastScript = script;
      if (script !== '') {
        const r = await this.#runner.run(script);
        if (!r.ok) return fail({ code: 'LVS_KERNEL', message: r.message });
      }
      this.#state = want;
      this.#alloc = alloc;
      this.#model = model;
      return { ok: true };
    });
  }

  /** Rebuilds the table from the committed state (restores anything removed behind our back). */
  resync(): Promise<DataplaneResult> {
    return this.start(this.#state);
  }

  stop(keep = false): Promise<DataplaneResult> {
    return this.#serial(async () => {
      if (!keep) {
        const r = await this.#runner.run(removeScript());
        if (!r.ok) return fail({ code: 'LVS_KERNEL', message: r.message });
      }
      this.#state = EMPTY_STATE;
      this.#model = undefined;
      return { ok: true };
    });
  }
}
