/**
 * The contract between the demo shop's shell and its modules (header, catalog, cart).
 *
 * Loading: the shell imports each module by its bare name (`await import('cart')`); the
 * service worker's import map resolves the name to `/modules/<name>/<version>/index.js` of
 * this page's snapshot. The shell imports each one separately, so one that fails to import
 * (header 3.0.0 throws while being imported) leaves the others running; it reports the failure
 * with `tranche.reportError(error, { module })`.
 *
 * Mounting: every module's entry exports {@link ShopModule.mount}. The shell calls it with the
 * module's placeholder element (its root), awaits every mount, then calls `tranche.ready()`.
 * `mount` first stamps the root with `data-module="<name>" data-version="<version>"`, taken
 * from the module's own build, so the page shows which code actually ran; it then renders into
 * the root and resolves once rendered. Importing a module has no other effect on the page.
 *
 * Talking to each other: modules never import one another (each one rolls out and falls back
 * on its own); they talk through DOM events on `window`, see {@link ADD_TO_CART}.
 *
 * Errors: a module's event handlers throw straight to the page (window `error`, whose file
 * is the module's versioned URL), and a failed lazy chunk rejects unhandled, so the page
 * client can attribute both to module@version.
 */

/** What each module's entry exports. */
export interface ShopModule {
  /** Stamps and renders into `root`; resolves once rendered. */
  mount(root: HTMLElement): void | Promise<void>;
}

/** Event (a `CustomEvent<CartItem>` on `window`) the catalog fires and the cart listens to. */
export const ADD_TO_CART = 'shop:add-to-cart';

/** A product put into the cart. */
export interface CartItem {
  id: string;
  name: string;
  /** In cents, so totals add up exactly. */
  price: number;
}
