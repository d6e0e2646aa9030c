/**
 * One manifest check: download, then verify (signature by a trusted key, schema, a sequence
 * above the last accepted one, expiry). The outcome is data; the Driver decides what changes.
 * Whatever goes wrong, the caller keeps the last accepted manifest.
 */
import { isTrancheError } from '../src/core/TrancheError.js';
import type { ErrorCode } from '../src/core/messages.js';
import type { ManifestRejectionReason } from '../src/core/protocol.js';
import { verifyManifest, type TrustedKeys } from '../src/core/signature.js';
import { parseEnvelope, parseJson } from '../src/core/validate.js';
import type { Adapter } from './Adapter.js';
import type { AcceptedManifest } from './Database.js';

/** What a check found. */
export type ManifestCheck =
  | { kind: 'accepted'; accepted: AcceptedManifest }
  | { kind: 'unchanged' }
  | { kind: 'rejected'; reason: ManifestRejectionReason; message: string };

const REASONS: Partial<Record<ErrorCode, ManifestRejectionReason>> = {
  'missing-signature': 'signature',
  'bad-signature': 'signature',
  'unknown-key': 'signature',
  'key-mismatch': 'signature',
  'invalid-key': 'signature',
  'stale-sequence': 'sequence',
  expired: 'expired',
  'invalid-document': 'schema',
  'invalid-json': 'schema',
  'unknown-format': 'schema',
};

function rejected(reason: ManifestRejectionReason, message: string): ManifestCheck {
  return { kind: 'rejected', reason, message };
}

/** The reason code pages are told for an error thrown while verifying. */
function rejectionReason(err: unknown): ManifestRejectionReason {
  return (isTrancheError(err) && REASONS[err.code]) || 'schema';
}

/** Fetches `url` past the HTTP cache and checks it against `last` (the accepted manifest). */
export async function checkManifest(
  adapter: Adapter,
  url: string,
  trusted: Promise<TrustedKeys>,
  last: AcceptedManifest | null,
): Promise<ManifestCheck> {
  let text: string;
  try {
    const response = await adapter.fetch(url, { cache: 'no-cache', credentials: 'same-origin' });
    if (!response.ok) return rejected('download', `${url}: HTTP ${response.status}`);
    text = await response.text();
  } catch (err) {
    return rejected('download', `${url}: ${(err as Error).message || 'network error'}`);
  }
  const now = adapter.now();
  try {
    const input = parseJson(text, url);
    if (last && sameEnvelope(input, last)) {
      // Re-serving the accepted manifest is the normal "no update"; only its expiry can change.
      const expires = last.manifest.expires;
      if (expires !== undefined && Date.parse(expires) <= now)
        return rejected('expired', `manifest sequence ${last.manifest.sequence} expired at ${expires}`);
      return { kind: 'unchanged' };
    }
    const manifest = await verifyManifest(input, { trusted: await trusted, lastSequence: last?.manifest.sequence, now: new Date(now) });
    return { kind: 'accepted', accepted: { envelope: parseEnvelope(input), manifest, acceptedAt: now } };
  } catch (err) {
    return rejected(rejectionReason(err), (err as Error).message);
  }
}

function sameEnvelope(input: unknown, last: AcceptedManifest): boolean {
  const envelope = input as Partial<AcceptedManifest['envelope']> | null;
  return (
    typeof envelope === 'object' &&
    envelope !== null &&
    envelope.signature === last.envelope.signature &&
    envelope.payload === last.envelope.payload
  );
}
