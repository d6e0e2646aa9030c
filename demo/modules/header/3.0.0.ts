/**
 * header 3.0.0: the demo's broken release. It throws while being imported (as a module does
 * when a top-level lookup fails), so pages assigned to it fall back to the last good version.
 */
import { createHeader } from './header.js';

export const mount = createHeader({ theme: 'bold', tagline: 'Free delivery all week' });

throw new Error(`header ${import.meta.env.TRANCHE_VERSION}: failed to start (simulated top-level error)`);
