/** Tiny DOM helpers. Text always goes in as text nodes, never as HTML. */

type Child = Node | string | null | undefined | false;

/** Create an element with attributes (`class`, `data-*`, `aria-*`, …) and children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

/** The element with this id, of this type; a missing hook is a bug in the HTML, so it throws. */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`);
  return node;
}

/** Set text only when it changed, so screen readers in live regions don't re-announce. */
export function setText(node: Node, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}
