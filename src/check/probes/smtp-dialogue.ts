// SMTP_CHECK's conversation as a pure state machine: bytes in, lines to send and a verdict out. keepalived
// (check_smtp.c): read the banner, which must be 220; send "HELO <helo_name>"; the reply must be 250; send
// "QUIT"; any reply line ends the check with success. Replies may span lines ("220-..." continues, "220 ..."
// ends, RFC 5321 §4.2.1); keepalived 2.2.7 reads only the first line and so fails a multi-line banner —
// here the final line's code decides (docs/probes.md, "SMTP_CHECK").

export const DEFAULT_HELO = 'smtpchecker.keepalived.org';
/** keepalived's line buffer; a longer line is garbage, not a reply. */
export const MAX_LINE = 512;
const MAX_LINES_PER_REPLY = 64;

export type DialogueStep =
  | { kind: 'wait' }
  | { kind: 'send'; line: string }
  | { kind: 'done' }
  | { kind: 'fail'; code: string; reason: string };

type Phase = 'banner' | 'helo' | 'quit' | 'over';

export class SmtpDialogue {
  readonly #helo: string;
  #phase: Phase = 'banner';
  #partial = '';
  #lines = 0;

  constructor(heloName = DEFAULT_HELO) {
    this.#helo = heloName;
  }

  /** Feeds received text; returns what to do next (at most one step per complete reply). */
  receive(text: string): DialogueStep[] {
    const steps: DialogueStep[] = [];
    this.#partial += text;
    for (;;) {
      if (this.#phase === 'over') return steps;
      const nl = this.#partial.indexOf('\n');
      if (nl < 0) {
        if (this.#partial.length > MAX_LINE)
          return [...steps, this.#fail('smtp-garbage', 'reply line too long')];
        return steps;
      }
      const line = this.#partial.slice(0, nl).replace(/\r$/, '');
      this.#partial = this.#partial.slice(nl + 1);
      if (line.length > MAX_LINE) return [...steps, this.#fail('smtp-garbage', 'reply line too long')];
      const step = this.#line(line);
      if (step) {
        steps.push(step);
        if (step.kind === 'fail' || step.kind === 'done') return steps;
      }
    }
  }

  #fail(code: string, reason: string): DialogueStep {
    this.#phase = 'over';
    return { kind: 'fail', code, reason };
  }

  #line(line: string): DialogueStep | undefined {
    if (this.#phase === 'quit') {
      this.#phase = 'over';
      return { kind: 'done' };
    }
    const m = /^(\d{3})([ -]|$)/.exec(line);
    if (m?.[2] === '-') {
      if (++this.#lines > MAX_LINES_PER_REPLY) return this.#fail('smtp-garbage', 'reply has too many lines');
      return undefined;
    }
    this.#lines = 0;
    const status = m ? Number(m[1]) : -1;
    if (this.#phase === 'banner') {
      if (status !== 220) return this.#fail('smtp-banner', `bad greeting banner: ${show(line)}`);
      this.#phase = 'helo';
      return { kind: 'send', line: `HELO ${this.#helo}\r\n` };
    }
    if (status !== 250) return this.#fail('smtp-helo', `bad HELO response: ${show(line)}`);
    this.#phase = 'quit';
    return { kind: 'send', line: 'QUIT\r\n' };
  }
}

/** A reply line for the log: printable ASCII only, at most 80 characters. */
function show(line: string): string {
  const s = line.replace(/[^\x20-\x7e]/g, '?');
  return `'${s.length > 80 ? `${s.slice(0, 80)}...` : s}'`;
}
