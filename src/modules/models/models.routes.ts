import multipart from '@fastify/multipart';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Config } from '../../config/index.ts';
import { readMultipartForm } from '../../http/multipart.ts';
import { errors, IdParams } from '../../http/schemas.ts';
import type { Api } from '../../http/types.ts';
import { AppError } from '../../lib/errors.ts';
import {
  ModelCardList,
  ModelDetailSchema,
  PatchModelBody,
  SelectResponse,
  UploadFields,
  UploadResponse,
} from './models.schemas.ts';
import type { ModelsService } from './models.service.ts';

const tags = ['models'];
const appTags = ['models (mobile app aliases)'];
const viewerOf = (user: { id: number } | null) => ({ userId: user?.id ?? null });

/** The model registry: cards, details, edits, deletion, selection, download and upload. */
export async function registerModelsRoutes(api: Api, deps: { models: ModelsService; config: Config }) {
  const { models } = deps;
  api.addSchema(ModelDetailSchema);

  for (const [url, t] of [
    ['/models/user', tags],
    ['/api/models', appTags],
  ] as const) {
    api.get(
      url,
      {
        schema: { tags: [...t], summary: "The user's models and the presets, as model cards", response: { 200: ModelCardList, ...errors(401) } },
      },
      async (request) => models.listCards(request.user!.id),
    );
  }

  api.get(
    '/api/guest/models',
    {
      config: { auth: 'none' },
      schema: { tags: appTags, summary: 'Preset models, for guests (no sign-in)', response: { 200: ModelCardList } },
    },
    async () => models.listCards(null),
  );

  api.get(
    '/models/:id',
    {
      config: { auth: 'optional' },
      schema: {
        tags,
        summary: 'A model: card, kind, params, threshold, metrics, recordings and job history',
        description: 'Presets are visible to everyone; other models to their owner, and to signed-in users when public.',
        params: IdParams,
        response: { 200: Type.Ref('ModelDetail'), ...errors(400, 401, 404) },
      },
    },
    async (request) => models.get(viewerOf(request.user), request.params.id),
  );

  api.patch(
    '/models/:id',
    {
      schema: {
        tags,
        summary: 'Rename, describe, set the threshold or the visibility of your model',
        params: IdParams,
        body: PatchModelBody,
        response: { 200: Type.Ref('ModelDetail'), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => models.update(request.user!.id, request.params.id, request.body),
  );

  api.delete(
    '/models/:id',
    {
      schema: {
        tags,
        summary: 'Delete your model (refused while a live detection session uses it)',
        params: IdParams,
        response: { 204: { type: 'null' }, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await models.remove(request.user!.id, request.params.id);
      return reply.status(204).send();
    },
  );

  for (const [url, t] of [
    ['/models/:id/select', tags],
    ['/api/models/:id/select', appTags],
  ] as const) {
    api.post(
      url,
      {
        config: { auth: 'optional' },
        schema: {
          tags: [...t],
          summary: 'Select a model for detection (stored for signed-in users; guests may pick presets)',
          params: IdParams,
          response: { 200: SelectResponse, ...errors(400, 401, 403, 404, 422) },
        },
      },
      async (request) => {
        const model = await models.select(viewerOf(request.user), request.params.id);
        return { message: `Model "${model.name}" selected.`, model };
      },
    );
  }

  api.get(
    '/models/:id/download',
    {
      config: { auth: 'optional' },
      schema: {
        tags,
        summary: 'Download the model artifact (JSON), checksum verified',
        params: IdParams,
        response: { 200: Type.Unknown({ description: 'The Vigil detector artifact.' }), ...errors(400, 401, 404, 422) },
      },
    },
    async (request, reply) => {
      const file = await models.download(viewerOf(request.user), request.params.id);
      return reply
        .header('content-type', 'application/json; charset=utf-8')
        .header('content-disposition', `attachment; filename="${file.filename}"`)
        .header('x-checksum-sha256', file.model.checksum)
        .send(Buffer.from(file.text));
    },
  );

  await api.register(async (scope) => {
    await scope.register(multipart, { limits: { fileSize: deps.config.limits.modelUploadBytes } });
    for (const [url, t] of [
      ['/api/models/upload', appTags],
      ['/models/upload', tags],
    ] as const) {
      scope.post(
        url,
        {
          schema: {
            tags: [...t],
            summary: 'Upload a Vigil model artifact (multipart: model_file, name, material_type, description)',
            description: 'The artifact is validated fully (format, version, kind, shape, size) before it is stored.',
            consumes: ['multipart/form-data'],
            response: { 201: UploadResponse, ...errors(400, 401, 413, 415) },
          },
        },
        async (request, reply) => {
          const form = await readMultipartForm(request, {
            fileFields: ['model_file'],
            textFields: ['name', 'material_type', 'description'],
            maxFileBytes: deps.config.limits.modelUploadBytes,
          });
          const file = form.files[0];
          if (!file) throw new AppError('validation-failed', 'The form needs a model_file.');
          if (!Value.Check(UploadFields, form.fields)) {
            const details = [...Value.Errors(UploadFields, form.fields)].map((e) => ({ path: e.path, message: e.message }));
            throw new AppError('validation-failed', 'The form fields are not valid.', { details });
          }
          const fields = form.fields as { name: string; material_type: string; description?: string };
          const m = await models.upload(request.user!.id, {
            artifactText: file.data.toString('utf8'),
            name: fields.name,
            materialType: fields.material_type,
            description: fields.description ?? null,
          });
          return reply.status(201).send({
            id: m.id,
            name: m.name,
            material_type: m.materialType,
            file_path: m.filePath,
            kind: m.kind,
            message: 'Model uploaded.',
          });
        },
      );
    }
  });
}
