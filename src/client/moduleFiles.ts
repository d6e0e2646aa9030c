/**
 * The module files this page loaded, read from Resource Timing. A browser that cannot resolve a
 * bare specifier (`Failed to resolve module specifier "react"`) names neither the importing file
 * nor a stack frame in it; the importer is one of the module files the page loaded just before,
 * and its source says which.
 */
import { attributeUrl, importsSpecifier, type AttributionOptions, type ModuleRef } from '../core/attribution.js';

/** Module file URLs remembered, most recently loaded kept. */
const MAX_FILES = 256;

/** Watches the module files a page loads; `importerOf` finds which one imports a specifier. */
export class ModuleFiles {
  // Insertion order is load order: a file loaded again moves to the end.
  private readonly _urls = new Map<string, ModuleRef>();
  private readonly _observer: PerformanceObserver | null = null;

  constructor(private readonly _attribution: AttributionOptions) {
    // An observer, not getEntriesByType at failure time: the page's Resource Timing buffer
    // (250 entries by default) stops recording once full, observers do not.
    if (typeof PerformanceObserver !== 'function') return;
    try {
      this._observer = new PerformanceObserver((list) => this._add(list.getEntries()));
      this._observer.observe({ type: 'resource', buffered: true });
    } catch {
      this._observer = null; // a browser without Resource Timing: importers stay unknown
    }
  }

  /**
   * The module version, among those `modules` says this page runs (null: any), whose loaded
   * files import `specifier`, the most recently loaded first; null when none does. Reads each
   * file again (from the worker's storage or the HTTP cache), so call it only on a failure.
   */
  async importerOf(specifier: string, modules: Readonly<Record<string, string>> | null): Promise<ModuleRef | null> {
    this._add(this._observer?.takeRecords() ?? []);
    for (const [url, ref] of [...this._urls].reverse()) {
      if (modules && modules[ref.module] !== ref.version) continue;
      try {
        const response = await fetch(url);
        if (response.ok && importsSpecifier(await response.text(), specifier)) return ref;
      } catch {
        // A file that cannot be read again proves nothing: try the next one.
      }
    }
    return null;
  }

  /** Stops watching. */
  disconnect(): void {
    this._observer?.disconnect();
  }

  private _add(entries: readonly PerformanceEntry[]): void {
    for (const { name } of entries) {
      const ref = attributeUrl(name, this._attribution);
      if (!ref) continue;
      this._urls.delete(name);
      this._urls.set(name, ref);
      if (this._urls.size > MAX_FILES) this._urls.delete(this._urls.keys().next().value!);
    }
  }
}
