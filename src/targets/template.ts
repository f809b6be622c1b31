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

type ShellQuoting = "none" | "single" | "double";

/**
 * The template as a shell command line: every value is quoted for where its
 * placeholder stands (bare, inside '...' or inside "..."), so a directory
 * named `$(touch x)` or `a b` is one word of text and never runs. The
 * literal text is the user's own shell and is left as written.
 */
export function fillShellTemplate(
  template: Template,
  values: Readonly<Record<string, string>>,
): string {
  const { parts } = template;
  let out = parts[0] as string;
  let quoting = shellQuotingAfter(out, "none");
  for (let i = 1; i < parts.length; i += 2) {
    const value = values[parts[i] as string];
    if (value === undefined) throw new RangeError(`no value for placeholder {${parts[i]}}`);
    const literal = parts[i + 1] as string;
    out += shellQuote(value, quoting) + literal;
    quoting = shellQuotingAfter(literal, quoting);
  }
  return out;
}

function shellQuote(value: string, quoting: ShellQuoting): string {
  if (quoting === "single") return value.replaceAll("'", `'\\''`);
  if (quoting === "double") return value.replace(/["\\$`]/g, "\\$&");
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Where `text`, read from `quoting` on, leaves the shell: inside quotes or not. */
function shellQuotingAfter(text: string, quoting: ShellQuoting): ShellQuoting {
  let state = quoting;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (state === "single") {
      if (c === "'") state = "none";
    } else if (c === "\\") {
      i++; // an escaped character, bare or in "...", is literal
    } else if (state === "double") {
      if (c === '"') state = "none";
    } else if (c === "'") {
      state = "single";
    } else if (c === '"') {
      state = "double";
    }
  }
  return state;
}
