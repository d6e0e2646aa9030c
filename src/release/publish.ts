/**
 * Publishing a manifest change, the one path every mutating verb takes. Under the store lock:
 * read and verify the current manifest, apply the change to a draft, check that every live
 * version is released, sign, save the signer's public key, append and fsync the history line,
 * then write the manifest atomically. Each step before the final rename leaves the previous
 * manifest in place, so a crash anywhere leaves a store that `verify` accepts.
 */
import { TrancheError, isTrancheError } from '../core/TrancheError.js';
import { sha256Hex } from '../core/integrity.js';
import { FORMAT, releaseKey, type Manifest, type ReleaseRef } from '../core/manifest.js';
import { signManifest, verifyManifest, type Ed25519Jwk } from '../core/signature.js';
import { parseJson, parseReleaseRecord } from '../core/validate.js';
import { writeStableImportMap, writeStableTrees } from './firstVisit.js';
import { appendHistory, readHistory, readPublishedSequence, recordPublished, type HistoryEntry, type ModuleChange } from './history.js';
import { saveTrustedKey, storeKeys } from './keys.js';
import { checkRecordPath } from './release.js';
import { unmeetableRequirements, unmeetableShared, type ManifestDraft } from './manifestChanges.js';
import { utf8, type StoreBackend } from './StoreBackend.js';
import { MANIFEST, recordPath } from './storeLayout.js';

/** Who publishes, with what key, and how long to wait for the lock. */
export interface PublishContext {
  backend: StoreBackend;
  /** The private JWK and a name for it in errors (its file). */
  signingKey: () => Promise<{ jwk: unknown; where: string }>;
  actor: string;
  lockTimeoutMs?: number;
}

/** A change: mutates the draft and returns a note; may read the module's past stables. */
export type Change = (draft: ManifestDraft, history: () => Promise<HistoryEntry[]>) => string | Promise<string>;

/** What a mutating verb did. */
export interface PublishResult {
  /** False when the change left the manifest as it was (nothing was written). */
  changed: boolean;
  /** The manifest's sequence afterwards. */
  sequence: number;
  /** A sentence for the operator. */
  note: string;
}

/**
 * The store's current manifest, its signature checked against the store's `keys/`; `null` for a
 * store that has never published. Expiry is not checked: publishing is how an expired one is renewed.
 */
export async function readCurrentManifest(backend: StoreBackend): Promise<Manifest | null> {
  return (await readManifestBytes(backend))?.manifest ?? null;
}

/** The current manifest and its bytes exactly as stored (what the next write replaces). */
async function readManifestBytes(backend: StoreBackend): Promise<{ manifest: Manifest; bytes: Uint8Array } | null> {
  const bytes = await backend.read(MANIFEST);
  if (bytes === null) return null;
  const where = backend.where(MANIFEST);
  try {
    const { keys } = await storeKeys(backend);
    return { manifest: await verifyManifest(parseJson(utf8(bytes), where), { trusted: keys, now: new Date(0) }), bytes };
  } catch (err) {
    if (!isTrancheError(err)) throw err;
    throw new TrancheError('untrusted-manifest', {
      what: where,
      reason: `${err.message}\nrefusing to use it; tranche verify lists every problem`,
    });
  }
}

/** How {@link publish} publishes. */
export interface PublishHow {
  /** An ISO time, `'never'` (no expiry), or undefined to keep the store's expiry (refused once passed). */
  expires?: string;
  /** What to do when the change leaves a live version's requirement unmet. @default 'refuse' */
  incompatible?: 'refuse' | 'warn';
  /** A public key the store trusts from this publish on (`tranche keys add`); publishes even if nothing else changes. */
  trust?: { jwk: Ed25519Jwk; keyId: string };
}

/**
 * Applies `change` as verb `verb` and publishes the result (see the file comment), signed with a
 * key the store trusts (any key for its first manifest, which makes that key the trusted one).
 */
