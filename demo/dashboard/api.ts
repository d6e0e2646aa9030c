/**
 * The JSON the demo server's dashboard endpoints speak (demo/dashboardApi.ts answers them),
 * shared by the server and the dashboard page so both ends agree on every field.
 */
import type { PublishResult, StoreStatus } from '../../src/release/index.js';
import type { FleetHealth } from '../../src/release/health.js';
import type { Plan } from '../../src/release/plans.js';
import type { TimelinePoint, VersionFigures } from '../../src/collector/index.js';

/** GET /api/state */
export interface DashboardState {
  /** What `tranche status --json` prints. */
  status: StoreStatus;
  /** Every released version per module, newest first: what the buttons can roll out. */
  released: Record<string, string[]>;
  /** The collector's figures per module@version over the last `figuresWindowMs`. */
  stats: VersionFigures[];
  /** What `tranche status --health --json` prints over the same window: each version beside the stable. */
  health: FleetHealth;
  figuresWindowMs: number;
  /** Events per `chart.bucketMs`, type and module@version from `chart.from` to `chart.to` (epoch ms), for the charts. */
  timeline: TimelinePoint[];
  /** The charts' time axis: always the recent window up to now, whatever the data. */
  chart: { from: number; to: number; bucketMs: number };
  /** Every module's ramp plan (tranche rollout --plan), with its decisions. */
  plans: Plan[];
  /** Manifests clients refused over the figures' window, by reason (they name no module). */
  rejections: Record<string, number>;
}

/** POST /api/actions: the same operations as the CLI verbs of the same names. */
export type DashboardAction =
  | { verb: 'rollout'; module: string; version: string; percent: number }
  | { verb: 'promote'; module: string; version: string }
  | { verb: 'pause' | 'resume'; module: string }
  | { verb: 'rollback'; module: string; to?: string };

/** The answer to POST /api/actions: what the release code did, or why it refused (HTTP 400). */
export type ActionResult = PublishResult | { error: string };
