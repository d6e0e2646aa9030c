/**
 * Reads the snapshot the service worker injected into this page's HTML
 * (`<script type="application/json" id="tranche-snapshot">`, docs/service-worker.md): the module
 * versions this page load runs and the nonce that names it.
 */
import { TrancheError } from '../core/TrancheError.js';
import { SNAPSHOT_ELEMENT_ID, type Snapshot } from '../core/protocol.js';

/**
 * This page's snapshot, or null when the worker did not serve the page (first visit, a hard
 * reload, no service worker). Throws `invalid-document` when the element is there but unusable.
 * Only the fields the page relies on are checked, so a newer worker's additions are accepted.
 */
export function readSnapshot(doc: Document): Snapshot | null {
  const element = doc.getElementById(SNAPSHOT_ELEMENT_ID);
  if (!element) return null;
  const what = `#${SNAPSHOT_ELEMENT_ID}`;
  let data: unknown;
  try {
    data = JSON.parse(element.textContent ?? '');
  } catch (err) {
    throw new TrancheError('invalid-json', { what, reason: (err as Error).message });
  }
  const problems: string[] = [];
  const snapshot = data as Partial<Snapshot> | null;
  if (typeof snapshot !== 'object' || snapshot === null) {
    problems.push(`(root): expected an object, got ${JSON.stringify(data)}`);
  } else {
    if (typeof snapshot.id !== 'string' || snapshot.id === '') problems.push(`id: expected a nonce, got ${JSON.stringify(snapshot.id)}`);
    const modules: unknown = snapshot.modules;
    if (typeof modules !== 'object' || modules === null || Object.values(modules).some((v) => typeof v !== 'string')) {
      problems.push(`modules: expected module name -> version, got ${JSON.stringify(modules)}`);
    }
  }
  if (problems.length) throw new TrancheError('invalid-document', { what, problems });
  return snapshot as Snapshot;
}
