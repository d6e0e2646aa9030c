/** The product grid; each card's button puts the product into the cart (see ADD_TO_CART). */
import { ADD_TO_CART, type CartItem, type ShopModule } from '../contract.js';
import { formatPrice, h, stamp } from '../shared/dom.js';
import { PRODUCTS, type Product } from './products.js';

/** What differs between catalog versions. */
export interface CatalogFeatures {
  /** Show each product's star rating under its name. */
  ratings: boolean;
}

const CSS = `
  [data-module=catalog] { display: grid; grid-template-columns: repeat(auto-fill, minmax(10rem, 1fr)); gap: 1rem; padding: 1.5rem; }
  [data-module=catalog] .card { border: 1px solid #d1d5db; border-radius: .5rem; padding: 1rem; }
  [data-module=catalog] .card h2 { font-size: 1rem; margin: 0 0 .5rem; }
  [data-module=catalog] .rating { color: #d97706; letter-spacing: .1em; }`;

function card(product: Product, features: CatalogFeatures): HTMLElement {
  const add = h('button', { type: 'button' }, 'Add to cart');
  add.addEventListener('click', () => {
    const item: CartItem = { id: product.id, name: product.name, price: product.price };
    window.dispatchEvent(new CustomEvent(ADD_TO_CART, { detail: item }));
  });
  const rating = features.ratings
    ? [h('div', { class: 'rating', title: `${product.rating} of 5` }, '★'.repeat(product.rating) + '☆'.repeat(5 - product.rating))]
    : [];
  return h(
    'article',
    { class: 'card', 'data-product': product.id },
    h('h2', {}, product.name),
    ...rating,
    h('p', {}, formatPrice(product.price)),
    add,
  );
}

/** The `mount` of a catalog version with `features`. */
export function createCatalog(features: CatalogFeatures): ShopModule['mount'] {
  return (root) => {
    stamp(root, CSS);
    root.append(...PRODUCTS.map((product) => card(product, features)));
  };
}
