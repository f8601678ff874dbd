/**
 * An informer in the client-go sense, small enough to read: list once, then watch from the
 * list's resourceVersion and apply every event to an in-memory cache, so the driver answers
 * "what runs" from memory and learns of changes as they happen, with no polling loop.
 *
 * - Watches ask for bookmarks and a server-side timeout (jittered), so a quiet watch still moves
 *   its resourceVersion forward and ends cleanly every few minutes; it is resumed from the last
 *   resourceVersion seen. A client-side watchdog ends a watch that went silent past that time
 *   (a dead TCP connection sends nothing, not even an end).
 * - `410 Gone` (the resourceVersion fell out of the server's window) means events were missed:
 *   the cache is rebuilt from a fresh list, and the difference is delivered as added, modified
 *   and deleted events, so no listener misses a deletion that happened while it was blind.
 * - Other failures back off (0.5 s doubling to 30 s) and resume from the last resourceVersion.
 *
 * Objects are kept in a compact form (`transform`), which is what bounds the agent's memory at
 * a thousand sessions: full Pod objects are several kilobytes each.
 */
import { type Clock, sleep, systemClock, type TimerHandle } from "@streamspace/common/clock";
import type { Logger } from "@streamspace/common/log";
import type { KubeClients } from "../../ha/kubernetes-client.ts";

/** A raw object as the API sends it (only the metadata is read here). */
export interface RawObject {
  metadata?: { name?: string; resourceVersion?: string };
}

/** One page of a list call. */
export interface ListPage {
  items: RawObject[];
  metadata?: { resourceVersion?: string; _continue?: string };
}

/** What happened to a cached object. */
export type InformerEventType = "added" | "modified" | "deleted";

/** Called for every change; `item` is the new value, or the last one known for a deletion. */
export type InformerHandler<T> = (type: InformerEventType, item: T) => void;

/** What one informer watches and how it keeps objects. */
export interface KubeInformerOptions<T> {
  /** For logs: "deployments", "pods". */
  name: string;
  /** Collection path, e.g. /apis/apps/v1/namespaces/ns/deployments. */
  path: string;
  labelSelector: string;
  clients: Pick<KubeClients, "watch" | "requests">;
  /** One page of the collection (the typed list call of the right kind). */
  list(opts: { labelSelector: string; limit: number; _continue?: string }): Promise<ListPage>;
  transform(raw: RawObject): T;
  log: Logger;
  clock?: Clock;
  /** Server-side watch timeout, in seconds; each watch adds up to 20 % jitter. */
  watchTimeoutS?: number;
}

interface Entry<T> {
  rv: string;
  value: T;
}

const PAGE = 500;

/** A list+watch cache of one kind of object. */
export class KubeInformer<T> {
  private items = new Map<string, Entry<T>>();
  private rv = "";
  private stopped = false;
  private controller: AbortController | undefined;
  private readonly handlers = new Set<InformerHandler<T>>();
  private readonly clock: Clock;
  private paused: Promise<void> | undefined;
  private resumePaused: (() => void) | undefined;
  /** How many full lists were made (the first one, and one per 410 Gone). */
  relists = 0;
  /** How many watches were opened. */
  watches = 0;

  constructor(private readonly opts: KubeInformerOptions<T>) {
    this.clock = opts.clock ?? systemClock;
  }

  /** Lists, then watches in the background; resolves once the cache holds the first list. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      void this.run((err) => (err ? reject(err) : resolve()));
    });
  }

  get(name: string): T | undefined {
    return this.items.get(name)?.value;
  }

  values(): T[] {
    return [...this.items.values()].map((e) => e.value);
  }

  get size(): number {
    return this.items.size;
  }

  /** The resourceVersion the next watch resumes from. */
  get resourceVersion(): string {
    return this.rv;
  }

