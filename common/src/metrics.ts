/**
 * Prometheus metrics on prom-client, one registry per process part (tests make many), always
 * with prom-client's default process, GC and event-loop metrics: when a pod is slow, the first
 * question is whether it was CPU, GC or a blocked loop, and the answer must already be there.
 *
 * Two ways to feed a metric, chosen per metric:
 * * push: `counter.inc()`, `gauge.set()`, `histogram.observe()` where the event happens;
 * * pull: `collect` reads a live value at scrape time, so nothing has to remember to update it
 *   and hot paths (bytes per chunk) bump a plain number instead of hashing labels.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Label values by label name. */
export type Labels = Record<string, string | number>;

/** A value read at scrape time: one unlabelled number, or one number per label set. */
export type Collect = () =>
  | number
  | Iterable<readonly [Labels, number]>
  | Promise<number | Iterable<readonly [Labels, number]>>;

export interface MetricOptions {
  /** Label names this metric is split by. */
  labels?: readonly string[];
  /** Reads the value(s) at scrape time, replacing whatever was set or counted before. */
  collect?: Collect;
}

export interface HistogramOptions {
  labels?: readonly string[];
  /** Upper bounds, in the metric's unit (seconds, by Prometheus convention). */
  buckets?: readonly number[];
}

/** One process's metrics: create metrics here, serve `text()` on /metrics. */
export interface Metrics {
  readonly registry: Registry;
  /** Registers (or returns the already registered) counter called `name`. */
  counter(name: string, help: string, opts?: MetricOptions): Counter;
  /** Registers (or returns the already registered) gauge called `name`. */
  gauge(name: string, help: string, opts?: MetricOptions): Gauge;
  /** Registers (or returns the already registered) histogram called `name`. */
  histogram(name: string, help: string, opts?: HistogramOptions): Histogram;
  /** The exposition text for a scrape. */
  text(): Promise<string>;
  /** The content type that goes with text(). */
  readonly contentType: string;
}

export interface CreateMetricsOptions {
  /** Labels on every series, default metrics included (e.g. `{ relay: "relay-1" }`). */
  defaultLabels?: Labels;
  /** prom-client's process/GC/event-loop metrics; default true. */
  defaultMetrics?: boolean;
}

/** Request latency buckets in seconds, from sub-millisecond to a slow 10 s. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

type Settable = {
  reset(): void;
  set?(l: Labels, v: number): void;
  inc?(l: Labels, v: number): void;
};

function collector(metric: () => Settable, read: Collect | undefined) {
  if (!read) return undefined;
  return async () => {
    const m = metric();
    const v = await read();
    m.reset();
    const apply = (labels: Labels, n: number) => {
      if (m.set) m.set(labels, n);
      else m.inc?.(labels, n);
    };
    if (typeof v === "number") apply({}, v);
    else for (const [labels, n] of v) apply(labels, n);
  };
}

/** A registry with the default metrics and helpers that never register a name twice. */
export function createMetrics(opts: CreateMetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultLabels) registry.setDefaultLabels(opts.defaultLabels);
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const byName = new Map<string, Counter | Gauge | Histogram>();

  function once<T extends Counter | Gauge | Histogram>(
    name: string,
    kind: new (...args: never[]) => T,
    make: () => T,
  ): T {
    const existing = byName.get(name);
    if (existing) {
      if (!(existing instanceof kind))
        throw new Error(`metric ${name} is already registered as another type`);
      return existing;
    }
    const m = make();
    byName.set(name, m);
    return m;
  }

  return {
    registry,
    counter(name, help, o = {}) {
      return once(name, Counter, () => {
        const c: Counter = new Counter({
          name,
          help,
          labelNames: [...(o.labels ?? [])],
          registers: [registry],
          collect: collector(
            () => ({ reset: () => c.reset(), inc: (l, v) => c.inc(l, v) }),
            o.collect,
          ),
        });
        return c;
      });
    },
    gauge(name, help, o = {}) {
      return once(name, Gauge, () => {
        const g: Gauge = new Gauge({
          name,
          help,
          labelNames: [...(o.labels ?? [])],
          registers: [registry],
          collect: collector(
            () => ({ reset: () => g.reset(), set: (l, v) => g.set(l, v) }),
            o.collect,
          ),
        });
        return g;
      });
    },
    histogram(name, help, o = {}) {
      return once(
        name,
        Histogram,
        () =>
          new Histogram({
            name,
            help,
            labelNames: [...(o.labels ?? [])],
            buckets: [...(o.buckets ?? LATENCY_BUCKETS)],
            registers: [registry],
          }),
      );
    },
    text: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
