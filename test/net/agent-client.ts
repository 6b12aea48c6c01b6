// Test-side handle on a fixtures/agent.ts child running inside a namespace.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const agentPath = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'agent.ts');

export type AgentEvent = { event: string } & Record<string, unknown>;

type Waiter = { pred: (e: AgentEvent) => boolean; resolve: (e: AgentEvent) => void };

export class Agent {
  readonly ns: string;
  readonly events: AgentEvent[] = [];
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #waiters: Waiter[] = [];
  #nextId = 1;
  stderr = '';

  private constructor(ns: string, child: ChildProcess) {
    this.ns = ns;
    this.#child = child;
    createInterface({ input: child.stdout! }).on('line', (line) => this.#onLine(line));
    child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    child.on('exit', () => {
      for (const p of this.#pending.values()) p.reject(new Error(`agent in ${ns} exited: ${this.stderr}`));
      this.#pending.clear();
    });
  }

  /** Starts an agent inside `ns` (optionally under a wrapper command such as setpriv) once it has loaded. */
  static async start(ns: string, wrapper: string[] = []): Promise<Agent> {
    const cmd = [...wrapper, process.execPath, '--import', 'tsx', agentPath];
    const child = spawn('ip', ['netns', 'exec', ns, ...cmd], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const a = new Agent(ns, child);
    await a.waitEvent((e) => e.event === 'ready', 20_000);
    return a;
  }

  #onLine(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line);
    } catch {
      this.stderr += `non-JSON stdout: ${line}\n`;
      return;
    }
    if (typeof msg.id === 'number') {
      const p = this.#pending.get(msg.id);
      this.#pending.delete(msg.id);
      if (!p) return;
      if ('exception' in msg) p.reject(new Error(String(msg.exception)));
      else p.resolve(msg.result);
      return;
    }
    const ev = msg as AgentEvent;
    this.events.push(ev);
    const still: Waiter[] = [];
    for (const w of this.#waiters) {
      if (w.pred(ev)) w.resolve(ev);
      else still.push(w);
    }
    this.#waiters = still;
  }

  call<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#child.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  /** Resolves with the first event (already seen or future) matching `pred`. */
  waitEvent(pred: (e: AgentEvent) => boolean, timeoutMs = 5000): Promise<AgentEvent> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timeout waiting for event in ${this.ns}; stderr: ${this.stderr}`));
      }, timeoutMs);
      const done = (e: AgentEvent) => {
        clearTimeout(t);
        resolve(e);
      };
      this.#waiters.push({ pred, resolve: done });
    });
  }

  /** Closes stdin (the agent closes its sockets and exits) and waits for the exit. */
  stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
      this.#child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      this.#child.stdin!.end();
    });
  }
}
