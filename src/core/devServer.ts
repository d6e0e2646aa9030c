/**
 * The mark `trancheApp()` (tranche/vite) puts into every page `vite dev` serves, as
 * `<meta name="tranche-dev-server">`: modules run from their sources there, so the page client
 * registers no service worker (there is none to register, and a worker of a production build
 * must not serve the dev server's pages).
 */
export const DEV_SERVER_META = 'tranche-dev-server';
