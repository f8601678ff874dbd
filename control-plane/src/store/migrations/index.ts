/**
 * Every migration, in order, defined in code so the Migrator needs no folder scan (which would
 * break under tsx and bundlers alike). Append one line per new migration; never reorder.
 */
import type { Migration } from "kysely";
import * as core from "./0001-core.ts";
import * as auth from "./0002-auth.ts";
import * as loginThrottle from "./0003-login-throttle.ts";
import * as outboxUnfinished from "./0004-outbox-unfinished-index.ts";
import * as auditCalls from "./0005-audit-calls.ts";
import * as desktopsTemplates from "./0006-desktops-templates.ts";
import * as agentPlatformProblem from "./0007-agent-platform-problem.ts";

/** Keys sort lexically; the numeric prefix fixes the order. */
export const migrations: Record<string, Migration> = {
  "0001-core": core,
  "0002-auth": auth,
  "0003-login-throttle": loginThrottle,
  "0004-outbox-unfinished-index": outboxUnfinished,
  "0005-audit-calls": auditCalls,
  "0006-desktops-templates": desktopsTemplates,
  "0007-agent-platform-problem": agentPlatformProblem,
};
