/** header 1.0.0: the classic light bar. */
import { createHeader } from './header.js';

export const mount = createHeader({ theme: 'classic' });
