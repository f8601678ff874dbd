/**
 * SessionService in domain terms, called by Connect and tRPC alike. Every write is one
 * transaction that changes the session, appends its event and writes the outbox command the
 * change needs (DESIGN.md §3.2); watchers and the gateway hear about it only after commit.
 */
import { randomUUID } from "node:crypto";
import { canSeeSession, requireUser, sessionNotFound, type UserPrincipal } from "./access.ts";
import { ChangeQueue } from "./change-queue.ts";
import { buildCommand } from "./commands.ts";
import { decodeSessionToken, encodeToken } from "./cursor.ts";
import { failedPrecondition, invalidArgument, notFound, permissionDenied } from "./errors.ts";
import type {
  NewSession,
  OutboxNotifier,
  SessionChange,
  SessionChangeBus,
  Store,
} from "./ports.ts";
import type { Principal } from "./principal.ts";
import { viewerPath } from "./proto-mapping.ts";
import { schedule } from "./scheduler.ts";
import { type SessionOperation, targetOf } from "./session-state.ts";
import { transition } from "./session-transition.ts";
import type { Session } from "./types.ts";
import { DEFAULT_PAGE_SIZE, parse, schemas } from "./validation.ts";

/** Signs viewer tokens (auth/viewer-tokens.ts's ViewerTokenSigner satisfies it). */
export interface ViewerTokenPort {
  signViewerToken(a: {
    userId: string;
    sessionId: string;
    agentId: string;
  }): Promise<{ token: string; expiresAt: Date }>;
}

export interface SessionServiceDeps {
  store: Store;
  bus: SessionChangeBus;
  notifier?: OutboxNotifier;
  viewerTokens?: ViewerTokenPort;
  now?: () => Date;
  /** Largest backlog a single watcher may build before it is cut (default 1024). */
  watchBuffer?: number;
  /**
   * W3C trace context of the request being served, stored in each command so the agent's
   * work joins the caller's trace (DESIGN.md §8); absent means commands carry none.
   */
  traceContext?: () => Record<string, string>;
}

/** A page of sessions as both transports return it. */
export interface SessionPage {
  sessions: Session[];
  nextPageToken: string;
}

