/**
 * Small DOM helpers bundled into each module. The module name and version come from the
 * build (trancheModule defines them), so the stamp names the code that actually ran.
 */

type Child = Node | string;

/** An element with attributes and children: `h('button', { class: 'x' }, 'Add')`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  el.append(...children);
  return el;
}

/** Marks `root` as rendered by this module@version and gives it this version's styles. */
export function stamp(root: HTMLElement, css: string): void {
  root.dataset.module = import.meta.env.TRANCHE_MODULE;
  root.dataset.version = import.meta.env.TRANCHE_VERSION;
  root.replaceChildren(h('style', {}, css));
}

/** `1234` cents as `$12.34`. */
export function formatPrice(cents: number): string {
  return `$${(cents / 100).toFixed(2)}`;
}
