// Runs the reference keepalived (Debian 2.2.7) in config-test mode over the sample corpus and our own
// cases, each in a namespace with only `lo` and `eth0`, and records exit code and every message verbatim
// in test/data/config-cases/keepalived-2.2.7-results.json — the material SURVEY.md digests and the
// parser's messages are matched against.
// Usage (root): node --import tsx scripts/survey-keepalived.ts [name-substring ...]
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  CASES_DIR,
  listConformanceCases,
  mapLimit,
  REFERENCE_KEEPALIVED,
  REPO_ROOT,
  referenceAvailable,
  runReferenceConfigTest,
} from '../test/helpers/keepalived-ref.js';
import { createLoEth0Netns, isRoot } from '../test/helpers/netns.js';

interface SurveyEntry {
  file: string;
  configId?: string;
  env?: Record<string, string>;
  exitCode: number | null;
  signal?: string;
  referenceCrashes?: string;
  /** Distinct messages in first-seen order; `count` when printed more than once (one per parse pass). */
  messages: { file: string | null; line: number; text: string; count?: number }[];
  unlocatedMessages: string[];
}

function distinctMessages(
  messages: { file: string | null; line: number; text: string }[],
): SurveyEntry['messages'] {
  const byKey = new Map<string, SurveyEntry['messages'][number]>();
  for (const m of messages) {
    const key = `${m.file}\u0000${m.line}\u0000${m.text}`;
    const seen = byKey.get(key);
    if (seen) seen.count = (seen.count ?? 1) + 1;
    else byKey.set(key, { ...m });
  }
  return [...byKey.values()];
}

async function main(): Promise<void> {
  if (!isRoot()) throw new Error('survey needs root (network namespaces)');
  if (!referenceAvailable()) throw new Error(`${REFERENCE_KEEPALIVED} not installed`);
  const filters = process.argv.slice(2);
  const cases = listConformanceCases().filter(
    (c) => filters.length === 0 || filters.some((f) => c.name.includes(f)),
  );
  const { ns, close } = createLoEth0Netns('survey');
  try {
    const results = await mapLimit(cases, 4, async (c) => {
      const r = await runReferenceConfigTest(ns, c.file, c.options);
      const entry: SurveyEntry = {
        file: c.file.startsWith(REPO_ROOT) ? relative(REPO_ROOT, c.file) : c.file,
        ...(c.options.configId !== undefined ? { configId: c.options.configId } : {}),
        ...(c.options.env ? { env: c.options.env } : {}),
        exitCode: r.exitCode,
        ...(r.signal ? { signal: r.signal } : {}),
        ...(c.options.referenceCrashes ? { referenceCrashes: c.options.referenceCrashes } : {}),
        messages: distinctMessages(r.messages),
        unlocatedMessages: [...new Set(r.unlocated)],
      };
      return [c.name, entry] as const;
    });
    const out: Record<string, unknown> = {
      generatedBy: 'scripts/survey-keepalived.ts',
      keepalived: 'Debian keepalived 2.2.7 (-t -f FILE -n -l), netns with only lo and eth0',
      cases: Object.fromEntries(results),
    };
    const path = join(CASES_DIR, 'keepalived-2.2.7-results.json');
    writeFileSync(path, `${JSON.stringify(out, null, 2)}\n`);
    console.log(`wrote ${results.length} cases to ${relative(REPO_ROOT, path)}`);
  } finally {
    close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
