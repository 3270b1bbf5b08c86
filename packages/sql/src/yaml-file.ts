import {
  constructFromEvents,
  EVENT_ID,
  type Event,
  getScalarValue,
  parseEvents,
  YAMLException,
} from 'js-yaml';

/**
 * A YAML file read with js-yaml's event parser: its value, and the line each node starts on
 * (for messages naming a test's line). One pass of the parser gives both.
 */

/** Where a node starts, and its children's: by key (a mapping) or by index (a sequence). */
export interface YamlPlace {
  line: number;
  entries?: Map<string, YamlPlace>;
  items?: YamlPlace[];
}

export interface YamlFile {
  value: unknown;
  place: YamlPlace | undefined;
}

/** Thrown for a file that is not valid YAML: the message's first line, and the 1-based line. */
export class YamlSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number | undefined,
  ) {
    super(message);
  }
}

export function readYaml(text: string, file: string): YamlFile {
  let events: Event[];
  let value: unknown;
  try {
    events = parseEvents(text, { filename: file });
    [value] = constructFromEvents(events, { source: text, filename: file });
  } catch (error) {
    if (error instanceof YAMLException) {
      const line = error.mark?.line;
      throw new YamlSyntaxError(error.reason, line === undefined ? undefined : line + 1);
    }
    throw error;
  }
  // Line starts, to turn offsets into lines.
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  const lineAt = (offset: number) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  // Containers being read: a mapping alternates key and value.
  const stack: { place: YamlPlace; key?: string | null }[] = [];
  let root: YamlPlace | undefined;
  let depthOfFirstDocument = 0;
  const add = (place: YamlPlace, keyText: string | null) => {
    const top = stack[stack.length - 1];
    if (!top) {
      root ??= place;
      return;
    }
    if (top.place.items) top.place.items.push(place);
    else if (top.key === undefined) top.key = keyText;
    else {
      if (top.key !== null && !top.place.entries!.has(top.key)) top.place.entries!.set(top.key, place);
      top.key = undefined;
    }
  };
  for (const event of events) {
    switch (event.type) {
      case EVENT_ID.DOCUMENT:
        depthOfFirstDocument++;
        break;
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        const place: YamlPlace =
          event.type === EVENT_ID.MAPPING
            ? { line: lineAt(event.start), entries: new Map() }
            : { line: lineAt(event.start), items: [] };
        add(place, null);
        stack.push({ place });
        break;
      }
      case EVENT_ID.SCALAR:
        add({ line: lineAt(event.valueStart) }, getScalarValue(text, event));
        break;
      case EVENT_ID.ALIAS:
        add({ line: lineAt(event.anchorStart) }, null);
        break;
      case EVENT_ID.POP:
        if (stack.length > 0) stack.pop();
        break;
    }
    if (depthOfFirstDocument > 1) break;
  }
  return { value, place: root };
}
