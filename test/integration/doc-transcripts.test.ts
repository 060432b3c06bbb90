// The transcripts in the docs still come out the same way when they are run (npm run transcripts
// writes them; this checks their shape: job ids, times, sizes and checksums may differ, nothing else).
// Transcripts marked (slow) build and boot real appliances: `npm run transcripts -- --check --slow`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTranscript, shapeOf, transcriptPages, transcriptsOf } from '../../scripts/transcripts.ts';
import { repoRoot } from '../../src/app/config-load.ts';

const transcripts = transcriptPages().flatMap((page) =>
  transcriptsOf(page, readFileSync(join(repoRoot, page), 'utf8')),
);
const fast = transcripts.filter((t) => !t.slow);

describe('the docs’ transcripts', () => {
  it('there are some, and the README’s first ones are among them', () => {
    expect(fast.length).toBeGreaterThan(0);
    expect(transcripts.filter((t) => t.page === 'README.md').length).toBeGreaterThanOrEqual(2);
  });

  it.each(fast.map((t) => [`${t.page}: ${t.command}`, t] as const))(
    '%s still comes out the same way',
    async (_name, transcript) => {
      const output = await runTranscript(transcript);
      expect(shapeOf(output)).toEqual(shapeOf(transcript.shown));
    },
    120_000,
  );
});
