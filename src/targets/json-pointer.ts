/**
 * JSON Pointers (RFC 6901) into what a server sends: `/data` is the field
 * `data`, `/items/0` the first item, `` (empty) the whole document, `~1`
 * and `~0` stand for `/` and `~` inside a name. Compiled once, read per message.
 */
export type Pointer = readonly string[];

/** True for a valid pointer: empty, or `/` followed by segments. */
export function isJsonPointer(text: string): boolean {
  return text === "" || (text.startsWith("/") && !/~(?![01])/.test(text));
}

export function compilePointer(text: string): Pointer {
  if (!isJsonPointer(text)) {
    throw new RangeError(`not a JSON Pointer: ${JSON.stringify(text)}`);
  }
  if (text === "") return [];
  return text
    .slice(1)
    .split("/")
    .map((segment) => segment.replaceAll("~1", "/").replaceAll("~0", "~"));
}

/** The value the pointer names in `document`, or undefined when there is none. */
export function readPointer(document: unknown, pointer: Pointer): unknown {
  let node = document;
  for (let i = 0; i < pointer.length; i++) {
    if (typeof node !== "object" || node === null) return undefined;
    const key = pointer[i] as string;
    if (Array.isArray(node)) {
      if (!/^(?:0|[1-9][0-9]*)$/.test(key)) return undefined;
      node = node[Number(key)];
    } else {
      if (!Object.hasOwn(node, key)) return undefined;
      node = (node as Record<string, unknown>)[key];
    }
  }
  return node;
}