  on(handler: InformerHandler<T>): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
    this.resumePaused?.();
  }

  /**
   * Tests: ends the current watch and opens no other until resume(). Changes made meanwhile
   * reach the cache only through the resumed watch (or a relist when it answers 410 Gone).
   */
  pause(): void {
    this.paused ??= new Promise((r) => {
      this.resumePaused = r;
    });
    this.controller?.abort();
  }

  /** Tests: resumes watching, optionally from a resourceVersion the server has forgotten. */
  resume(fromResourceVersion?: string): void {
    if (fromResourceVersion !== undefined) this.rv = fromResourceVersion;
    const r = this.resumePaused;
    this.paused = undefined;
    this.resumePaused = undefined;
    r?.();
  }

  private emit(type: InformerEventType, item: T): void {
    for (const h of this.handlers) {
      try {
        h(type, item);
      } catch (err) {
        this.opts.log.error("informer handler failed", { informer: this.opts.name, err });
      }
    }
  }

  private async run(listed: (err?: unknown) => void): Promise<void> {
    let first = true;
    let backoff = 500;
    while (!this.stopped) {
      try {
        if (this.paused) await this.paused;
        if (this.stopped) break;
        if (!this.rv) await this.relist();
        if (first) {
          first = false;
          listed();
        }
        const opened = this.clock.now();
        let outcome = await this.watchOnce();
        // A watch that ends at once without a word is a failure in disguise: back off, never spin.
        if (
          outcome === "ended" &&
          this.clock.now() - opened < 1_000 &&
          !this.paused &&
          !this.stopped
        )
          outcome = "error";
        if (outcome === "gone") {
          this.opts.log.info("watch expired (410 Gone); listing again", {
            informer: this.opts.name,
          });
          this.rv = "";
          continue;
        }
        if (outcome === "ended") {
          backoff = 500;
          continue;
        }
      } catch (err) {
        if (first) {
          listed(err);
          return;
        }
        this.opts.log.warn("list failed; retrying", { informer: this.opts.name, err });
      }
      if (this.stopped) break;
      await sleep(this.clock, backoff * (0.8 + Math.random() * 0.4));
      backoff = Math.min(backoff * 2, 30_000);
    }
  }

  private async relist(): Promise<void> {
    const fresh = new Map<string, Entry<T>>();
    let cont: string | undefined;
    let rv = "";
    do {
      this.opts.clients.requests.add("LIST");
      const page = await this.opts.list({
        labelSelector: this.opts.labelSelector,
        limit: PAGE,
        _continue: cont,
      });
      for (const raw of page.items) {
        const name = raw.metadata?.name;
        if (name)
          fresh.set(name, {
            rv: raw.metadata?.resourceVersion ?? "",
            value: this.opts.transform(raw),
          });
      }
      cont = page.metadata?._continue || undefined;
      rv = page.metadata?.resourceVersion ?? rv;
    } while (cont);
    this.relists++;
    const old = this.items;
    this.items = fresh;
    this.rv = rv;
    for (const [name, e] of fresh) {
      const before = old.get(name);
      if (!before) this.emit("added", e.value);
      else if (before.rv !== e.rv) this.emit("modified", e.value);
    }
    for (const [name, e] of old) if (!fresh.has(name)) this.emit("deleted", e.value);
  }

  private apply(type: string, raw: RawObject): void {
    const name = raw.metadata?.name;
    if (!name) return;
    if (type === "DELETED") {
      const before = this.items.get(name);
      this.items.delete(name);
      this.emit("deleted", before?.value ?? this.opts.transform(raw));
      return;
    }
    const existed = this.items.has(name);
    const value = this.opts.transform(raw);
    this.items.set(name, { rv: raw.metadata?.resourceVersion ?? "", value });
    this.emit(existed ? "modified" : "added", value);
  }

  private watchOnce(): Promise<"gone" | "ended" | "error"> {
    const base = this.opts.watchTimeoutS ?? 300;
    const timeoutSeconds = Math.round(base * (1 + Math.random() * 0.2));
    return new Promise((resolve) => {
      let done = false;
      let gone = false;
      let watchdog: TimerHandle | undefined;
      const finish = (o: "gone" | "ended" | "error") => {
        if (done) return;
        done = true;
        if (watchdog) this.clock.clearTimeout(watchdog);
        resolve(o);
      };
      watchdog = this.clock.setTimeout(
        () => {
          this.opts.log.warn("watch went silent; reopening it", { informer: this.opts.name });
          this.controller?.abort();
          finish("ended");
        },
        (timeoutSeconds + 30) * 1000,
      );
      this.watches++;
      this.opts.clients.requests.add("WATCH");
      this.opts.clients.watch
        .watch(
          this.opts.path,
          {
            resourceVersion: this.rv,
            allowWatchBookmarks: true,
            labelSelector: this.opts.labelSelector,
            timeoutSeconds,
          },
          (type: string, obj: RawObject & { code?: number; message?: string }) => {
            if (done) return;
            if (type === "ERROR") {
              if (obj.code === 410) gone = true;
              else
                this.opts.log.warn("watch error", { informer: this.opts.name, error: obj.message });
              return;
            }
            const rv = obj.metadata?.resourceVersion;
            if (rv) this.rv = rv;
            if (type !== "BOOKMARK") this.apply(type, obj);
          },
          (err: unknown) => {
            if (gone || (err as { statusCode?: number })?.statusCode === 410) finish("gone");
            else if (err && !this.stopped && !this.paused) {
              this.opts.log.warn("watch failed", { informer: this.opts.name, err });
              finish("error");
            } else finish("ended");
          },
        )
        .then(
          (c: AbortController) => {
            this.controller = c;
            if (this.stopped || this.paused || done) c.abort();
          },
          () => finish("error"),
        );
    });
  }
}
