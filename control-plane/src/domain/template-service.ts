/**
 * TemplateService in domain terms: any signed-in caller reads (to launch), operators and admins
 * write. Every write call is audited by the transport edge (domain/audit-service.ts).
 */
import { randomUUID } from "node:crypto";
import { requireRole, requireUser } from "./access.ts";
import { decodeKeyToken, encodeToken } from "./cursor.ts";
import { DomainError, notFound } from "./errors.ts";
import { NameTakenError, type Store } from "./ports.ts";
import type { Principal } from "./principal.ts";
import type { Template, TemplateInput } from "./types.ts";
import { DEFAULT_PAGE_SIZE, isUuid, parse, schemas } from "./validation.ts";

/** A page of templates, ordered by name. */
export interface TemplatePage {
  templates: Template[];
  nextPageToken: string;
}

const missing = (ref: string) =>
  notFound(`Template ${ref} does not exist; ListTemplates shows the templates there are.`);

/** Builds the service over the store. */
export function createTemplateService(deps: { store: Store }) {
  const { store } = deps;

  async function write(p: Principal, raw: unknown, mode: "create" | "update", id?: string) {
    requireRole(p, "operator", `${mode} templates`);
    const input = parse(schemas.template, raw) as TemplateInput;
    try {
      return await store.transaction(async (tx) => {
        const t =
          mode === "create"
            ? await tx.templates.insert(randomUUID(), input)
            : await tx.templates.update(id ?? "", input);
        if (!t) throw missing(id ?? "");
        return t;
      });
    } catch (err) {
      if (err instanceof NameTakenError) {
        throw new DomainError(
          "already_exists",
          `A template named ${input.name} already exists; pick another name or update that one.`,
        );
      }
      throw err;
    }
  }

  return {
    async list(
      p: Principal,
      input: { pageSize?: number; pageToken?: string },
    ): Promise<TemplatePage> {
      requireUser(p);
      const req = parse(schemas.listTemplates, input);
      const limit = req.pageSize || DEFAULT_PAGE_SIZE;
      const templates = await store.templates.list(limit, decodeKeyToken("t", req.pageToken));
      const last = templates.at(-1);
      const nextPageToken = templates.length === limit && last ? encodeToken("t", [last.name]) : "";
      return { templates, nextPageToken };
    },

    /** By id or name. */
    async get(p: Principal, input: { id: string }): Promise<Template> {
      requireUser(p);
      const { id } = parse(schemas.templateRef, input);
      const t = await store.templates.find(id);
      if (!t) throw missing(id);
      return t;
    },

    create: (p: Principal, template: unknown) => write(p, template, "create"),

    /** Replaces every field but id and create_time; the id must be the template's UUID. */
    async update(p: Principal, id: string, template: unknown): Promise<Template> {
      requireRole(p, "operator", "update templates");
      if (!isUuid(id))
        throw new DomainError("invalid_argument", "template.id: must be a template id (a UUID).");
      return write(p, template, "update", id);
    },

    /** Sessions launched from it keep running; their template_id becomes empty. */
    async delete(p: Principal, input: { id: string }): Promise<void> {
      requireRole(p, "operator", "delete templates");
      const { id } = parse(schemas.templateRef, input);
      await store.transaction(async (tx) => {
        const t = await tx.templates.find(id);
        if (!t) throw missing(id);
        await tx.templates.delete(t.id);
      });
    },
  };
}

/** The service's type, for wiring. */
export type TemplateService = ReturnType<typeof createTemplateService>;
