/** catalog 1.1.0: adds star ratings to the cards. */
import { createCatalog } from './catalog.js';

export const mount = createCatalog({ ratings: true });
