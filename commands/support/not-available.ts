// The answer of commands whose grammar is ready but whose work comes in a later version.
import { VmopsError } from '../../src/errors.ts';

export function notAvailable(command: string): never {
  throw new VmopsError('not_available', `${command} is not available yet in this version of vmops`);
}
