/**
 * `tranche/react`: what a React 19 app needs so that errors React handles itself still reach
 * tranche (docs/frameworks.md). React catches render errors before the page's error handlers
 * see them: an error boundary shows its fallback and logs, an uncaught one unmounts the root.
 * Both leave the page without the module's UI, so both are reported as fatal: one is enough to
 * fail that module version (docs/fallback.md).
 */
import {
  Component,
  createElement,
  lazy,
  Suspense,
  useEffect,
  type ComponentType,
  type ErrorInfo,
  type LazyExoticComponent,
  type ReactNode,
} from 'react';
import type { RootOptions } from 'react-dom/client';
import type { Tranche } from '../client/Tranche.js';

/**
 * Options for `createRoot(container, trancheRootOptions(tranche))`: an error an error boundary
 * caught, or one that unmounted the root, is reported to tranche as fatal, blamed on the module
 * its stack or component stack names. Errors a `TrancheBoundary` caught are left to it.
 */
export function trancheRootOptions(tranche: Tranche): Pick<RootOptions, 'onCaughtError' | 'onUncaughtError'> {
  return {
    onCaughtError(error, { componentStack, errorBoundary }) {
      // A TrancheBoundary reports what it caught itself; React logs it only without this option.
      if (errorBoundary instanceof TrancheBoundary) return void console.error(error);
      report(tranche, error, { componentStack });
    },
    onUncaughtError(error, { componentStack }) {
      report(tranche, error, { componentStack });
    },
  };
}

function report(tranche: Tranche, error: unknown, { componentStack }: { componentStack?: string | undefined }): void {
  // React logs what these options handle only when they are not given: keep it visible.
  console.error(error);
  tranche.reportError(error, { fatal: true, ...(componentStack !== undefined && { componentStack }) });
}

/** Props of `TrancheBoundary`. */
export interface TrancheBoundaryProps {
  tranche: Tranche;
  /** The module rendered inside: what the boundary catches fails this page's version of it. */
  module: string;
  /** What to show instead once an error was caught. */
  fallback: ReactNode;
  children?: ReactNode;
}

/**
 * An error boundary around a module's components: shows `fallback` when they throw while
 * rendering, and reports the error to tranche as fatal for that module's version.
 */
export class TrancheBoundary extends Component<TrancheBoundaryProps, { failed: boolean }> {
  override state = { failed: false };

  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }

  override componentDidCatch(error: unknown, { componentStack }: ErrorInfo): void {
    // Not logged here: React's onCaughtError does (its default, or trancheRootOptions').
    this.props.tranche.reportError(error, { fatal: true, module: this.props.module, ...(componentStack && { componentStack }) });
  }

  override render(): ReactNode {
    return this.state.failed ? this.props.fallback : this.props.children;
  }
}

/**
 * Calls `tranche.ready()` once it has committed. Put it beside the module's components, inside
 * the same `Suspense`: it commits with them, after a lazy module has loaded and rendered.
 */
export function TrancheReady({ tranche }: { tranche: Tranche }): null {
  useEffect(() => {
    tranche.ready().catch((error: unknown) => console.warn(error));
  }, [tranche]);
  return null;
}

/** Props of `TrancheModule`. */
export interface TrancheModuleProps {
  tranche: Tranche;
  /** The module's name, as the page's import map names it (`counter`). */
  name: string;
  /** Imports it: `() => import('counter')`. Its default export is the component rendered. */
  load: () => Promise<{ default: ComponentType }>;
  /** What to show instead once it threw, or failed to load. */
  fallback: ReactNode;
  /** What to show while it loads. */
  loading?: ReactNode;
}

/** The lazy component of each module name: one per page, so a render never imports it again. */
const lazyModules = new Map<string, LazyExoticComponent<ComponentType>>();

/**
 * A module's component, the way a React app renders one: imported lazily (`load`, the first
 * time this module name renders), inside a `TrancheBoundary` that shows `fallback` and reports
 * a render or import error as fatal for the module's version, with a `TrancheReady` that calls
 * `tranche.ready()` once the component has committed.
 */
export function TrancheModule({ tranche, name, load, fallback, loading = null }: TrancheModuleProps): ReactNode {
  let Module = lazyModules.get(name);
  if (!Module) lazyModules.set(name, (Module = lazy(load)));
  return createElement(
    TrancheBoundary,
    { tranche, module: name, fallback },
    createElement(Suspense, { fallback: loading }, createElement(Module), createElement(TrancheReady, { tranche })),
  );
}
