/**
 * OpenTelemetry tracing for every StreamSpace process (DESIGN.md §8): one trace runs from the
 * API request that caused a command to the agent's work on it, because the W3C trace context
 * travels inside `Command.trace_context` through the outbox.
 *
 * Decisions:
 * - Spans are always created and the context always propagated, so trace ids show up in logs
 *   and commands even when nothing is exported; creating spans without an exporter is cheap.
 * - Export follows the standard OpenTelemetry variables: when `OTEL_EXPORTER_OTLP_ENDPOINT` or
 *   `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, spans go to that collector over OTLP/HTTP in
 *   batches; `OTEL_SERVICE_NAME` overrides the service name. Nothing else is read.
 * - Sampling is parent-based, always-on at the root: the caller's sampled flag wins, so an
 *   operator controls volume at the edge (a gateway or the SDK client).
 */
import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-node";

export interface TracingOptions {
  /** `service.name` of this process, e.g. "streamspace-control-plane". */
  service: string;
  env?: NodeJS.ProcessEnv;
}

export interface Tracing {
  /** Flushes what is buffered and unregisters; safe to call twice. */
  shutdown(): Promise<void>;
}

/** Registers the process-wide tracer provider, context manager and W3C propagator. */
export function startTracing(opts: TracingOptions): Tracing {
  const env = opts.env ?? process.env;
  const processors: SpanProcessor[] = [];
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter()));
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": env.OTEL_SERVICE_NAME || opts.service }),
    spanProcessors: processors,
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  let done: Promise<void> | undefined;
  return {
    shutdown() {
      done ??= provider.shutdown().finally(() => {
        trace.disable();
        context.disable();
        propagation.disable();
      });
      return done;
    },
  };
}

type Carrier = Record<string, string | string[] | undefined>;

const getter = {
  keys: (c: Carrier) => Object.keys(c),
  get: (c: Carrier, key: string) => {
    const v = c[key] ?? c[key.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  },
};

/** The context a W3C carrier (HTTP headers, `Command.trace_context`) describes. */
export function extractContext(carrier: Carrier): Context {
  return propagation.extract(ROOT_CONTEXT, carrier, getter);
}

/** The active trace context as W3C headers ({} when there is no active span). */
export function currentTraceContext(): Record<string, string> {
  const out: Record<string, string> = {};
  propagation.inject(context.active(), out);
  return out;
}

/**
 * Runs `fn` inside a new span whose parent is `parent`; the span ends when `fn` settles and
 * records a thrown error. `fn` gets the span to add attributes or end it differently.
 */
export async function inSpan<T>(
  name: string,
  opts: { parent?: Context; kind?: SpanKind; attributes?: Attributes },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const tracer = trace.getTracer("streamspace");
  const parent = opts.parent ?? context.active();
  const span = tracer.startSpan(name, { kind: opts.kind, attributes: opts.attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * A server span for work whose end is an event, not a promise (an HTTP response that closes
 * later, a stream): the caller runs its handler through `run` and calls `end` on close.
 */
export function startServerSpan(
  name: string,
  carrier: Carrier,
  attributes?: Attributes,
): { span: Span; run<T>(fn: () => T): T; end(error?: string): void } {
  const parent = extractContext(carrier);
  const span = trace
    .getTracer("streamspace")
    .startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
  const ctx = trace.setSpan(parent, span);
  let ended = false;
  return {
    span,
    run: (fn) => context.with(ctx, fn),
    end(error) {
      if (ended) return;
      ended = true;
      if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
      span.end();
    },
  };
}

/** Adds attributes to the active span, if any (an RPC layer naming its status code, say). */
export function annotateActiveSpan(attributes: Attributes, error?: string): void {
  const span = trace.getSpan(context.active());
  if (!span) return;
  span.setAttributes(attributes);
  if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
}

export { SpanKind, SpanStatusCode };
