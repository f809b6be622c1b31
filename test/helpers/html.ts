import { type DefaultTreeAdapterMap, parse } from "parse5";

/**
 * Reads an HTML page the way a browser's parser does (parse5 implements the
 * HTML standard's parser), collecting every parse error, so a test can say
 * "this page parses cleanly" and then look inside it.
 */
type Node = DefaultTreeAdapterMap["node"];
type Element = DefaultTreeAdapterMap["element"];

export interface ParsedPage {
  errors: string[];
  /** Every element, in document order. */
  elements: Element[];
}

export function parsePage(html: string): ParsedPage {
  const errors: string[] = [];
  const document = parse(html, {
    onParseError: (error) => errors.push(`${error.code} at line ${error.startLine}`),
  });
  const elements: Element[] = [];
  const walk = (node: Node) => {
    if ("tagName" in node) elements.push(node);
    const children = "childNodes" in node ? node.childNodes : [];
    for (const child of children) walk(child);
    // <template> keeps its children apart; the reports have none, but do not miss them.
    if ("content" in node && node.content) walk(node.content);
  };
  walk(document);
  return { errors, elements };
}

export function attr(element: Element, name: string): string | undefined {
  return element.attrs.find((a) => a.name === name)?.value;
}

/** The elements under `root` (itself included) that match `test`. */
export function within(root: Element, test: (e: Element) => boolean): Element[] {
  const found: Element[] = [];
  const walk = (node: Node) => {
    if ("tagName" in node && test(node)) found.push(node);
    for (const child of "childNodes" in node ? node.childNodes : []) walk(child);
  };
  walk(root);
  return found;
}

/** The text inside an element, tags dropped. */
export function textOf(root: Element): string {
  let text = "";
  const walk = (node: Node) => {
    if (node.nodeName === "#text") text += (node as DefaultTreeAdapterMap["textNode"]).value;
    for (const child of "childNodes" in node ? node.childNodes : []) walk(child);
  };
  walk(root);
  return text;
}

export type { Element };
