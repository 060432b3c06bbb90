// Commands written to a Redis connection in one turn of the event loop leave in one socket write:
// the socket is corked at the first write and uncorked once the turn's callbacks and promise
// continuations have run (process.nextTick, the pattern Node's stream documentation gives for
// cork). Each command stays its own command, in the order it was written, answered as before; only
// the system calls are fewer. Commands sent side by side (a command's reads, a status message's
// bookkeeping, many commands in flight) cost one write instead of one each: on this kind of machine a
// socket write costs tens of microseconds, more than the command itself.
import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';

const coalesced = new WeakSet<object>();

export function coalesceWrites(socket: Socket): void {
  if (coalesced.has(socket)) return;
  coalesced.add(socket);
  const write = socket.write;
  let corked = false;
  socket.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
    if (!corked) {
      corked = true;
      this.cork();
      process.nextTick(() => {
        corked = false;
        this.uncork();
      });
    }
    return write.apply(this, args);
  } as Socket['write'];
}

/** Coalesces the writes of a connection's socket, and of each socket it connects with later (reconnects). */
export function coalesceConnection(redis: Redis): void {
  const onConnect = () => {
    const stream = (redis as unknown as { stream?: Socket }).stream;
    if (stream && typeof stream.cork === 'function') coalesceWrites(stream);
  };
  redis.on('connect', onConnect);
  onConnect();
}
