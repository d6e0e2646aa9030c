/**
 * Runs `fn` over `items` with at most `limit` calls in flight, keeping results in input order.
 * Bounded so that ingesting or verifying 100,000 files neither runs out of file descriptors nor
 * serialises on one disk round trip at a time.
 */
export async function mapConcurrent<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
