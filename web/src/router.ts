/**
 * A hash router: `#/sessions`, `#/view/{id}`. Hash routes need no server fallback, so the
 * control plane's static handler can stay a plain file server and deep links still work.
 */
import { useEffect, useState } from "react";

export type Route =
  | { page: "sessions" }
  | { page: "launch" }
  | { page: "viewer"; sessionId: string }
  | { page: "agents" }
  | { page: "templates" }
  | { page: "audit" }
  | { page: "console" }
  | { page: "users" }
  | { page: "api-keys" }
  | { page: "quality" };

/** Parses a location hash; anything unknown lands on the sessions page. */
export function parseRoute(hash: string): Route {
  // A query after the path (`#/console?size=100`) is the page's own business.
  const path = hash.replace(/^#\/?/, "").split("?")[0] ?? "";
  const parts = path.split("/").filter(Boolean);
  switch (parts[0]) {
    case "launch":
      return { page: "launch" };
    case "view":
      return parts[1]
        ? { page: "viewer", sessionId: decodeURIComponent(parts[1]) }
        : { page: "sessions" };
    case "agents":
      return { page: "agents" };
    case "templates":
      return { page: "templates" };
    case "audit":
      return { page: "audit" };
    case "console":
      return { page: "console" };
    case "users":
      return { page: "users" };
    case "api-keys":
      return { page: "api-keys" };
    case "quality":
      return { page: "quality" };
    default:
      return { page: "sessions" };
  }
}

/** The href for a route, for links and `navigate`. */
export function hrefOf(route: Route): string {
  return route.page === "viewer"
    ? `#/view/${encodeURIComponent(route.sessionId)}`
    : `#/${route.page}`;
}

export function navigate(route: Route): void {
  location.hash = hrefOf(route);
}

/** The current route, updated on every hash change. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
