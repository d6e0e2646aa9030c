/** catalog 1.0.0: name, price and an add button per product. */
import { createCatalog } from './catalog.js';

export const mount = createCatalog({ ratings: false });
