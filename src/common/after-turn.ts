// Messages to another process, queued while the VRRP engine works and sent together once the current turn of
// the event loop is over (setImmediate): a takeover's writes never wait behind a pipe write.
export class AfterTurn<T> {
  #pending: T[] = [];
  #flush: NodeJS.Immediate | null = null;
  readonly #send: (batch: readonly T[]) => void;

  constructor(send: (batch: readonly T[]) => void) {
    this.#send = send;
  }

  push(m: T): void {
    this.#pending.push(m);
    this.#flush ??= setImmediate(() => {
      this.#flush = null;
      const batch = this.#pending;
      this.#pending = [];
      this.#send(batch);
    });
  }
}
