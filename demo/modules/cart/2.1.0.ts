/** cart 2.1.0: 2.0.0 with a bug, every click of the button from the third on throws. */
import { createCart } from './cart.js';

export const mount = createCart({ summary: 'total', failFromClick: 3 });