/** Builds the service; see the file comment for the transaction rule. */
export function createSessionService(deps: SessionServiceDeps) {
  const { store, bus } = deps;
  const now = deps.now ?? (() => new Date());
  const notify = (agentId: string) => deps.notifier?.commandsEnqueued(agentId);
  const traceContext = deps.traceContext ?? (() => ({}));

  const getVisible = async (p: UserPrincipal, id: string) => {
    const s = await store.sessions.get(id);
    if (!s || !canSeeSession(p, s)) throw sessionNotFound(id);
    return s;
  };

  async function operate(principal: Principal, input: unknown, op: SessionOperation) {
    const p = requireUser(principal);
    const { id } = parse(schemas.sessionId, input);
    const { session, command } = await store.transaction(async (tx) => {
      const s = await tx.sessions.get(id, { forUpdate: true });
      if (!s || !canSeeSession(p, s)) throw sessionNotFound(id);
      if (op === "stop" && (s.state === "stopping" || s.state === "stopped")) {
        return { session: s, command: undefined, unchanged: true };
      }
      if (op === "stop" && (s.state === "pending" || !s.agentId)) {
        const stopped = await transition(tx, s, "stopped", {
          reason: "stopped before an agent ran it",
          actor: p.userId,
          force: !s.agentId,
        });
        return { session: stopped, command: undefined };
      }
      const to = targetOf(op, id, s.state);
      const updated = await transition(tx, s, to, { reason: `${op} requested`, actor: p.userId });
      const kind = `${op}_session` as const;
      const command = buildCommand({ kind, session: updated }, now(), traceContext());
      await tx.commands.insert(command);
      return { session: updated, command };
    });
    if (command) {
      bus.publish({ session, deleted: false });
      notify(command.agentId);
    }
    return session;
  }

  return {
    /** Schedules onto an agent and enqueues StartSession, all in one transaction. */
    async create(principal: Principal, input: unknown): Promise<Session> {
      const p = requireUser(principal);
      const req = parse(schemas.createSession, stripUndefined(input));
      const template = await store.templates.find(req.template);
      if (!template) {
        throw notFound(
          `Template ${req.template} does not exist; ListTemplates shows the templates you can launch.`,
        );
      }
      const id = randomUUID();
      const session = await schedule(store, template, req.region, req.labels, (agent) => {
        const draft: NewSession = {
          id,
          ownerId: p.userId,
          templateId: template.id,
          agentId: agent.id,
          state: "scheduled",
          stateReason: "scheduled",
          displayName: req.displayName || template.displayName || template.name,
          resources: template.resources,
          holdsCapacity: true,
        };
        const command = buildCommand(
          { kind: "start_session", session: draftSession(draft), template },
          now(),
          traceContext(),
        );
        return store.sessions.insertScheduled(draft, p.userId, command);
      });
      bus.publish({ session, deleted: false });
      notify(session.agentId);
      return session;
    },

    async get(principal: Principal, input: unknown): Promise<Session> {
      const p = requireUser(principal);
      const { id } = parse(schemas.sessionId, input);
      return getVisible(p, id);
    },

    /** Newest first. Users are confined to their own sessions; an explicit foreign owner is refused. */
    async list(principal: Principal, input: unknown): Promise<SessionPage> {
      const p = requireUser(principal);
      const req = parse(schemas.listSessions, stripUndefined(input));
      let ownerId = req.ownerId;
      if (req.mine) {
        if (ownerId && ownerId !== p.userId) {
          throw invalidArgument(
            "owner_id: names someone else while mine is set; send one or the other.",
          );
        }
        ownerId = p.userId;
      }
      if (p.role === "user") {
        if (ownerId && ownerId !== p.userId) {
          throw permissionDenied(
            "You can list only your own sessions; leave owner_id empty or set it to your user id.",
          );
        }
        ownerId = p.userId;
      }
      const limit = req.pageSize || DEFAULT_PAGE_SIZE;
      const { items, last } = await store.sessions.list({
        limit,
        before: decodeSessionToken(req.pageToken),
        states: req.states,
        ownerId: ownerId || undefined,
        agentId: req.agentId || undefined,
        templateId: req.templateId || undefined,
      });
      const nextPageToken =
        items.length === limit && last ? encodeToken("s", [last.createTime, last.id]) : "";
      return { sessions: items, nextPageToken };
    },

    stop: (p: Principal, input: unknown) => operate(p, input, "stop"),
    hibernate: (p: Principal, input: unknown) => operate(p, input, "hibernate"),
    wake: (p: Principal, input: unknown) => operate(p, input, "wake"),

    /**
     * Idle hibernation (session-activity.ts): the system, not a user, hibernates a session
     * nobody used for its template's idle timeout. False when it is no longer running.
     */
    async hibernateIdle(id: string, reason: string): Promise<boolean> {
      const out = await store.transaction(async (tx) => {
        const s = await tx.sessions.get(id, { forUpdate: true });
        if (s?.state !== "running" || !s.agentId) return undefined;
        const updated = await transition(tx, s, "hibernating", { reason, actor: "system" });
        const command = buildCommand(
          { kind: "hibernate_session", session: updated },
          now(),
          traceContext(),
        );
        await tx.commands.insert(command);
        return { session: updated, command };
      });
      if (!out) return false;
      bus.publish({ session: out.session, deleted: false });
      notify(out.command.agentId);
      return true;
    },

    /**
     * Removes a finished session at once; a live one is stopped first (StopSession in the same
     * transaction) and its row goes when the agent reports it stopped.
     */
    async delete(principal: Principal, input: unknown): Promise<void> {
      const p = requireUser(principal);
      const { id } = parse(schemas.sessionId, input);
      const out = await store.transaction(async (tx) => {
        const s = await tx.sessions.get(id, { forUpdate: true });
        if (!s || !canSeeSession(p, s)) throw sessionNotFound(id);
        const gone = s.state === "stopped" || s.state === "pending" || !s.agentId;
        if (gone) {
          if (s.holdsCapacity && s.agentId) await tx.agents.release(s.agentId);
          await tx.sessions.delete(id);
          return { change: { session: s, deleted: true } as SessionChange, agentId: undefined };
        }
        if (s.state === "stopping") {
          const u = await transition(tx, s, "stopping", {
            reason: "delete requested",
            actor: p.userId,
            deleteRequested: true,
            force: true,
          });
          return { change: { session: u, deleted: false }, agentId: undefined };
        }
        const u = await transition(tx, s, "stopping", {
          reason: "delete requested",
          actor: p.userId,
          deleteRequested: true,
        });
        const cmd = buildCommand({ kind: "stop_session", session: u }, now(), traceContext());
        await tx.commands.insert(cmd);
        return { change: { session: u, deleted: false }, agentId: cmd.agentId };
      });
      bus.publish(out.change);
      if (out.agentId) notify(out.agentId);
    },

    /** A single-use viewer token; only a running session can be viewed. */
    async createViewerToken(principal: Principal, input: unknown) {
      const p = requireUser(principal);
      const { sessionId: id } = parse(schemas.viewerToken, input);
      const s = await getVisible(p, id);
      if (s.state !== "running") {
        throw failedPrecondition(
          `Session ${id} is ${s.state}; a viewer can connect only to a running session. Wait until it is running, then ask again.`,
        );
      }
      if (!deps.viewerTokens) throw new Error("viewer token signer is not configured");
      const t = await deps.viewerTokens.signViewerToken({
        userId: p.userId,
        sessionId: s.id,
        agentId: s.agentId,
      });
      return { token: t.token, expireTime: t.expiresAt, viewerPath: viewerPath(s.id) };
    },

    /**
     * Changes the caller may see, from now until the signal aborts. With a session id, the
     * current state comes first so a client never misses the change that happened just before.
     */
    async *watch(
      principal: Principal,
      input: unknown,
      signal: AbortSignal,
    ): AsyncIterable<SessionChange> {
      const p = requireUser(principal);
      const { sessionId } = parse(schemas.watchSessions, stripUndefined(input));
      const queue = new ChangeQueue<SessionChange>(deps.watchBuffer ?? 1024, signal);
      const off = bus.subscribe((c) => {
        if (sessionId && c.session.id !== sessionId) return;
        if (canSeeSession(p, c.session)) queue.push(c);
      });
      try {
        if (sessionId) yield { session: await getVisible(p, sessionId), deleted: false };
        yield* queue;
      } finally {
        off();
        queue.close();
      }
    },
  };
}

/** The service's type, for wiring (Connect handlers, tRPC deps, tests). */
export type SessionService = ReturnType<typeof createSessionService>;

function stripUndefined(input: unknown): Record<string, unknown> {
  if (!input || typeof input !== "object") return {};
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
}

/** The fields buildCommand reads, before the row exists. */
function draftSession(d: NewSession): Session {
  const t = new Date(0);
  return {
    ...d,
    agentId: d.agentId ?? "",
    version: 1,
    vncEndpoint: "",
    deleteRequested: false,
    createTime: t,
    updateTime: t,
  };
}
