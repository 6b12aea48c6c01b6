// A listening AF_UNIX datagram socket for sd_notify tests, as systemd's NOTIFY_SOCKET: a small python3 process
// (Node has no AF_UNIX datagram socket) that prints each datagram it receives as one JSON line.
import { type ChildProcess, spawn } from 'node:child_process';

const LISTENER = `
import json, socket, sys
name = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(("\\0" + name[1:]) if name.startswith("@") else name)
print(json.dumps({"listening": True}), flush=True)
while True:
    data = s.recv(4096)
    print(json.dumps({"text": data.decode()}), flush=True)
`;

export interface Datagram {
  text: string;
  /** Date.now() when it reached the test. */
  rxMs: number;
}

export class NotifyListener {
  readonly messages: Datagram[] = [];
  readonly proc: ChildProcess;
  #waiters: (() => void)[] = [];
  #listening = false;

  /** `name`: a path, or `@name` for an abstract socket (then `prefix` runs it in a namespace: ip netns exec). */
  constructor(name: string, prefix: string[] = []) {
    const argv = [...prefix, 'python3', '-c', LISTENER, name];
    this.proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    let partial = '';
    this.proc.stdout?.on('data', (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const m = JSON.parse(line) as { listening?: boolean; text?: string };
        if (m.listening) this.#listening = true;
        if (m.text !== undefined) this.messages.push({ text: m.text, rxMs: Date.now() });
      }
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  async listening(timeoutMs = 5000): Promise<void> {
    await this.waitUntil(() => this.#listening, timeoutMs, 'the listener to bind');
  }

  /** The first datagram at or after index `from` whose text matches `re`. */
  async waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<Datagram & { index: number }> {
    let hit: (Datagram & { index: number }) | undefined;
    await this.waitUntil(
      () => {
        const i = this.messages.findIndex((m, k) => k >= from && re.test(m.text));
        if (i >= 0) hit = { ...this.messages[i]!, index: i };
        return hit !== undefined;
      },
      timeoutMs,
      `a datagram matching ${re} (got ${JSON.stringify(this.messages.map((m) => m.text))})`,
    );
    return hit!;
  }

  async waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0 || this.proc.exitCode !== null) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.min(left, 100));
        this.#waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  close(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}
