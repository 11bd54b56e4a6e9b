import type { FastifyRequest } from 'fastify';
import { AppError, ERRORS } from '../lib/errors.ts';

export interface MultipartFile {
  fieldname: string;
  filename: string;
  mimetype: string;
  data: Buffer;
}

export interface MultipartForm {
  files: MultipartFile[];
  fields: Record<string, string>;
}

/**
 * Reads a multipart form whose routes run in a scope with `@fastify/multipart` registered.
 * Files are buffered up to `maxFileBytes` each (over it: 413 payload-too-large); unknown field
 * names and extra files are 400s.
 */
export async function readMultipartForm(
  request: FastifyRequest,
  opts: { fileFields: readonly string[]; textFields: readonly string[]; maxFileBytes: number },
): Promise<MultipartForm> {
  if (!request.isMultipart()) throw new AppError('unsupported-media-type', 'Send the form as multipart/form-data.');
  const form: MultipartForm = { files: [], fields: {} };
  try {
    await readParts(request, opts, form);
  } catch (err) {
    throw asMultipartError(err);
  }
  return form;
}

/**
 * The parser's own errors (busboy's "Unexpected end of form", "Malformed part header", a missing
 * boundary, ...) are the client's fault: 400 invalid-multipart. Our own refusals and the size
 * limits (413) keep their meaning.
 */
function asMultipartError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const status = (err as { statusCode?: unknown }).statusCode;
  if (status === 413) return new AppError('payload-too-large', (err as Error).message);
  const detail = err instanceof Error && err.message ? ` ${err.message}.` : '';
  return new AppError('invalid-multipart', `${ERRORS['invalid-multipart'].message}${detail}`, { cause: err });
}

async function readParts(
  request: FastifyRequest,
  opts: { fileFields: readonly string[]; textFields: readonly string[]; maxFileBytes: number },
  form: MultipartForm,
): Promise<void> {
  for await (const part of request.parts({ limits: { fileSize: opts.maxFileBytes, files: opts.fileFields.length, fields: 20, fieldSize: 64 * 1024 } })) {
    if (part.type === 'file') {
      if (!opts.fileFields.includes(part.fieldname)) {
        part.file.resume();
        throw new AppError('validation-failed', `Unexpected file field "${part.fieldname}"; expected ${opts.fileFields.join(' or ')}.`);
      }
      const data = await part.toBuffer();
      form.files.push({ fieldname: part.fieldname, filename: part.filename, mimetype: part.mimetype, data });
    } else {
      if (!opts.textFields.includes(part.fieldname)) {
        throw new AppError('validation-failed', `Unknown form field "${part.fieldname}".`);
      }
      form.fields[part.fieldname] = String(part.value);
    }
  }
}
