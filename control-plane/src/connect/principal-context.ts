/**
 * The context key that carries who is calling from the auth interceptor to the handlers. It
 * lives apart from both so the auth interceptor and the core handlers agree on one key without
 * importing each other; an unauthenticated call simply sees ANONYMOUS.
 */
import { createContextKey } from "@connectrpc/connect";
import { ANONYMOUS, type Principal } from "../domain/principal.ts";

/** Set by the auth interceptor, read by every handler; defaults to ANONYMOUS. */
export const principalKey = createContextKey<Principal>(ANONYMOUS, {
  description: "the authenticated caller",
});
