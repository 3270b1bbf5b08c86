import * as devalue from 'devalue';
import { NonRetriableError } from '../errors.ts';

/**
 * How the default IO manager writes a value as text.
 *
 * Plain JSON data (objects, arrays, strings, finite numbers, booleans, null) is written as
 * `{"value": ...}`, readable as it always was. Anything JSON would silently change (a Date
 * becomes a string, a Map `{}`, a BigInt throws, undefined disappears) is written with devalue
 * as `{"devalue": "..."}`, which restores Date, Map, Set, BigInt, RegExp, typed arrays,
 * undefined, NaN/Infinity/-0 and repeated references exactly. devalue has no notion of Node's
 * Buffer (it would come back as a Uint8Array), so a Buffer is tagged by the reducer below.
 * devalue refuses functions, symbols and class instances (whose prototype would be lost) and
 * says where in the value they are; that becomes the step's error.
 */
const reducers = {
  Buffer: (value: unknown) => Buffer.isBuffer(value) && value.toString('base64'),
};
const revivers = {
  Buffer: (value: string) => Buffer.from(value, 'base64'),
};

/** True when JSON.stringify / JSON.parse give back exactly this value. */
function isPlainJson(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!(i in value) || !isPlainJson(value[i])) return false;
    return true;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return false;
    if (Object.getOwnPropertySymbols(value).length > 0) return false;
    for (const v of Object.values(value)) if (!isPlainJson(v)) return false;
    return true;
  }
  return false;
}

/** The text stored for `value` of asset (or op output) `key`, or a clear error. */
export function encodeValue(value: unknown, key: string, stepKey: string): string {
  if (isPlainJson(value)) return JSON.stringify({ value });
  try {
    return JSON.stringify({ devalue: devalue.stringify(value, reducers) });
  } catch (error) {
    const where = (error as { path?: string }).path;
    const raw = (error as Error).message;
    const what = /non-POJO/.test(raw)
      ? 'a class instance or other non-plain object (its class would be lost)'
      : raw.replace(/^Cannot stringify /, '');
    const at = where ? ` at value${where}` : '';
    const owner = key.startsWith('__runs/') ? `op step '${stepKey}'` : `asset '${key}'`;
    throw new NonRetriableError(
      `The value returned by ${owner} cannot be stored by the default IO manager: it holds ${what}${at}. It stores JSON data, Date, Map, Set, BigInt, RegExp, Buffer and typed arrays; return those (e.g. a plain object instead of a class instance), or set io: false on the asset and store the value yourself.`,
      { cause: error },
    );
  }
}

/** The value stored as `text` for `key`. */
export function decodeValue(text: string, key: string): unknown {
  const parsed = JSON.parse(text) as { value?: unknown; devalue?: string };
  if (typeof parsed.devalue === 'string') return devalue.parse(parsed.devalue, revivers);
  if (!('value' in parsed)) {
    throw new NonRetriableError(`The stored value of '${key}' is not in a format this IO manager wrote.`);
  }
  return parsed.value;
}
