/** header 2.0.0: the redesign, a bold banner with a tagline. */
import { createHeader } from './header.js';

export const mount = createHeader({ theme: 'bold', tagline: 'Free delivery all week' });
