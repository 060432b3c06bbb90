// Turns bytes sent into the step progress protocol (src/worker/progress-protocol.ts): a `::progress`
// line with the bytes and the rate, at most a few a second, and always the last one.
import { formatBytes } from './format-bytes.ts';

export interface UploadProgress {
  /** Record that `sent` bytes of the total have gone out. */
  update(sent: number): void;
  /** Print the final line. */
  done(): void;
}

/** Progress lines for an upload that is `from`–`to` percent of the step. */
export function uploadProgress(options: {
  total: number;
  what: string;
  from: number;
  to: number;
  print: (line: string) => void;
  intervalMs?: number;
  now?: () => number;
}): UploadProgress {
  const now = options.now ?? (() => performance.now());
  const interval = options.intervalMs ?? 500;
  const started = now();
  let last = Number.NEGATIVE_INFINITY;
  let sent = 0;
  const line = () => {
    const seconds = Math.max((now() - started) / 1000, 0.001);
    const share = options.total > 0 ? sent / options.total : 1;
    const percent = options.from + (options.to - options.from) * Math.min(share, 1);
    options.print(
      `::progress ${percent.toFixed(1)} ${options.what}: ${formatBytes(sent)} of ${formatBytes(options.total)} (${formatBytes(sent / seconds)}/s)`,
    );
  };
  return {
    update(value) {
      sent = value;
      if (now() - last >= interval) {
        last = now();
        line();
      }
    },
    done() {
      sent = options.total;
      line();
    },
  };
}
