/**
 * Sample statistics and side-by-side rounds. Variants run interleaved, one round of each in
 * turn, so whatever the machine does meanwhile (another process, a GC, thermal throttling) hits
 * every variant alike; medians keep a stray slow round from moving a figure.
 */

/** The median of `samples` (the mean of the middle two for an even count). */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error('median of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The median of the round-by-round ratios `a[i] / b[i]` of two variants' samples from the same
 * `interleave` run. Rounds of A and B run back to back, so a ratio compares them under the same
 * machine load; a load that drifts over the run (other processes on the machine) cancels out,
 * which a ratio of the two medians would not do.
 */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error(`paired ratio of ${a.length} and ${b.length} samples`);
  return median(a.map((x, i) => x / b[i]!));
}

/** One variant of a side-by-side measure: a round returns one sample (e.g. milliseconds). */
export type Round<T = number> = () => Promise<T>;

/**
 * Runs `warmup` unrecorded rounds and then `rounds` recorded ones of every variant, interleaved
 * in a fixed order (A B C A B C …), so every sample of a variant is taken right after another
 * variant ran. (Rotating the order made a variant run twice in a row every other round: with
 * two variants the second run of a pair was faster, "warm", and the round-by-round ratios
 * alternated between two values, so their median jumped between runs.) Returns each variant's
 * samples, index i from round i.
 */
export async function interleave<K extends string, T = number>(
  variants: Record<K, Round<T>>,
  rounds: number,
  warmup = 2,
): Promise<Record<K, T[]>> {
  const names = Object.keys(variants) as K[];
  const samples = Object.fromEntries(names.map((n) => [n, [] as T[]])) as Record<K, T[]>;
  for (let round = 0; round < warmup + rounds; round++) {
    for (const name of names) {
      const sample = await variants[name]();
      if (round >= warmup) samples[name].push(sample);
    }
  }
  return samples;
}

/** Runs `round` `warmup + rounds` times and returns the recorded samples. */
export async function repeat<T = number>(round: Round<T>, rounds: number, warmup = 1): Promise<T[]> {
  return (await interleave({ only: round }, rounds, warmup)).only;
}
