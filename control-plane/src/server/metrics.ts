/**
 * A small Prometheus registry (text format 0.0.4). We keep our own instead of a dependency
 * because we need only counters, gauges and histograms, and gauges read live values at scrape
 * time so nothing has to remember to update them.
 */
type Labels = Record<string, string>;

const key = (labels: Labels) =>
  Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`,
    )
    .join(",");

const fmt = (name: string, labels: string, value: number) =>
  `${name}${labels ? `{${labels}}` : ""} ${value}`;

/** Monotonic count of events, per label set. */
export class Counter {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.values.size === 0) lines.push(fmt(this.name, "", 0));
    for (const [k, v] of this.values) lines.push(fmt(this.name, k, v));
    return lines;
  }
}

/** A value read at scrape time from `collect`, or set explicitly. */
export class Gauge {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly collect?: () => Array<[Labels, number]> | number,
  ) {}
  set(value: number, labels: Labels = {}): void {
    this.values.set(key(labels), value);
  }
  delete(labels: Labels): void {
    this.values.delete(key(labels));
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    const collected = this.collect?.();
    if (typeof collected === "number") lines.push(fmt(this.name, "", collected));
    else if (collected) for (const [l, v] of collected) lines.push(fmt(this.name, key(l), v));
    for (const [k, v] of this.values) lines.push(fmt(this.name, k, v));
    if (lines.length === 2) lines.push(fmt(this.name, "", 0));
    return lines;
  }
}

/** Cumulative buckets of observed values (seconds, usually), per label set. */
export class Histogram {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: number[] = [
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
    ],
  ) {}
  observe(value: number, labels: Labels = {}): void {
    const k = key(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : "";
      for (let i = 0; i < this.buckets.length; i++) {
        lines.push(`${this.name}_bucket{${sep}le="${this.buckets[i]}"} ${s.counts[i]}`);
      }
      lines.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      lines.push(fmt(`${this.name}_sum`, k, s.sum), fmt(`${this.name}_count`, k, s.count));
    }
    return lines;
  }
}

/** The process's metrics; every component registers into the one instance app.ts creates. */
export class MetricsRegistry {
  private readonly metrics = new Map<string, Counter | Gauge | Histogram>();
  private add<T extends Counter | Gauge | Histogram>(m: T): T {
    const existing = this.metrics.get(m.name);
    if (existing) return existing as T;
    this.metrics.set(m.name, m);
    return m;
  }
  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }
  gauge(name: string, help: string, collect?: () => Array<[Labels, number]> | number): Gauge {
    return this.add(new Gauge(name, help, collect));
  }
  histogram(name: string, help: string, buckets?: number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }
  render(): string {
    return `${[...this.metrics.values()].flatMap((m) => m.render()).join("\n")}\n`;
  }
}
