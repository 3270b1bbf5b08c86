import { describeError } from '../errors.ts';
import { redact } from '../util/secrets.ts';

/**
 * Long-running processes (`dag dev`, `dag daemon`) must not die of one forgotten promise:
 * every known rejection is handled where it happens, and this logs any other one (redacted)
 * instead of letting Node end the process. Returns a function that removes the handler.
 */
export function installLastResortHandlers(name: string, log: (text: string) => void): () => void {
  const onRejection = (reason: unknown) => {
    const stack = reason instanceof Error && process.env.DAG_DEBUG ? `\n${reason.stack}` : '';
    log(
      redact(
        `${name}: error: unhandled rejection (the process keeps running): ${describeError(reason)}${stack}`,
      ),
    );
  };
  process.on('unhandledRejection', onRejection);
  return () => process.off('unhandledRejection', onRejection);
}

/**
 * Resolves with the first SIGINT or SIGTERM a long-running process gets, so it can stop in
 * order; a second signal while it stops exits at once (130 or 143).
 */
export function untilStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
