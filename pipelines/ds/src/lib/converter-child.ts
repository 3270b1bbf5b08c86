/**
 * The converter process that `ConverterProcess` forks: converts the PNGs it is sent over IPC,
 * as many at once as it is sent, and answers each with the result or the error message.
 *
 * Options arrive once, as JSON in argv[2]. A message is `{ id, input, output }`; the answer is
 * `{ id, ok: true, result }` or `{ id, ok: false, error }`. It exits when the parent
 * disconnects.
 */
import { type ConvertOptions, convertPngToWebp } from './convert-png-to-webp.ts';

export interface ConvertRequest {
  id: number;
  input: string;
  output: string;
}

export type ConvertReply =
  | { id: number; ok: true; result: { bytes: number; width: number; height: number } }
  | { id: number; ok: false; error: string }
  | { ready: true };

const options = JSON.parse(process.argv[2] ?? '{}') as ConvertOptions;
const send = (reply: ConvertReply) => process.send?.(reply);

process.on('message', (request: ConvertRequest) => {
  convertPngToWebp(request.input, request.output, options).then(
    (result) => send({ id: request.id, ok: true, result }),
    (error: unknown) => send({ id: request.id, ok: false, error: (error as Error).message }),
  );
});
process.on('disconnect', () => process.exit(0));
send({ ready: true });
