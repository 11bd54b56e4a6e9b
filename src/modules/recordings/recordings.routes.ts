import multipart from '@fastify/multipart';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Config } from '../../config/index.ts';
import { readMultipartForm } from '../../http/multipart.ts';
import { errors, IdParams } from '../../http/schemas.ts';
import type { Api } from '../../http/types.ts';
import { AppError } from '../../lib/errors.ts';
import {
  LabelsBody,
  RecordingSchema,
  RecordingWithSeries,
  SeriesQuery,
  StartRecordingBody,
  UploadRecordingFields,
} from './recordings.schemas.ts';
import type { RecordingsService } from './recordings.service.ts';

const tags = ['recordings'];
const RecordingRef = Type.Ref('Recording');

/** Training data: uploads, device recordings, charts, CSV export and anomaly labels. */
export async function registerRecordingsRoutes(api: Api, deps: { recordings: RecordingsService; config: Config }) {
  const { recordings } = deps;
  api.addSchema(RecordingSchema);

  api.get(
    '/recordings',
    { schema: { tags, summary: 'Your recordings, newest first', response: { 200: Type.Array(RecordingRef), ...errors(401) } } },
    async (request) => recordings.list(request.user!.id),
  );

  api.get(
    '/recordings/:id',
    {
      schema: {
        tags,
        summary: 'A recording with a downsampled series for charts',
        params: IdParams,
        querystring: SeriesQuery,
        response: { 200: RecordingWithSeries, ...errors(400, 401, 404) },
      },
    },
    async (request) => recordings.get(request.user!.id, request.params.id, request.query.points),
  );

  api.get(
    '/recordings/:id/export',
    {
      schema: {
        tags,
        summary: 'The recording as CSV: timestamp,value,label',
        params: IdParams,
        produces: ['text/csv'],
        // Sent as the bytes the worker thread formatted (a Buffer); documented as a string.
        response: { 200: Type.Unsafe<string | Buffer>({ type: 'string' }), ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const file = await recordings.exportCsv(request.user!.id, request.params.id);
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${file.filename}"`)
        .send(file.csv);
    },
  );

  api.put(
    '/recordings/:id/labels',
    {
      schema: {
        tags,
        summary: 'Replace the anomalous segments of a recording',
        params: IdParams,
        body: LabelsBody,
        response: { 200: RecordingRef, ...errors(400, 401, 404) },
      },
    },
    async (request) => recordings.setLabels(request.user!.id, request.params.id, request.body.labels),
  );

  api.delete(
    '/recordings/:id',
    {
      schema: { tags, summary: 'Delete a recording (stops it first if it is live)', params: IdParams, response: { 204: { type: 'null' }, ...errors(400, 401, 404) } },
    },
    async (request, reply) => {
      await recordings.remove(request.user!.id, request.params.id);
      return reply.status(204).send();
    },
  );

  api.post(
    '/recordings',
    {
      schema: {
        tags,
        summary: 'Start recording readings from one of your devices',
        description: 'Stops by itself after `duration` seconds or `max_samples` readings, or on POST /recordings/:id/stop.',
        body: StartRecordingBody,
        response: { 201: RecordingRef, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const rec = await recordings.start(request.user!.id, { name: b.name, deviceId: b.device_id, durationS: b.duration, maxSamples: b.max_samples });
      return reply.status(201).send(rec);
    },
  );

  api.post(
    '/recordings/:id/stop',
    {
      schema: { tags, summary: 'Stop a live recording', params: IdParams, response: { 200: RecordingRef, ...errors(400, 401, 404, 409) } },
    },
    async (request) => recordings.stop(request.user!.id, request.params.id),
  );

  await api.register(async (scope) => {
    await scope.register(multipart, { limits: { fileSize: deps.config.limits.recordingBytes } });
    scope.post(
      '/recordings/upload',
      {
        schema: {
          tags,
          summary: 'Upload a CSV recording (multipart: file, name, skip_bad)',
          description:
            'Columns `timestamp,value` (any order, header required), optional `label` (1 = anomalous). Bad rows are refused with their line numbers unless skip_bad=true. Over RECORDING_MAX_BYTES: 413.',
          consumes: ['multipart/form-data'],
          response: { 201: RecordingRef, ...errors(400, 401, 413, 415) },
        },
      },
      async (request, reply) => {
        const form = await readMultipartForm(request, {
          fileFields: ['file'],
          textFields: ['name', 'skip_bad'],
          maxFileBytes: deps.config.limits.recordingBytes,
        });
        const file = form.files[0];
        if (!file) throw new AppError('validation-failed', 'The form needs a CSV file in the field "file".');
        if (!Value.Check(UploadRecordingFields, form.fields)) {
          const details = [...Value.Errors(UploadRecordingFields, form.fields)].map((e) => ({ path: e.path, message: e.message }));
          throw new AppError('validation-failed', 'The form fields are not valid.', { details });
        }
        const name = form.fields.name ?? (file.filename.replace(/\.[^.]*$/, '').slice(0, 100) || 'Upload');
        // The bytes, not a string: a big file is decoded and parsed in the recordings' worker thread.
        const rec = await recordings.upload(request.user!.id, { name, csv: file.data, skipBad: form.fields.skip_bad === 'true' });
        return reply.status(201).send(rec);
      },
    );
  });
}
