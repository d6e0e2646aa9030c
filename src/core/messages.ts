/**
 * Every error code tranche uses, with the details it carries and the sentence it reads as.
 * One table so that messages stay consistent and each code is documented in one place.
 */
export interface ErrorDetails {
  /** A document failed its schema; each problem is `path: what was expected, got what`. */
  'invalid-document': { what: string; problems: string[] };
  /** Bytes that should be JSON are not. */
  'invalid-json': { what: string; reason: string };
  'unknown-format': { what: string; format: unknown };
  'bad-signature': { keyId: string };
  'missing-signature': Record<string, never>;
  'unknown-key': { keyId: string; trusted: string[] };
  'key-mismatch': { envelopeKeyId: string; payloadKeyId: string };
  'stale-sequence': { sequence: number; lastAccepted: number };
  expired: { expires: string; now: string };
  'invalid-key': { where: string; reason: string };
  integrity: { what: string; expected: string; actual: string };
  /** The command line lacks something it needs or gives contradicting things (`tranche`'s exit code 2). */
  usage: { reason: string };
  'not-found': { what: string };
  conflict: { what: string; reason: string };
  /** A path in a store leads outside it (a symbolic link out of a directory store): it is never followed. */
  'unsafe-path': { path: string; reason: string };
  /** The signing key is not one the store trusts (`keys/`): publishing with it would lock every client out. */
  'untrusted-key': { what: string; reason: string };
  /** The store's current manifest does not verify (signature, key, schema): nothing is published over it. */
  'untrusted-manifest': { what: string; reason: string };
  /** A change would make live a version whose `requires` no live version meets: all its clients would fall back. */
  incompatible: { what: string; reason: string };
  /** `--requires` names a range no released version of that module satisfies. */
  'unmet-requirement': { what: string; reason: string };
  /** A record stored at another version's path (`records/<module>/<version>.json`). */
  'misplaced-record': { path: string; describes: string; belongsAt: string };
  /** The module is paused: no promote or rollout until it is resumed. */
  paused: { what: string; reason: string };
  /** The version was rolled back and is blocked: it never goes live again unless unblocked. */
  blocked: { what: string; reason: string };
  /** The change would change nothing (already stable, nothing to roll back, not blocked). */
  'no-change': { what: string; reason: string };
  /** A rollout does not fit beside the module's other rollouts in the 10,000 buckets. */
  'no-room': { what: string; reason: string };
  /** A released version (or a file of it) exists with other contents: releases are immutable. */
  immutable: { what: string; reason: string };
  /** Build files that cannot be released (unsafe or unportable paths, symlinks out, devices, too large). */
  'unreleasable-files': { what: string; reason: string };
  /** The build directory holds no files. */
  'empty-build': { buildDir: string };
  /** A request to a remote store failed (HTTP status or network). */
  'store-failed': { what: string; reason: string };
  /** Another command holds the store lock; `holder` says who, for deleting a lock left by a crash. */
  locked: { path: string; waitedMs: number; holder: string };
  exists: { path: string };
  /** The service worker did not answer a page's request in time. */
  timeout: { what: string; ms: number };
  /** A page asked something of the service worker, but none serves it. */
  'no-worker': { what: string; reason: string };
  /**
   * Options given to an entry point are unusable: `where` names it (`installTranche()`, `new Tranche()`,
   * `trancheApp()`, `trancheModule()`, `storeHandler()`), each problem is `option: expected …, got …`.
   */
  'invalid-option': { where: string; problems: string[] };
  /**
   * An argument's value is unusable: a CLI flag (`--percent 150`), a `tranche/node` or page client
   * method's argument (`override() module`). `where` names the argument and its value.
   */
  'invalid-argument': { where: string; problem: string };
  /** The manifest's kill switch disabled the worker: it changes nothing until a manifest enables it again. */
  'kill-switch': { what: string };
  /** The worker could not open its IndexedDB database (private mode, storage evicted or blocked). */
  'no-storage': { what: string; reason: string };
  /** The accepted manifest does not allow forcing module@version (not released, blocked, retired). */
  'override-refused': { module: string; version: string; reason: string };
  /** A page vouched (`READY`) for a page load that is not its own. */
  'unknown-page-load': { nonce: string };
  /** A module URL names a version the signed manifest does not release, so its bytes cannot be checked. */
  'not-released': { module: string; version: string };
  /** The service worker answered a page's request with something that is not a reply. */
  'bad-reply': { what: string; got: string };
  /** The service worker failed on a page's request for a reason it has no code for (a bug or a browser error). */
  'worker-failed': { what: string; reason: string };
  /** A download failed: network error, HTTP status or a body cut short. */
  download: { url: string; reason: string };
  /** Storing a version would not fit in the origin's storage quota. */
  quota: { what: string; needed: number; available: number };
  /** An optional package a feature needs is not installed (the collector's better-sqlite3, prom-client). */
  'missing-dependency': { name: string; feature: string };
}

