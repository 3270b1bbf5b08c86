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