export async function publish(
  ctx: PublishContext,
  verb: string,
  args: Record<string, unknown>,
  change: Change,
  { expires: requested, incompatible = 'refuse', trust }: PublishHow = {},
): Promise<PublishResult> {
  const { jwk, where } = await ctx.signingKey();
  const { backend } = ctx;
  return backend.exclusive(async () => {
    const stored = await readManifestBytes(backend);
    const current = stored?.manifest ?? null;
    const expires = requested === 'never' ? undefined : (requested ?? keptExpiry(current));
    const before = current && draftOf(current);
    const draft: ManifestDraft = structuredClone(before ?? { modules: {}, killSwitch: false });
    let note = await change(draft, () => readHistory(backend, current?.sequence ?? 0));
    if (current && !trust && current.expires === expires && JSON.stringify(draft) === JSON.stringify(before)) {
      return { changed: false, sequence: current.sequence, note: `${note}; nothing changed` };
    }
    const refs = await releaseRefs(backend, draft);
    const requirementsOf = (module: string, version: string) => refs[releaseKey(module, version)]?.requires;
    const requiresSharedOf = (module: string, version: string) => refs[releaseKey(module, version)]?.requiresShared;
    const unmet = (d: ManifestDraft) => [
      ...unmeetableRequirements(d.modules, requirementsOf),
      ...unmeetableShared(d.modules, d.shared, requiresSharedOf),
    ];
    // Only what this change breaks: a store published with --allow-incompatible must not block every later change.
    const unmetBefore = new Set(before ? unmet(before) : []);
    const broken = unmet(draft).filter((line) => !unmetBefore.has(line));
    if (broken.length && incompatible === 'refuse')
      throw new TrancheError('incompatible', {
        what: `tranche ${verb}`,
        reason:
          `${broken.join('; ')}: its clients would all fall back; ` +
          'make a version that meets it live first, or pass --allow-incompatible',
      });
    if (broken.length) note += `; warning: ${broken.join('; ')} (its clients fall back)`;
    // Never at or below a sequence published before: clients that accepted it would reject this one.
    const published = await readPublishedSequence(backend);
    const sequence = Math.max(current?.sequence ?? 0, published) + 1;
    if (current && current.sequence < published)
      note +=
        `; manifest.json was sequence ${current.sequence}, ` +
        `older than the ${published} this store published (a restored copy?), so this is ${sequence}`;
    // keyId is filled in by signManifest from the key that actually signs.
    const next: Manifest = {
      format: FORMAT,
      sequence,
      published: new Date().toISOString(),
      ...(expires === undefined ? {} : { expires }),
      keyId: '',
      killSwitch: draft.killSwitch,
      modules: draft.modules,
      ...(draft.shared ? { shared: draft.shared } : {}),
      releases: refs,
    };
    const envelope = await signManifest(next, jwk, where);
    const { keys: trusted } = await storeKeys(backend);
    if (trusted.size && !trusted.has(envelope.keyId))
      throw new TrancheError('untrusted-key', {
        what: where,
        reason:
          `key ${envelope.keyId} is not one this store trusts (keys/: ${[...trusted.keys()].join(', ')}); ` +
          'to rotate to it on purpose, run tranche keys add <its public.jwk> with --key set to a trusted key ' +
          '(docs/cli.md, "Key rotation")',
      });
    if (!trusted.size) await saveTrustedKey(backend, jwk as Ed25519Jwk, envelope.keyId);
    if (trust) await saveTrustedKey(backend, trust.jwk, trust.keyId);
    await appendHistory(backend, historyEntry(ctx.actor, verb, args, envelope.keyId, next, current));
    // The stable versions' files by name exist before a manifest makes them stable (firstVisit.ts).
    await writeStableTrees(backend, next);
    // Last, and only over the manifest read above: a backend without a lock still never loses a change.
    await backend.put(MANIFEST, `${JSON.stringify(envelope, null, 2)}\n`, { replaces: stored?.bytes ?? null });
    await recordPublished(backend, sequence);
    await writeStableImportMap(backend, next);
    return { changed: true, sequence: next.sequence, note };
  }, ctx.lockTimeoutMs);
}

/** The part of `manifest` the verbs change. */
function draftOf({ modules, killSwitch, shared }: Manifest): ManifestDraft {
  return { modules, killSwitch, ...(shared ? { shared } : {}) };
}

/** The current manifest's expiry, which a publish without `--expires` keeps; refused once it has passed. */
function keptExpiry(current: Manifest | null): string | undefined {
  const expires = current?.expires;
  if (expires !== undefined && Date.parse(expires) <= Date.now())
    throw new TrancheError('usage', {
      reason:
        `the store's manifests expire, and the current one expired at ${expires}: ` +
        'pass --expires <time> for the new one (or --expires never)',
    });
  return expires;
}

/** `releases` for every live version, each record read, validated and hashed as stored, with what it requires. */
async function releaseRefs(backend: StoreBackend, draft: ManifestDraft): Promise<Record<string, ReleaseRef>> {
  const refs: Record<string, ReleaseRef> = {};
  for (const [module, mod] of Object.entries(draft.modules)) {
    for (const version of [mod.stable, ...mod.rollouts.map((r) => r.version)]) {
      const record = recordPath(module, version);
      const bytes = await backend.read(record);
      if (!bytes) throw new TrancheError('not-found', { what: `release ${module}@${version} (${record})` });
      const parsed = parseReleaseRecord(parseJson(utf8(bytes), record), record);
      checkRecordPath(parsed, record);
      const requires = Object.keys(parsed.requires).length ? { requires: parsed.requires } : {};
      const requiresShared = parsed.requiresShared ? { requiresShared: parsed.requiresShared } : {};
      // The ranges ride along in the signed root: a worker must know them before staging the version.
      refs[releaseKey(module, version)] = { record, sha256: await sha256Hex(bytes), ...requires, ...requiresShared };
    }
  }
  return refs;
}

function historyEntry(
  actor: string,
  verb: string,
  args: Record<string, unknown>,
  keyId: string,
  next: Manifest,
  current: Manifest | null,
): HistoryEntry {
  const modules: Record<string, ModuleChange> = {};
  for (const name of new Set([...Object.keys(current?.modules ?? {}), ...Object.keys(next.modules)])) {
    const before = current?.modules[name] ?? null;
    const after = next.modules[name] ?? null;
    if (JSON.stringify(before) !== JSON.stringify(after)) modules[name] = { before, after };
  }
  const killSwitchBefore = current?.killSwitch ?? false;
  return {
    sequence: next.sequence,
    time: next.published,
    actor,
    verb,
    args,
    keyId,
    modules,
    ...(killSwitchBefore === next.killSwitch ? {} : { killSwitch: { before: killSwitchBefore, after: next.killSwitch } }),
  };
}
