/**
 * The Cache-Control of bytes that never change under their URL (versioned module files,
 * content-addressed blobs, release records, hashed build assets): one year, the longest
 * lifetime caches honour, and `immutable` so browsers do not revalidate them on reload. The
 * worker, the store handler and every backend that uploads a store send the same header.
 */
export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';
