/**
 * Text templates with `{name}` placeholders, as a target's URL paths, publish
 * bodies and commands are written. A placeholder is a name of letters and
 * digits in braces; anything else (JSON's own braces: `{"data":{body}}`)
 * is literal text. Compiled once, filled by concatenation.
 */
export interface Template {
  /** Literal text and placeholder names, alternating, starting with text. */
  readonly parts: readonly string[];
}

const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9]*)\}/g;

export function compileTemplate(text: string): Template {
  const parts: string[] = [];
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    parts.push(text.slice(last, match.index), match[1] as string);
    last = (match.index as number) + match[0].length;
  }
  parts.push(text.slice(last));
  return { parts };
}

/** The placeholder names a template uses, in order of appearance (repeats kept once). */
export function placeholdersOf(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1] as string))];
}

/**
 * Placeholders of `text` that are not in `allowed`, for a validation message;
 * empty when the template is fine.
 */
export function unknownPlaceholders(text: string, allowed: readonly string[]): string[] {
  return placeholdersOf(text).filter((name) => !allowed.includes(name));
}

/** The template with every placeholder replaced; a value missing from `values` is a programming error. */
export function fillTemplate(template: Template, values: Readonly<Record<string, string>>): string {
  const { parts } = template;
  let out = parts[0] as string;
  for (let i = 1; i < parts.length; i += 2) {
    const value = values[parts[i] as string];
    if (value === undefined) throw new RangeError(`no value for placeholder {${parts[i]}}`);
    out += value + (parts[i + 1] as string);
  }
  return out;
}

/** `{a}, {b} or {c}`: the allowed placeholders, as an error message lists them. */
export function listPlaceholders(names: readonly string[]): string {
  const braced = names.map((name) => `{${name}}`);
  if (braced.length <= 1) return braced.join("");
  return `${braced.slice(0, -1).join(", ")} or ${braced.at(-1)}`;
}
