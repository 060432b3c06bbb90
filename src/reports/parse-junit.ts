// Reads a JUnit XML report (pytest, Maven Surefire, Gradle, …) with fast-xml-parser into a TestReport.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { buildReport, emptyReport, keepMessage, type TestCase, type TestReport } from './test-report.ts';

type Node = Record<string, unknown>;

const ATTR = '@_';
const TEXT = '#text';
const REPEATED = new Set(['testsuite', 'testcase', 'failure', 'error', 'skipped']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: ATTR,
  textNodeName: TEXT,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Decodes numeric character references (`&#10;` in pytest's failure messages) as well as the XML ones.
  htmlEntities: true,
  isArray: (tagName) => REPEATED.has(tagName),
});

/** An element as an object: `<skipped/>` parses to '' and `<failure>text</failure>` to 'text'. */
function asNode(value: unknown): Node {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Node;
  if (typeof value === 'string') return { [TEXT]: value };
  return {};
}

function children(node: Node, tag: string): Node[] {
  const value = node[tag];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(asNode);
}

function attr(node: Node, name: string): string | undefined {
  const value = node[ATTR + name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function text(node: Node): string | undefined {
  const value = node[TEXT];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** JUnit times are seconds (`time="0.125"`); some tools write thousands separators (`1,234.5`). */
function seconds(node: Node): number | undefined {
  const value = attr(node, 'time');
  if (value === undefined) return undefined;
  const s = Number(/^\d{1,3}(?:,\d{3})+(?:\.\d+)?$/.test(value) ? value.replaceAll(',', '') : value);
  return Number.isFinite(s) && s >= 0 ? Math.round(s * 1000 * 1000) / 1000 : undefined;
}

/** The message of a <failure>, <error> or <skipped>: its message attribute, else its text, else its type. */
function outcomeMessage(node: Node): string | undefined {
  return keepMessage(attr(node, 'message') ?? text(node) ?? attr(node, 'type'));
}

function caseName(node: Node): string {
  const name = attr(node, 'name');
  const owner = attr(node, 'classname');
  if (name === undefined) return owner ?? '(unnamed test)';
  if (owner === undefined || owner === name || name.startsWith(owner)) return name;
  return /\s/.test(owner) ? `${owner} > ${name}` : `${owner}.${name}`;
}

function toCase(node: Node): TestCase {
  const test: TestCase = { name: caseName(node), status: 'passed' };
  const problem = children(node, 'failure')[0] ?? children(node, 'error')[0];
  const skip = children(node, 'skipped')[0];
  let message: string | undefined;
  if (problem !== undefined) {
    test.status = 'failed';
    message = outcomeMessage(problem);
  } else if (skip !== undefined) {
    test.status = 'skipped';
    message = outcomeMessage(skip);
  }
  if (message !== undefined) test.message = message;
  const time = seconds(node);
  if (time !== undefined) test.durationMs = time;
  return test;
}

/** Cases of a suite and of the suites nested in it, in document order of suites then cases. */
function collect(suite: Node, into: TestCase[], depth: number): void {
  if (depth > 50) return;
  for (const node of children(suite, 'testcase')) into.push(toCase(node));
  for (const nested of children(suite, 'testsuite')) collect(nested, into, depth + 1);
}

function sum(values: (number | undefined)[]): number | undefined {
  const known = values.filter((v) => v !== undefined);
  return known.length === 0 ? undefined : known.reduce((a, b) => a + b, 0);
}

/** Parses JUnit XML. Never throws: XML that is not well formed or not JUnit gives a report with only a problem. */
export function parseJunit(xml: string): TestReport {
  const source = xml.replace(/^\uFEFF/, '');
  const valid = XMLValidator.validate(source);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    const at = typeof col === 'number' ? `line ${line}, column ${col}` : `line ${line}`;
    return emptyReport('junit', `not valid JUnit XML at ${at}: ${msg.replace(/\.$/, '')}`);
  }
  let document: Node;
  try {
    document = asNode(parser.parse(source));
  } catch (error) {
    return emptyReport(
      'junit',
      `not valid JUnit XML: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const cases: TestCase[] = [];
  let durationMs: number | undefined;
  if ('testsuites' in document) {
    const root = asNode(document.testsuites);
    const suites = children(root, 'testsuite');
    for (const suite of suites) collect(suite, cases, 0);
    durationMs = seconds(root) ?? sum(suites.map(seconds));
  } else if ('testsuite' in document) {
    const suites = children(document, 'testsuite');
    for (const suite of suites) collect(suite, cases, 0);
    durationMs = sum(suites.map(seconds));
  } else {
    const root = Object.keys(document)[0];
    return emptyReport(
      'junit',
      `not valid JUnit XML: the root element is <${root ?? '?'}>, expected <testsuites> or <testsuite>`,
    );
  }
  durationMs ??= sum(cases.map((c) => c.durationMs));
  const problems = cases.length === 0 ? ['no test cases in the report'] : [];
  return buildReport('junit', cases, problems, { durationMs });
}
