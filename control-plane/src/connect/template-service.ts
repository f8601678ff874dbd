/**
 * Connect handlers for streamspace.v1.TemplateService, over the domain template service.
 */
import type { ServiceImpl } from "@connectrpc/connect";
import type { TemplateService } from "@streamspace/proto/streamspace/v1/template_service_pb";
import { templateInputFromProto, templateToProto } from "../domain/proto-mapping.ts";
import type { TemplateService as Domain } from "../domain/template-service.ts";
import { type ErrorLog, guard, principalOf } from "./handler-kit.ts";

/** Builds the TemplateService implementation. */
export function templateServiceHandlers(
  templates: Domain,
  log: ErrorLog,
): ServiceImpl<typeof TemplateService> {
  return {
    createTemplate: (req, ctx) =>
      guard(log, async () => ({
        template: templateToProto(
          await templates.create(principalOf(ctx), templateInputFromProto(req.template)),
        ),
      })),
    getTemplate: (req, ctx) =>
      guard(log, async () => ({
        template: templateToProto(await templates.get(principalOf(ctx), { id: req.id })),
      })),
    listTemplates: (req, ctx) =>
      guard(log, async () => {
        const page = await templates.list(principalOf(ctx), {
          pageSize: req.pageSize,
          pageToken: req.pageToken,
        });
        return {
          templates: page.templates.map(templateToProto),
          nextPageToken: page.nextPageToken,
        };
      }),
    updateTemplate: (req, ctx) =>
      guard(log, async () => ({
        template: templateToProto(
          await templates.update(
            principalOf(ctx),
            req.template?.id ?? "",
            templateInputFromProto(req.template),
          ),
        ),
      })),
    deleteTemplate: (req, ctx) =>
      guard(log, async () => {
        await templates.delete(principalOf(ctx), { id: req.id });
        return {};
      }),
  };
}
