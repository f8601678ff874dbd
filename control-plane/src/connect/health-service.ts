/**
 * grpc.health.v1 as a Connect service, so load balancers and grpc_health_probe see the pod
 * leave rotation the moment it starts draining (NOT_SERVING), before its stream count falls.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type Health,
  type HealthCheckResponse,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
} from "@streamspace/proto/health/v1/health_pb";

/**
 * Serving state of the pod, per service name ("" is the whole server). Every service shares the
 * pod's fate: a draining pod is NOT_SERVING for all of them.
 */
export class HealthState {
  private serving = true;
  private readonly listeners = new Set<() => void>();

  constructor(readonly services: readonly string[]) {}

  /** Flip serving (false while draining); watchers are told at once. */
  setServing(serving: boolean): void {
    if (serving === this.serving) return;
    this.serving = serving;
    for (const l of [...this.listeners]) l();
  }

  /** Status for a name, or undefined when the server does not know the service. */
  status(service: string): Status | undefined {
    if (service !== "" && !this.services.includes(service)) return undefined;
    return this.serving ? Status.SERVING : Status.NOT_SERVING;
  }

  onChange(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

const reply = (status: Status): HealthCheckResponse =>
  create(HealthCheckResponseSchema, { status });

/** Check, Watch and List over the shared state. */
export function healthHandlers(state: HealthState): ServiceImpl<typeof Health> {
  return {
    check(req) {
      const status = state.status(req.service);
      if (status === undefined) {
        throw new ConnectError(
          `Unknown service "${req.service}"; List shows the services here.`,
          Code.NotFound,
        );
      }
      return reply(status);
    },
    async *watch(req, ctx) {
      let wake: (() => void) | undefined;
      const off = state.onChange(() => wake?.());
      const aborted = new Promise<void>((r) =>
        ctx.signal.addEventListener("abort", () => r(), { once: true }),
      );
      try {
        let last: Status | undefined;
        while (!ctx.signal.aborted) {
          const now = state.status(req.service) ?? Status.SERVICE_UNKNOWN;
          if (now !== last) {
            last = now;
            yield reply(now);
          }
          await Promise.race([
            new Promise<void>((r) => {
              wake = r;
            }),
            aborted,
          ]);
        }
      } finally {
        off();
      }
    },
    list() {
      const statuses: Record<string, HealthCheckResponse> = {};
      for (const name of ["", ...state.services])
        statuses[name] = reply(state.status(name) ?? Status.UNKNOWN);
      return { statuses };
    },
  };
}
