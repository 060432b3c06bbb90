// The console answers only to the names it is known by: its public URL's host, the address it is bound
// to, loopback names, and IP literals. Any other Host header is refused (421), so a page on a
// hostile site whose name was re-bound to this address (DNS rebinding) cannot read /metrics, the
// job pages or anything else through a visitor's browser.
import { isIP } from 'node:net';

/** The host name of a Host header, without its port and IPv6 brackets, lower case. */
export function hostName(header: string): string {
  const value = header.trim().toLowerCase();
  if (value.startsWith('[')) return value.slice(1, value.indexOf(']'));
  return value.replace(/:\d*$/, '');
}

/** Whether a Host header names this console. */
export function knownHost(
  header: string | undefined,
  options: { publicUrl?: string | undefined; bindHost: string },
): boolean {
  if (header === undefined || header === '') return false;
  const name = hostName(header);
  if (isIP(name) !== 0 || name === 'localhost') return true;
  if (name === options.bindHost.toLowerCase()) return true;
  if (options.publicUrl !== undefined && name === new URL(options.publicUrl).hostname.toLowerCase())
    return true;
  return false;
}
