/**
 * A pg Pool whose every query has a deadline, for the serving side of a pod.
 *
 * Why: a network partition leaves a pod's Postgres sockets silent rather than closed. A query
 * in flight on such a socket is bounded only by TCP retransmission (many minutes), TCP
 * keepalive does not probe a socket with unacknowledged data, and pg hands the client back to
 * the pool after its own `query_timeout` with the query still outstanding, so the next caller
 * queues behind it. Once every client is stuck this way, the pod hangs until its sockets die,
 * long after the network has healed.
 *
 * The deadlines, from the inside out:
 *  - `statement_timeout` (server side): a statement that runs too long (a lock wait behind a
 *    cut-off pod, say) is cancelled by Postgres and answers SQLSTATE 57014;
 *  - `query_timeout` (client side, a little longer, so the server's answer wins while it can
 *    still be heard): a query with no answer fails with "Query read timeout";
 *  - a client whose query failed for any reason other than an answer from the server (a
 *    timeout, a reset, a closed connection) is released *with* the error, so the pool closes it
 *    (destroying the socket, since a query is outstanding) and the next caller gets a fresh
 *    connection instead of a silent one;
 *  - a connection that dies while its client is lent out (Postgres restarted, the backend
 *    terminated) is an error for that client's caller, never an uncaught exception;
 *  - `idle_in_transaction_session_timeout`: a pod cut off inside a transaction does not hold its
 *    row locks on the server for ever;
 *  - `connectionTimeoutMillis` bounds both a connection attempt and the wait for a free client;
 *    TCP keepalive finds idle sockets that died.
 *
 * A pooler in between (PgBouncer) may refuse the two server-side settings as startup
 * parameters ("unsupported startup parameter", SQLSTATE 08P01). Then the pool reconnects
 * without them and keeps the client-side deadline; the pooler's own `query_timeout` and
 * `idle_transaction_timeout` take the server side's place (the Helm chart sets both).
 *
 * Migrations do not use this pool (app/storage.ts runs them over a pool without deadlines), so
 * a long `CREATE INDEX` is never cut short.
 */
import type { PostgresPool, PostgresPoolClient } from "kysely";
import pg from "pg";

/** Server-side statement deadline when none is given; pod queries are short OLTP work. */
export const DEFAULT_QUERY_TIMEOUT_MS = 15_000;

/** How much longer the client waits than the server, so a cancelled statement is heard. */
const CLIENT_GRACE_MS = 2_000;

export interface DeadlinePoolOptions {
  connectionString: string;
  max: number;
  /** The statement deadline; 0 turns every deadline here off (migrations). */
  queryTimeoutMs: number;
}

/** The pg settings for the given deadline; `serverSide` false leaves out startup parameters. */
function poolConfig(opts: DeadlinePoolOptions, serverSide = true): pg.PoolConfig {
  const t = opts.queryTimeoutMs;
  return {
    connectionString: opts.connectionString,
    max: opts.max,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    connectionTimeoutMillis: 10_000,
    ...(t > 0 && { query_timeout: t + CLIENT_GRACE_MS }),
    ...(t > 0 &&
      serverSide && {
        statement_timeout: t,
        idle_in_transaction_session_timeout: Math.max(t * 2, 10_000),
      }),
  };
}

/**
 * True when the server answered with an error that leaves the session usable (a constraint, a
 * cancelled statement). A FATAL or PANIC answer (the backend terminated, the server shutting
 * down) comes just before the server closes the connection; anything that is not an answer at
 * all (a timeout, a reset) leaves the connection in an unknown state.
 */
function answeredOnALiveConnection(err: unknown): boolean {
  return err instanceof pg.DatabaseError && err.severity !== "FATAL" && err.severity !== "PANIC";
}

/** A pooler refusing our startup parameters (PgBouncer without them in its ignore list). */
function refusesStartupParameters(err: unknown): boolean {
  return (
    err instanceof pg.DatabaseError &&
    err.code === "08P01" &&
    /unsupported startup parameter/i.test(err.message)
  );
}

/** A pg Pool, seen by Kysely, that drops a client once its connection can no longer be trusted. */
export function createDeadlinePool(opts: DeadlinePoolOptions): PostgresPool {
  const open = (serverSide: boolean) => {
    const p = new pg.Pool(poolConfig(opts, serverSide));
    // An idle client losing its connection must not crash the process; the pool replaces it.
    p.on("error", () => {});
    return p;
  };
  let pool = open(true);
  let serverSide = true;
  const checkout = async (): Promise<pg.PoolClient> => {
    try {
      return await pool.connect();
    } catch (err) {
      if (!refusesStartupParameters(err)) throw err;
      // Several checkouts may fail at once; the first swaps the pool, all retry on the new one.
      if (serverSide) {
        const old = pool;
        serverSide = false;
        pool = open(false);
        void old.end().catch(() => {});
      }
      return pool.connect();
    }
  };
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await checkout();
      let broken: Error | undefined;
      // pg emits "error" on a checked-out client whose connection dies (after failing its
      // query); the pool listens only while the client is idle, and an "error" nobody listens
      // to is an uncaught exception that ends the process. Listen while it is lent out.
      const onError = (err: Error) => {
        broken = err;
      };
      client.on("error", onError);
      // Kysely passes a cursor only when the dialect is given one; this pool's is not.
      // Once broken, the rest of the caller's work (a transaction's ROLLBACK) fails at once
      // instead of queueing behind the query that got no answer for another deadline.
      const query = ((sql: string, parameters: ReadonlyArray<unknown>) =>
        broken
          ? Promise.reject(broken)
          : client.query(sql, [...parameters]).catch((err: unknown) => {
              if (!answeredOnALiveConnection(err)) {
                broken = err instanceof Error ? err : new Error(String(err));
              }
              throw err;
            })) as unknown as PostgresPoolClient["query"];
      return {
        query,
        release: () => {
          client.off("error", onError);
          client.release(broken);
        },
      };
    },
    end: () => pool.end(),
  };
}
