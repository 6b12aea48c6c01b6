// A busy loop pinned to one CPU (taskset), to load "the machine's other core" during timing benchmarks.
import { type ChildProcess, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { trackChild } from './cleanup.js';

export class BusyCore {
  readonly cpu: number;
  readonly #proc: ChildProcess;

  /** Spins on `cpu` (default: the last CPU). */
  constructor(cpu = availableParallelism() - 1) {
    this.cpu = cpu;
    this.#proc = spawn('taskset', ['-c', String(cpu), process.execPath, '-e', 'for (;;) {}'], {
      stdio: 'ignore',
    });
    trackChild(this.#proc);
  }

  stop(): void {
    if (this.#proc.exitCode === null && this.#proc.signalCode === null) this.#proc.kill('SIGKILL');
  }
}
