// Reads one line a recipe step printed on stdout: a `::` directive for the runner, or a log line.
//
// The step output protocol. A step is any program; everything it prints is kept as its log, except
// lines on stdout that start with one of these directives (at the very start of the line):
//
//   ::progress <0-100> [message]   how far the current step is, in percent (decimals allowed),
//                                  with an optional status text shown in the room
//   ::status <message>             status text only; the percent stays where it was
//   ::artifact <path>              a file the step produced (recorded in the job result)
//   ::report <path>                a test report the step left, TAP or JUnit XML (recorded likewise)
//
// Words are separated by spaces or tabs; a trailing carriage return is ignored. A directive that
// does not fit its form (`::progress abc`, `::progress 140`, `::status` with no text, an unknown
// `::word`) is an ordinary log line, never an error. Lines on stderr are always log lines.

/** What one stdout line of a step means. */
export type StepLine =
  | { kind: 'progress'; percent: number; message?: string }
  | { kind: 'status'; message: string }
  | { kind: 'artifact'; path: string }
  | { kind: 'report'; path: string }
  | { kind: 'log'; text: string };

/** A line that tells the runner something, as opposed to a log line. */
export type StepDirective = Exclude<StepLine, { kind: 'log' }>;

const DIRECTIVE = /^::([a-z]+)(?:[ \t]+(.*))?$/;
const PERCENT = /^(\d{1,3}(?:\.\d+)?)(?:[ \t]+(.*))?$/;

/** Parses one line (without its newline) printed on a step's stdout. */
export function parseStepLine(line: string): StepLine {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  const log: StepLine = { kind: 'log', text };
  const directive = DIRECTIVE.exec(text);
  if (directive === null) return log;
  const rest = (directive[2] ?? '').trim();
  switch (directive[1]) {
    case 'progress': {
      const match = PERCENT.exec(rest);
      if (match === null) return log;
      const percent = Number(match[1]);
      if (percent > 100) return log;
      const message = (match[2] ?? '').trim();
      return message === '' ? { kind: 'progress', percent } : { kind: 'progress', percent, message };
    }
    case 'status':
      return rest === '' ? log : { kind: 'status', message: rest };
    case 'artifact':
      return rest === '' ? log : { kind: 'artifact', path: rest };
    case 'report':
      return rest === '' ? log : { kind: 'report', path: rest };
    default:
      return log;
  }
}
