/** cart 2.0.0: a green button with the item count and the total. */
import { createCart } from './cart.js';

export const mount = createCart({ summary: 'total' });
