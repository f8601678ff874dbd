/**
 * Every List call of the API pages the same way (page_size, page_token → next_page_token, empty
 * when done), so one helper walks them all: callers iterate items and never handle tokens.
 */

/** One page of a List call. */
export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/**
 * Yields every item of every page, fetching the next page only when the caller has consumed
 * the current one (a `break` stops the walk with no further request).
 */
export async function* paginate<T>(
  fetchPage: (pageToken: string) => Promise<Page<T>>,
  opts: { limit?: number } = {},
): AsyncGenerator<T, void, undefined> {
  let token = "";
  let left = opts.limit ?? Number.POSITIVE_INFINITY;
  do {
    const page = await fetchPage(token);
    for (const item of page.items) {
      if (left-- <= 0) return;
      yield item;
    }
    if (page.nextPageToken && page.nextPageToken === token) {
      throw new Error("The server returned the same page token twice; stopping to avoid a loop.");
    }
    token = page.nextPageToken;
  } while (token);
}

/** Collects `paginate` into an array (mind the size: ListSessions may hold 100,000 rows). */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
