/**
 * Server paging for long lists: the server hands out an opaque next-page token, so the pager
 * keeps the tokens of the pages already seen as a stack and "Previous" pops it. Lists stay as
 * long as one page however many sessions exist, which keeps a thousand-session account fast.
 */
import { useState } from "react";

/** The current page's token and moves; `reset` goes back to the first page (a new filter). */
export function usePageTokens() {
  const [stack, setStack] = useState<string[]>([""]);
  const token = stack[stack.length - 1] ?? "";
  return {
    token,
    index: stack.length - 1,
    next: (t: string) => setStack((s) => [...s, t]),
    previous: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset: () => setStack([""]),
  };
}

/** Previous / page n / Next, hidden when everything fits on one page. */
export function Pager({
  pages,
  nextToken,
  label,
}: {
  pages: ReturnType<typeof usePageTokens>;
  nextToken: string;
  label: string;
}) {
  if (pages.index === 0 && !nextToken) return null;
  return (
    <nav className="pager" aria-label={label}>
      <button
        type="button"
        className="btn btn-small"
        disabled={pages.index === 0}
        onClick={pages.previous}
      >
        Previous
      </button>
      <span className="muted small">Page {pages.index + 1}</span>
      <button
        type="button"
        className="btn btn-small"
        disabled={!nextToken}
        onClick={() => pages.next(nextToken)}
      >
        Next
      </button>
    </nav>
  );
}