export type ErrorCode = keyof ErrorDetails;

export const messages: { [C in ErrorCode]: (d: ErrorDetails[C]) => string } = {
  'invalid-document': (d) => `${d.what} is invalid:\n  ${d.problems.join('\n  ')}`,
  'invalid-json': (d) => `${d.what} is not valid JSON: ${d.reason}`,
  'unknown-format': (d) => `${d.what}: unknown format version ${JSON.stringify(d.format)} (this tranche reads format 1)`,
  'bad-signature': (d) => `manifest signature does not verify with key ${d.keyId}: the payload was altered or signed by another key`,
  'missing-signature': () => 'manifest is not signed: signature is missing',
  'unknown-key': (d) => `manifest is signed with key ${d.keyId}, which is not trusted (trusted: ${d.trusted.join(', ') || 'none'})`,
  'key-mismatch': (d) => `manifest envelope names key ${d.envelopeKeyId} but its payload names ${d.payloadKeyId}`,
  'stale-sequence': (d) =>
    `manifest sequence ${d.sequence} is not greater than the last accepted ${d.lastAccepted} (replayed or rolled-back manifest)`,
  expired: (d) => `manifest expired at ${d.expires} (now ${d.now})`,
  'invalid-key': (d) => `${d.where}: not a usable Ed25519 key: ${d.reason}`,
  integrity: (d) => `${d.what}: SHA-256 mismatch, expected ${d.expected}, got ${d.actual}`,
  usage: (d) => d.reason,
  'not-found': (d) => `${d.what} not found`,
  conflict: (d) => `${d.what}: ${d.reason}`,
  'unsafe-path': (d) => `path ${JSON.stringify(d.path)} ${d.reason}`,
  'untrusted-key': (d) => `${d.what}: ${d.reason}`,
  'untrusted-manifest': (d) => `${d.what}: ${d.reason}`,
  incompatible: (d) => `${d.what}: ${d.reason}`,
  'unmet-requirement': (d) => `${d.what}: ${d.reason}`,
  'misplaced-record': (d) => `${d.path} describes ${d.describes}, so it belongs at ${d.belongsAt}`,
  paused: (d) => `${d.what}: ${d.reason}`,
  blocked: (d) => `${d.what}: ${d.reason}`,
  'no-change': (d) => `${d.what}: ${d.reason}`,
  'no-room': (d) => `${d.what}: ${d.reason}`,
  immutable: (d) => `${d.what}: ${d.reason}`,
  'unreleasable-files': (d) => `${d.what}: ${d.reason}`,
  'empty-build': (d) => `build directory ${d.buildDir} contains no files`,
  'store-failed': (d) => `${d.what}: ${d.reason}`,
  locked: (d) =>
    `could not take the store lock ${d.path} within ${d.waitedMs} ms: it is held by ${d.holder}; ` +
    'if no tranche command is running there, delete the lock file',
  exists: (d) => `${d.path} already exists; refusing to overwrite it`,
  timeout: (d) => `${d.what}: the service worker did not answer within ${d.ms} ms`,
  'no-worker': (d) => `${d.what}: no service worker to ask: ${d.reason}`,
  'invalid-option': (d) =>
    d.problems.length === 1 ? `${d.where} option ${d.problems[0]}` : `${d.where} options:\n  ${d.problems.join('\n  ')}`,
  'invalid-argument': (d) => `${d.where}: ${d.problem}`,
  'kill-switch': (d) => `${d.what}: refused, the manifest's kill switch disabled the tranche service worker`,
  'no-storage': (d) => `${d.what}: the tranche service worker has no storage: ${d.reason}`,
  'override-refused': (d) => `override ${d.module}@${d.version}: ${d.reason}`,
  'unknown-page-load': (d) => `READY: this client has no page load ${d.nonce} (a page can only vouch for its own load)`,
  'not-released': (d) => `${d.module}@${d.version}: not released in the signed manifest, so its bytes cannot be verified`,
  'bad-reply': (d) => `${d.what}: the service worker answered ${d.got}, not a reply`,
  'worker-failed': (d) => `${d.what}: the service worker failed: ${d.reason}`,
  download: (d) => `could not download ${d.url}: ${d.reason}`,
  quota: (d) => `${d.what} needs ${d.needed} bytes of storage but only ${d.available} are free`,
  'missing-dependency': (d) => `${d.feature} needs the package ${d.name}, which is not installed: npm install ${d.name}`,
};
