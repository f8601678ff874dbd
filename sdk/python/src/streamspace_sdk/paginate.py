"""Every List call pages the same way (page_size, page_token -> next_page_token, empty when
done), so one generator walks them all and callers never handle tokens."""

from __future__ import annotations

from typing import Callable, Iterator, Optional, TypeVar

T = TypeVar("T")


def paginate(fetch: Callable[[str], tuple[list[T], str]],
             limit: Optional[int] = None) -> Iterator[T]:
    """Yields every item of every page; the next page is fetched only when the caller has
    consumed the current one, so stopping early sends no further request."""
    token = ""
    left = limit
    while True:
        items, next_token = fetch(token)
        for item in items:
            if left is not None:
                if left <= 0:
                    return
                left -= 1
            yield item
        if not next_token:
            return
        if next_token == token:
            raise RuntimeError("The server returned the same page token twice; stopping.")
        token = next_token
