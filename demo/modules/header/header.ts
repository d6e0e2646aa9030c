/** The shop's header: title, a tagline in the bold look, and the navigation. */
import type { ShopModule } from '../contract.js';
import { h, stamp } from '../shared/dom.js';

/** What differs between header versions. */
export interface HeaderLook {
  /** `classic`: light bar, small title. `bold`: dark banner, large title and a tagline. */
  theme: 'classic' | 'bold';
  tagline?: string;
}

const CSS = {
  classic: `
    [data-module=header] {
      display: flex; align-items: center; gap: 2rem; padding: .75rem 1.5rem; background: #f3f4f6; border-bottom: 1px solid #d1d5db;
    }
    [data-module=header] h1 { font-size: 1.25rem; margin: 0; color: #111827; }
    [data-module=header] nav a { margin-right: 1rem; color: #374151; }`,
  bold: `
    [data-module=header] { padding: 1.25rem 1.5rem; background: linear-gradient(90deg, #4c1d95, #be185d); color: white; }
    [data-module=header] h1 { font-size: 2rem; margin: 0; letter-spacing: .05em; text-transform: uppercase; }
    [data-module=header] .tagline { margin: .25rem 0 .75rem; opacity: .9; }
    [data-module=header] nav a { margin-right: 1rem; color: white; font-weight: bold; }`,
};

/** The `mount` of a header version with `look`. */
export function createHeader(look: HeaderLook): ShopModule['mount'] {
  return (root) => {
    stamp(root, CSS[look.theme]);
    const nav = h('nav', {}, ...['Home', 'Deals', 'Help'].map((label) => h('a', { href: `#${label.toLowerCase()}` }, label)));
    root.append(h('h1', {}, 'Tranche Shop'));
    if (look.tagline) root.append(h('p', { class: 'tagline' }, look.tagline));
    root.append(nav);
  };
}
