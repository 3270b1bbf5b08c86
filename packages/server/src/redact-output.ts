/**
 * Preloaded into every run process (`node --import tsx --import <this file> dag.js ...`):
 * whatever user code prints to stdout or stderr passes `redact()` before it reaches the run's
 * log file, like every line the orchestrator itself prints. Secrets a resource resolves in
 * the run process are registered with the same redactor, so they are caught too.
 *
 * Invariant: each write is redacted on its own; a secret split across two writes is not
 * caught (console.log writes each call at once).
 */
import { redact } from '@dag/core';

function redacting(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as (
    chunk: string | Uint8Array,
    encoding?: BufferEncoding | ((error?: Error | null) => void),
    callback?: (error?: Error | null) => void,
  ) => boolean;
  stream.write = ((
    chunk: string | Uint8Array,
    encoding?: BufferEncoding | ((error?: Error | null) => void),
    callback?: (error?: Error | null) => void,
  ) => {
    const text =
      typeof chunk === 'string'
        ? chunk
        : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8');
    const cb = typeof encoding === 'function' ? encoding : callback;
    return write(redact(text), 'utf8', cb);
  }) as NodeJS.WriteStream['write'];
}

redacting(process.stdout);
redacting(process.stderr);
