import { parseArgs } from "node:util";
import { badInput } from "./errors.js";

/**
 * A command line described as a table of flags, one row per settings field
 * (server-launch.ts's FLAGS): each row says how its value is written as argv
 * and read back, and the table is walked to build an argv, parse one and
 * print the usage line. The kinds of row: integer, switch, choice, text, and
 * any of them nullable.
 */

/** One flag: its name without `--`, and how a value becomes argv and back. */
export interface Flag<V> {
  readonly name: string;
  /** Placeholder in the usage line; null for a switch (no value). */
  readonly hint: string | null;
  /** The flag's value on the command line; null or false leaves the flag out, true writes it alone. */
  format(value: V): string | boolean | null;
  parse(raw: string | boolean, flag: string): V;
}

type Leaf = string | number | boolean | null;
/** One Flag per leaf of T: a field without a row does not compile. */
export type FlagTable<T> = {
  readonly [K in keyof T]-?: [T[K]] extends [Leaf] ? Flag<T[K]> : FlagTable<T[K]>;
};

// Flag methods are bivariant in their value, so every row fits here.
type AnyFlag = Flag<Leaf>;

/** A table's leaf: the flag and the path of its field (`["history", "maxCount"]`). */
export interface FlagAt {
  path: string[];
  flag: AnyFlag;
}

/** The table's leaves with their paths, in table order. */
export function flagList(table: object, prefix: string[] = []): FlagAt[] {
  return Object.entries(table).flatMap(([key, node]) =>
    typeof (node as Partial<AnyFlag>).parse === "function"
      ? [{ path: [...prefix, key], flag: node as AnyFlag }]
      : flagList(node as object, [...prefix, key]),
  );
}

/** The argv that passes `settings`, flag by flag in table order. */
export function formatFlags(list: readonly FlagAt[], settings: object): string[] {
  const args: string[] = [];
  for (const { path, flag } of list) {
    const value = flag.format(valueAt(settings, path));
    if (value === null || value === false) continue;
    args.push(`--${flag.name}`);
    if (value !== true) args.push(value);
  }
  return args;
}

/** Reads argv back into nested settings; unknown flags and bad values are BAD_INPUT errors. */
export function parseFlags(list: readonly FlagAt[], argv: string[]): Record<string, unknown> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: Object.fromEntries(
        list.map(({ flag }) => [flag.name, { type: flag.hint === null ? "boolean" : "string" }]),
      ) as Record<string, { type: "string" | "boolean" }>,
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw badInput((error as Error).message);
  }
  const parsed: Record<string, unknown> = {};
  for (const { path, flag } of list) {
    const raw = values[flag.name];
    if (raw === undefined) continue;
    setValueAt(parsed, path, flag.parse(raw, `--${flag.name}`));
  }
  return parsed;
}

/** `[--port N] [--host HOST] ...` */
export function flagUsage(list: readonly FlagAt[]): string {
  return list
    .map(({ flag }) => (flag.hint === null ? `[--${flag.name}]` : `[--${flag.name} ${flag.hint}]`))
    .join(" ");
}

function valueAt(settings: object, path: string[]): Leaf {
  let node: unknown = settings;
  for (const key of path) node = (node as Record<string, unknown>)[key];
  return node as Leaf;
}

function setValueAt(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

export function integerFlag(name: string, min: number): Flag<number> {
  return {
    name,
    hint: "N",
    format: (value) => String(value),
    parse(raw, flag) {
      const value = typeof raw === "string" && /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
      if (!Number.isSafeInteger(value) || value < min) {
        throw badInput(`${flag}: expected an integer >= ${min}, found ${quote(raw)}`);
      }
      return value;
    },
  };
}

export function switchFlag(name: string): Flag<boolean> {
  return { name, hint: null, format: (on) => on, parse: (raw) => raw === true };
}

export function choiceFlag<C extends string>(name: string, choices: readonly C[]): Flag<C> {
  return {
    name,
    hint: choices.join("|"),
    format: (value) => value,
    parse(raw, flag) {
      if ((choices as readonly unknown[]).includes(raw)) return raw as C;
      throw badInput(`${flag}: expected one of ${choices.join(", ")}, found ${quote(raw)}`);
    },
  };
}

export function textFlag(name: string, hint: string): Flag<string> {
  return {
    name,
    hint,
    format: (value) => value,
    parse(raw, flag) {
      if (typeof raw === "string" && raw !== "") return raw;
      throw badInput(`${flag}: expected a value, found ${quote(raw)}`);
    },
  };
}

/** A flag whose null value is left off the command line (the server's default applies). */
export function nullable<V extends Leaf>(flag: Flag<V>): Flag<V | null> {
  return { ...flag, format: (value) => (value === null ? null : flag.format(value)) };
}

function quote(raw: string | boolean): string {
  return JSON.stringify(raw);
}
