/**
 * The demo shop's shell: registers the app's service worker through the page client, imports
 * each module by its bare name (the import map, injected by the worker or, without it, by the
 * demo server, picks the version), mounts it into its placeholder, and vouches for the page
 * load with `ready()` once every module rendered (demo/modules/contract.ts).
 *
 * A module that fails to import or mount is reported against that module and leaves the others
 * running, with a notice instead of its part of the page. The page client is `window.tranche`,
 * for the console and the tests: `await tranche.state()`.
 */
import { Tranche } from '../../src/client/index.js';
import type { ShopModule } from '../modules/contract.js';

declare global {
  interface Window {
    tranche: Tranche;
  }
}

// Literal specifiers, one per module: each import is its own failure domain.
const MODULES: Record<string, () => Promise<ShopModule>> = {
  header: () => import('header'),
  catalog: () => import('catalog'),
  cart: () => import('cart'),
};

// First thing in the boot: errors are captured from here on.
const tranche = new Tranche('/sw.js');
window.tranche = tranche;

const notice = document.getElementById('notice')!;

function tell(text: string): void {
  notice.textContent = text;
  notice.hidden = false;
}

tranche.addEventListener('rolled-back', (e) => {
  if (e.affectsThisPage)
    tell(
      `${e.module} ${e.version} broke in this browser; ` +
        `${e.willReload ? 'reloading with' : 'new pages get'} ${e.to ?? 'the previous version'}.`,
    );
});

/** Imports and mounts one module; resolves to its name when it failed. */
async function mountModule(name: string, load: () => Promise<ShopModule>): Promise<string | null> {
  try {
    const module = await load();
    await module.mount(document.getElementById(name)!);
    return null;
  } catch (error) {
    // Blame the module, whichever file of it threw (an import error may name none).
    tranche.reportError(error, { module: name });
    return name;
  }
}

async function boot(): Promise<void> {
  void tranche.register().catch((err: unknown) => console.warn('tranche: the service worker did not register', err));
  const failed = (await Promise.all(Object.entries(MODULES).map(([name, load]) => mountModule(name, load)))).filter((n) => n !== null);
  const stamps = [...document.querySelectorAll<HTMLElement>('[data-module]')].map((el) => `${el.dataset.module} ${el.dataset.version}`);
  document.getElementById('running')!.textContent = `running ${stamps.join(' · ') || 'no module'}`;
  if (failed.length) {
    tell(`Part of the shop is unavailable right now (${failed.join(', ')}); everything else works.`);
  } else {
    // Only a page whose every module rendered vouches for its versions.
    await tranche.ready().catch((err: unknown) => console.warn('tranche: ready() was not acknowledged', err));
  }
  document.body.dataset.booted = failed.length ? 'degraded' : 'ok';
}

void boot();
