/**
 * What a store holds and where (docs/manifest.md, "Store layout"): every document's path relative
 * to the store, which is the path the manifest, the service worker and every backend use, and
 * what kind of document it is. A new kind of document (a ramp plan, a policy) is one entry in
 * DOCUMENTS: its path, whether it ever changes, whether clients may read it, its content type.
 */
import { IMMUTABLE_CACHE } from '../core/immutableCache.js';

export const MANIFEST = 'manifest.json';
export const HISTORY = 'history.jsonl';
/** The highest sequence this store ever published (history.ts): no publish goes at or below it. */
export const PUBLISHED = 'published.json';
export const RECORDS = 'records/';
export const FILES = 'files/';
export const KEYS = 'keys/';
/** Each stable version's files by name, for pages no worker serves (firstVisit.ts). */
export const MODULES_TREE = 'modules/';

/** `records/<module>/<version>.json`, as `manifest.releases` names it. */
export function recordPath(module: string, version: string): string {
  return `${RECORDS}${module}/${version}.json`;
}

/** `files/<sha256>`: the bytes of every file with that content, shared by all versions. */
export function blobPath(sha256: string): string {
  return `${FILES}${sha256}`;
}

/** `keys/<keyId>.jwk`: a public key that signed a manifest of this store. */
export function keyPath(keyId: string): string {
  return `${KEYS}${keyId}.jwk`;
}

/** One kind of document a store keeps. */
interface DocumentKind {
  readonly name: string;
  /** Matches the whole store-relative path of every document of this kind. */
  readonly pattern: RegExp;
  /** Written once and never changed (content-addressed or immutable by rule), so cacheable for a year. */
  readonly immutable: boolean;
  /** Served to clients (storeHandler, a public bucket); false for operator data. */
  readonly served: boolean;
  /** Its Content-Type; a file's own type comes from the release record that lists it. */
  readonly type: string;
}

const DOCUMENTS: readonly DocumentKind[] = [
  { name: 'manifest', pattern: /^manifest\.json$/, immutable: false, served: true, type: 'application/json' },
  { name: 'record', pattern: /^records\/[^/]+\/[^/]+\.json$/, immutable: true, served: true, type: 'application/json' },
  { name: 'file', pattern: /^files\/[0-9a-f]{64}$/, immutable: true, served: true, type: 'application/octet-stream' },
  { name: 'key', pattern: /^keys\/[^/]+\.jwk$/, immutable: true, served: true, type: 'application/json' },
  { name: 'history', pattern: /^history\.jsonl$/, immutable: false, served: false, type: 'application/x-ndjson' },
  { name: 'published sequence', pattern: /^published\.json$/, immutable: false, served: false, type: 'application/json' },
  { name: 'plan', pattern: /^plans\/[^/]+\.json$/, immutable: false, served: false, type: 'application/json' },
  // What a page no worker serves loads (firstVisit.ts): both derived from the manifest and the records.
  { name: 'stable import map', pattern: /^importmap\.js$/, immutable: false, served: true, type: 'text/javascript; charset=utf-8' },
  { name: 'stable file', pattern: /^modules\/[^/]+\/[^/]+\/.+$/, immutable: true, served: true, type: 'application/octet-stream' },
];

/** The kind of the document at `path`, or null for a path that is no document of a store. */
export function documentKind(path: string): DocumentKind | null {
  return DOCUMENTS.find((kind) => kind.pattern.test(path)) ?? null;
}

/** The Cache-Control of a document of `kind`: immutable ones for a year, the rest revalidated on every use. */
export function cacheControlOf(kind: DocumentKind): string {
  return kind.immutable ? IMMUTABLE_CACHE : 'no-cache';
}
