/**
 * The cart: a button that counts what the catalog added and opens a drawer listing it. The
 * drawer's code is a separate chunk, fetched on the button's first click; it is the same
 * source in every version, so its bytes are stored and downloaded once across versions.
 */
import { ADD_TO_CART, type CartItem, type ShopModule } from '../contract.js';
import { formatPrice, h, stamp } from '../shared/dom.js';
import type { DrawerView } from './drawer.js';

/** What differs between cart versions. */
export interface CartFeatures {
  /** `count`: "Cart (2)". `total`: "Cart · 2 items · $37.00" on a green button. */
  summary: 'count' | 'total';
  /** The demo's bug: from this click of the button on, every click throws. */
  failFromClick?: number;
}

const CSS = `
  [data-module=cart] { position: relative; padding: .75rem 1.5rem; text-align: right; }
  [data-module=cart] .cart-button {
    font-size: 1rem; padding: .5rem 1rem; border-radius: .5rem; border: 1px solid #9ca3af; background: white; cursor: pointer;
  }
  [data-module=cart] .cart-button.total { background: #047857; border-color: #047857; color: white; font-weight: bold; }
  [data-module=cart] .drawer { margin-top: .5rem; padding: 1rem; border: 1px solid #d1d5db; border-radius: .5rem; text-align: left; }`;

function label(items: readonly CartItem[], summary: CartFeatures['summary']): string {
  if (summary === 'count') return `Cart (${items.length})`;
  const total = items.reduce((sum, item) => sum + item.price, 0);
  return `Cart · ${items.length} item${items.length === 1 ? '' : 's'} · ${formatPrice(total)}`;
}

function view(items: readonly CartItem[]): DrawerView {
  return {
    lines: items.map((item) => ({ name: item.name, price: formatPrice(item.price) })),
    total: formatPrice(items.reduce((sum, item) => sum + item.price, 0)),
  };
}

/** The `mount` of a cart version with `features`. */
export function createCart(features: CartFeatures): ShopModule['mount'] {
  return (root) => {
    stamp(root, CSS);
    const items: CartItem[] = [];
    const button = h('button', { type: 'button', class: `cart-button ${features.summary}` }, label(items, features.summary));
    const drawer = h('div', { class: 'drawer' });
    drawer.hidden = true;
    // A failed chunk load rejects unhandled (the caller does not await), which is how the page
    // client learns of it.
    const showDrawer = async () => {
      const { renderDrawer } = await import('./drawer.js');
      renderDrawer(drawer, view(items));
    };
    window.addEventListener(ADD_TO_CART, (event) => {
      items.push((event as CustomEvent<CartItem>).detail);
      button.textContent = label(items, features.summary);
      if (!drawer.hidden) void showDrawer();
    });
    let clicks = 0;
    button.addEventListener('click', () => {
      clicks += 1;
      if (features.failFromClick !== undefined && clicks >= features.failFromClick) {
        throw new Error(`cart ${import.meta.env.TRANCHE_VERSION}: the cart button failed on click ${clicks}`);
      }
      drawer.hidden = !drawer.hidden;
      if (!drawer.hidden) void showDrawer();
    });
    root.append(button, drawer);
  };
}
