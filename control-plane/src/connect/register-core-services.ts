/**
 * Registers the core's Connect services on the pod's router: sessions, templates, agents, the
 * audit log, health and reflection. Reflection reads the router's handler list on first use, so services
 * other parts register (AuthService, UserService, AgentGateway) are listed too, in any order.
 */
import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import * as reflectionV1 from "@streamspace/proto/grpc/reflection/v1/reflection_pb";
import * as reflectionV1alpha from "@streamspace/proto/grpc/reflection/v1alpha/reflection_pb";
import { Health } from "@streamspace/proto/health/v1/health_pb";
import { AgentService } from "@streamspace/proto/streamspace/v1/agent_service_pb";
import { AuditService } from "@streamspace/proto/streamspace/v1/audit_service_pb";
import { SessionService } from "@streamspace/proto/streamspace/v1/session_service_pb";
import { TemplateService } from "@streamspace/proto/streamspace/v1/template_service_pb";
import type { AgentService as AgentDomain } from "../domain/agent-service.ts";
import type { AuditService as AuditDomain } from "../domain/audit-service.ts";
import type { SessionService as SessionDomain } from "../domain/session-service.ts";
import type { TemplateService as TemplateDomain } from "../domain/template-service.ts";
import { agentServiceHandlers } from "./agent-service.ts";
import { auditServiceHandlers } from "./audit-service.ts";
import { type ErrorLog, stderrLog } from "./handler-kit.ts";
import { HealthState, healthHandlers } from "./health-service.ts";
import {
  createReflectionIndex,
  type ReflectionIndex,
  reflectionV1alphaHandlers,
  reflectionV1Handlers,
} from "./reflection-service.ts";
import { sessionServiceHandlers } from "./session-service.ts";
import { templateServiceHandlers } from "./template-service.ts";

export interface CoreServiceDeps {
  sessions: SessionDomain;
  templates: TemplateDomain;
  agents: AgentDomain;
  /** The audit log's reader (admins); without it AuditService is not served. */
  audit?: AuditDomain;
  /** Shared with the drain path: set NOT_SERVING when the pod starts draining. */
  health?: HealthState;
  log?: ErrorLog;
}

/** The public service names health reports on, besides "" (the whole server). */
export const HEALTH_SERVICE_NAMES = [
  SessionService.typeName,
  TemplateService.typeName,
  AgentService.typeName,
  "streamspace.v1.AuthService",
  "streamspace.v1.UserService",
  "streamspace.agent.v1.AgentGateway",
  AuditService.typeName,
];

/** Registers everything; returns the HealthState so the caller can flip it on drain. */
export function registerCoreServices(router: ConnectRouter, deps: CoreServiceDeps): HealthState {
  const log = deps.log ?? stderrLog;
  const health = deps.health ?? new HealthState(HEALTH_SERVICE_NAMES);
  router.service(SessionService, sessionServiceHandlers(deps.sessions, log));
  router.service(TemplateService, templateServiceHandlers(deps.templates, log));
  router.service(AgentService, agentServiceHandlers(deps.agents, log));
  if (deps.audit) router.service(AuditService, auditServiceHandlers(deps.audit, log));
  router.service(Health, healthHandlers(health));

  let index: ReflectionIndex | undefined;
  const lazyIndex: ReflectionIndex = {
    answer(req) {
      if (!index) {
        const services = new Map<string, DescService>();
        for (const h of router.handlers) services.set(h.service.typeName, h.service);
        index = createReflectionIndex([...services.values()]);
      }
      return index.answer(req);
    },
  };
  router.service(reflectionV1.ServerReflection, reflectionV1Handlers(lazyIndex));
  router.service(reflectionV1alpha.ServerReflection, reflectionV1alphaHandlers(lazyIndex));
  return health;
}
