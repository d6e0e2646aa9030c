/** cart 1.0.0: a plain button with the item count. */
import { createCart } from './cart.js';

export const mount = createCart({ summary: 'count' });
