// What goes in a finished job's thread (where the network has threads): a test job's report, or the
// end of a failed job's log. The notifier posts it once per job, under the status message.
import type { CatalogReader, JobControl } from '../grammar/command-spec.ts';
import { reportDetail } from '../render/test-report.ts';
import type { JobStatusView } from '../types.ts';

/** Lines of a failed job's log that go in its thread. */
const DETAIL_LOG_LINES = 15;

/** What goes in a finished job's thread: a test job's report, or the end of a failed job's log. */
export async function jobDetails(
  view: JobStatusView,
  jobs: JobControl,
  catalog: CatalogReader,
): Promise<string | undefined> {
  if (view.stage === 'test') {
    const report = await catalog.report(view.jobId);
    if (report) return `Test report of ${view.jobId}:\n${reportDetail(report)}`;
  }
  if (view.state !== 'failed') return undefined;
  const lines = await jobs.logs(view.jobId, DETAIL_LOG_LINES);
  if (!lines || lines.length === 0) return undefined;
  return [
    `The last ${lines.length} lines of the log of ${view.jobId} (log ${view.jobId} --tail 500 for more):`,
    ...lines,
  ].join('\n');
}
