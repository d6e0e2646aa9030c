// The shop's modules, resolved at run time by the page's import map (never bundled): each
// entry follows demo/modules/contract.ts.
declare module 'header' {
  export const mount: import('../modules/contract.js').ShopModule['mount'];
}
declare module 'catalog' {
  export const mount: import('../modules/contract.js').ShopModule['mount'];
}
declare module 'cart' {
  export const mount: import('../modules/contract.js').ShopModule['mount'];
}
