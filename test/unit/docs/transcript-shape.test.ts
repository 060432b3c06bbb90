// What `npm run transcripts -- --check` compares: a transcript's shape survives new job ids, times,
// sizes and the order of side-by-side jobs, and nothing else.
import { describe, expect, it } from 'vitest';
import { shapeOf, shownOf, transcriptsOf } from '../../../scripts/transcripts.ts';

const run1 = `alice> build cernvm 2.6 kvm vmware
▶️ build cernvm 2.6 kvm · job 8anpg3xe-kvm · step 0/1 [..........] 0% · 0:00 · asked by alice
▶️ build cernvm 2.6 vmware · job 8anpg3xe-vmware · step 1/1 build [..........] 0% · 0:00 · asked by alice
▶️ build cernvm 2.6 kvm · job 8anpg3xe-kvm · step 1/1 build [########..] 80% · 0:01 · writing checksums · asked by alice
✅ build cernvm 2.6 kvm · job 8anpg3xe-kvm · succeeded in 0:04 · asked by alice
✅ build cernvm 2.6 vmware · job 8anpg3xe-vmware · succeeded in 0:04 · asked by alice
alice> images 2.6
  kvm        built job 8anpg3xe-kvm by alice, 2026-11-25 08:57
             cernvm-2.6-kvm.qcow2  4.1 MB  sha256 1757da43ae3dbafc…
`;
const run2 = `alice> build cernvm 2.6 kvm vmware
▶️ build cernvm 2.6 vmware · job zh47288k-vmware · step 1/1 build [..........] 0% · 0:00 · asked by alice
▶️ build cernvm 2.6 kvm · job zh47288k-kvm · step 1/1 build [..........] 0% · 0:00 · asked by alice
✅ build cernvm 2.6 vmware · job zh47288k-vmware · succeeded in 0:11 · asked by alice
✅ build cernvm 2.6 kvm · job zh47288k-kvm · succeeded in 0:09 · asked by alice
alice> images 2.6
  kvm        built job zh47288k-kvm by alice, 2026-12-06 17:01
             cernvm-2.6-kvm.qcow2  3.9 MB  sha256 aa95bb9b21969270…
`;

describe('transcript shapes', () => {
  it('two runs of the same commands have the same shape', () => {
    expect(shapeOf(run2)).toEqual(shapeOf(run1));
  });

  it('a run whose job id has no digit (a quarter of them) has the same shape', () => {
    expect(shapeOf(run2.replaceAll('zh47288k', 'ncwxxide'))).toEqual(shapeOf(run1));
    expect(shapeOf('alice> status ncwxxide\njob ncwxxide queued')).toEqual(
      shapeOf('alice> status ab3defgh\njob ab3defgh queued'),
    );
  });

  it('a changed reply, a missing job or a job that failed changes the shape', () => {
    expect(shapeOf(run2.replace('images 2.6', 'images 2.7'))).not.toEqual(shapeOf(run1));
    expect(shapeOf(run2.replace(/✅ build cernvm 2.6 kvm.*\n/, ''))).not.toEqual(shapeOf(run1));
    expect(shapeOf(run2.replace('✅ build cernvm 2.6 kvm', '❌ build cernvm 2.6 kvm'))).not.toEqual(
      shapeOf(run1),
    );
  });

  it('a sign-in link matches another run’s, whatever its token and port, but not another person’s', () => {
    const link = (who: string, port: number, token: string) =>
      `alice> login\nSign in to the web console as ${who}: http://127.0.0.1:${port}/login/${token}\n`;
    const shown = link('alice', 8080, 'V-7sw44Q6B4YTy7LX-oXYuWlPInElXBj6B_8Zqi70kg');
    expect(shapeOf(link('alice', 40123, 'Qm2_xYk9-3bLrT0aPq8vWc1ZsNhJd6UeGf4iKoE7yA5'))).toEqual(
      shapeOf(shown),
    );
    expect(shapeOf(link('carol', 8080, 'V-7sw44Q6B4YTy7LX-oXYuWlPInElXBj6B_8Zqi70kg'))).not.toEqual(
      shapeOf(shown),
    );
  });

  it('a page shows each status message once when it starts and once when it ends', () => {
    const shown = shownOf(run1).split('\n');
    expect(shown.filter((line) => line.includes('8anpg3xe-kvm'))).toHaveLength(3);
    expect(shown.filter((line) => line.startsWith('▶️'))).toHaveLength(2);
  });

  it('reads the typed lines and the arguments from the marker', () => {
    const page =
      "<!-- transcript: printf 'whoami\\n/as carol\\n' | npm start -s -- --config x.yaml -->\n```\nold\n```\n";
    const [transcript] = transcriptsOf('docs/x.md', page);
    expect(transcript).toMatchObject({
      input: 'whoami\n/as carol\n',
      args: ['--config', 'x.yaml'],
      shown: 'old\n',
    });
  });
});
