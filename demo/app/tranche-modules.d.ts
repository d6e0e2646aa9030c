// Written by trancheApp() (tranche/vite): each module's types, from its source. Commit it; do not edit.
declare module 'header' {
  const module: typeof import('../modules/header/1.0.0');
  export = module;
}
declare module 'catalog' {
  const module: typeof import('../modules/catalog/1.0.0');
  export = module;
}
declare module 'cart' {
  const module: typeof import('../modules/cart/1.0.0');
  export = module;
}
