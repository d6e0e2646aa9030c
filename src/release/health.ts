/**
 * Fleet health (`tranche status --health`, the demo dashboard): per live version of each module,
 * what clients reported over one window, beside the module's stable version over the same window.
 */
import type { TimeWindow, VersionFigures } from '../collector/Collector.js';
import { emptyFigures } from '../collector/Collector.js';
import type { Plan } from './plans.js';
import type { StoreStatus } from './ReleaseStore.js';

/** One version's figures and the rates a release engineer decides on. */
export interface VersionHealth extends VersionFigures {
  /** `stable`, `rollout <p>%`, or for a plan's version no longer live `rolled back` (blocked) or `plan <state>`. */
  role: string;
  /** Healthy boots per page load. */
  healthyBootRate: number | null;
  /** Runtime errors per page load. */
  errorsPerPageLoad: number | null;
  /** Client fallbacks per active client. */
  fallbackRate: number | null;
  /** The most frequent fallback reasons, most first. */
  topReasons: Array<[string, number]>;
}

/** A module's live versions (stable first, then rollouts, then a plan's version no longer live) and its plan, if it has one. */
export interface ModuleHealth {
  stable: string;
  paused: boolean;
  versions: VersionHealth[];
  plan?: Pick<Plan, 'version' | 'state' | 'steps' | 'step' | 'reason'> & { lastDecision?: Plan['decisions'][number] };
}

export interface FleetHealth {
  window: TimeWindow;
  modules: Record<string, ModuleHealth>;
}

const ratio = (n: number, of: number) => (of > 0 ? n / of : null);

function versionHealth(f: VersionFigures, role: string): VersionHealth {
  return {
    ...f,
    role,
    healthyBootRate: ratio(f.healthyBoots, f.pageLoads),
    errorsPerPageLoad: ratio(f.runtimeErrors, f.pageLoads),
    fallbackRate: ratio(f.fallbacks, f.activeClients),
    topReasons: Object.entries(f.fallbackReasons)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3),
  };
}

/** Health of every module in `status` from `figures` (over `window`), with each module's plan. */
export function fleetHealth(status: StoreStatus, figures: VersionFigures[], window: TimeWindow, plans: Plan[]): FleetHealth {
  const modules: Record<string, ModuleHealth> = {};
  for (const [name, mod] of Object.entries(status.modules)) {
    const of = (version: string) => figures.find((f) => f.module === name && f.version === version) ?? emptyFigures(name, version);
    const plan = plans.find((p) => p.module === name);
    modules[name] = {
      stable: mod.stable,
      paused: mod.paused,
      versions: [
        versionHealth(of(mod.stable), 'stable'),
        ...mod.rollouts.map((r) => versionHealth(of(r.version), `rollout ${r.percent}%`)),
        // A plan's version that is no longer live (rolled back): its figures say why.
        ...(plan && plan.version !== mod.stable && !mod.rollouts.some((r) => r.version === plan.version)
          ? [versionHealth(of(plan.version), mod.blocked.includes(plan.version) ? 'rolled back' : `plan ${plan.state}`)]
          : []),
      ],
      ...(plan
        ? {
            plan: {
              version: plan.version,
              state: plan.state,
              steps: plan.steps,
              step: plan.step,
              ...(plan.reason ? { reason: plan.reason } : {}),
              ...(plan.decisions.length ? { lastDecision: plan.decisions.at(-1)! } : {}),
            },
          }
        : {}),
    };
  }
  return { window, modules };
}
