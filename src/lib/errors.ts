/**
 * Every error code Vigil answers with, defined once: its HTTP status and a default message.
 * Services throw `AppError`s; the HTTP error handler, the Socket.IO gateway and the CLI turn
 * them into `{ code, message }` bodies, error events and exit codes.
 */
export const ERRORS = {
  'validation-failed': { status: 400, message: 'The request is not valid.' },
  'invalid-json': { status: 400, message: 'The request body is not valid JSON.' },
  'payload-too-large': { status: 413, message: 'The request body is too large.' },
  'unsupported-media-type': { status: 415, message: 'Unsupported content type.' },
  'invalid-multipart': { status: 400, message: 'The multipart/form-data body is malformed (missing boundary, truncated or not multipart).' },
  'not-found': { status: 404, message: 'Not found.' },
  'route-not-found': { status: 404, message: 'No such route.' },
  unauthorized: { status: 401, message: 'Authentication is required.' },
  'invalid-token': { status: 401, message: 'The access token is invalid or has expired.' },
  'invalid-credentials': { status: 401, message: 'Invalid username or password.' },
  'invalid-refresh-token': { status: 401, message: 'The refresh token is invalid or has expired.' },
  'refresh-token-reused': {
    status: 401,
    message: 'This refresh token was already used; every session of this login has been signed out.',
  },
  forbidden: { status: 403, message: 'You are not allowed to do that.' },
  'not-owner': { status: 403, message: 'Only the owner can do that.' },
  'guest-not-allowed': { status: 403, message: 'Sign in to do that; guests may use preset models only.' },
  'username-taken': { status: 409, message: 'That username is already taken.' },
  'email-taken': { status: 409, message: 'That email is already registered.' },
  'wrong-password': { status: 400, message: 'The current password is not correct.' },
  'user-not-found': { status: 404, message: 'No such user.' },
  'post-not-found': { status: 404, message: 'No such post.' },
  'comment-not-found': { status: 404, message: 'No such comment on this post.' },
  'cannot-follow-self': { status: 400, message: 'You cannot follow yourself.' },
  'invalid-cursor': { status: 400, message: 'The pagination cursor is not valid; start again without it.' },
  'session-not-found': { status: 404, message: 'No such detection session.' },
  'session-not-finished': { status: 409, message: 'Only a finished detection session can be shared.' },
  'rate-limited': { status: 429, message: 'Too many requests; try again later.' },
  'model-not-found': { status: 404, message: 'No such model.' },
  'model-read-only': { status: 403, message: 'Preset models cannot be changed or deleted.' },
  'model-in-use': { status: 409, message: 'The model is used by a live detection session; stop it first.' },
  'model-artifact-invalid': { status: 422, message: "The model's file is missing or corrupt; it cannot be loaded." },
  'invalid-model-file': { status: 400, message: 'The file is not a valid Vigil model artifact.' },
  'unknown-detector-kind': { status: 400, message: 'Unknown or unavailable detector kind.' },
  'invalid-detector-params': { status: 400, message: 'Invalid detector parameters.' },
  'insufficient-training-data': { status: 400, message: 'Not enough readings to train this kind of model.' },
  'recording-not-found': { status: 404, message: 'No such recording.' },
  'recording-not-ready': { status: 409, message: 'The recording is still in progress.' },
  'recording-not-active': { status: 409, message: 'The recording is not in progress.' },
  'invalid-csv': { status: 400, message: 'The CSV file has bad rows.' },
  'device-unavailable': { status: 409, message: 'The device cannot be opened.' },
  'training-job-not-found': { status: 404, message: 'No such training job.' },
  'training-job-finished': { status: 409, message: 'The training job has already finished.' },
  'training-limit-reached': { status: 429, message: 'Too many training jobs are queued or running for this account.' },
  'training-cancelled': { status: 409, message: 'The training job was cancelled.' },
  'training-interrupted': { status: 503, message: 'The server stopped while the training job was running.' },
  'invalid-training-data': { status: 400, message: 'The training data cannot be used.' },
  'database-unavailable': { status: 503, message: 'The database is not reachable.' },
  'shutting-down': { status: 503, message: 'The server is shutting down.' },
  'readings-unavailable': { status: 503, message: 'Readings cannot be accepted right now (Redis, which keeps them for the session, does not answer); retry later.' },
  'journal-unavailable': { status: 503, message: 'Readings cannot be stored durably right now (the log journal is not writable); retry later.' },
  'device-not-found': { status: 404, message: 'No such device.' },
  'device-token-invalid': { status: 401, message: 'The device token is missing or not valid for this device.' },
  'device-kind-invalid': { status: 400, message: 'That setting does not apply to this kind of device.' },
  'device-not-connected': { status: 409, message: 'Connect a device first (arduino_connect).' },
  'batch-too-large': { status: 413, message: 'Too many readings in one batch.' },
  'session-not-running': { status: 409, message: 'No detection session is running.' },
  'session-moving': { status: 503, message: 'The session is moving to another server; try again in a few seconds.' },
  'invalid-payload': { status: 400, message: 'The event payload is not valid.' },
  'alarm-not-found': { status: 404, message: 'No such alarm.' },
  'alarm-resolved': { status: 409, message: 'The alarm is already resolved.' },
  'invalid-alarm-rules': { status: 400, message: 'The alarm rules are not valid.' },
  'invalid-time-range': { status: 400, message: 'The time range is not valid for this session.' },
  'channel-not-found': { status: 404, message: 'No such notification channel.' },
  'invalid-channel': { status: 400, message: 'The notification channel settings are not valid.' },
  'destination-not-allowed': { status: 400, message: 'That destination is private, loopback, link-local or a cloud metadata address; the operator has not allowed it.' },
  'invalid-subscription': { status: 400, message: 'The browser push subscription is not valid (endpoint URL, keys.p256dh: a 65-byte P-256 key, keys.auth: 16 bytes, both base64url).' },
  'channel-unavailable': { status: 409, message: 'This kind of channel is not configured on this server.' },
  'backtest-source-required': { status: 400, message: 'Give exactly one of recording_id and session_id.' },
  'backtest-no-data': { status: 400, message: 'There are no stored readings to backtest on.' },
  'invalid-model-ids': { status: 400, message: '`ids` must be 1 to 5 distinct model ids, comma-separated.' },
  'backup-invalid': { status: 400, message: 'The backup is incomplete, corrupt or from an unknown format.' },
  'backup-exists': { status: 409, message: 'The backup destination already exists.' },
  'restore-target-not-empty': { status: 409, message: 'The target database or data folder already holds data; restore with --force to replace it.' },
  internal: { status: 500, message: 'Something went wrong on our side.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface AppErrorOptions {
  status?: number;
  details?: unknown;
  cause?: unknown;
  /** Whether `message` may be shown to clients (default true for 4xx, false for 5xx). */
  expose?: boolean;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;
  readonly expose: boolean;

  constructor(code: ErrorCode, message?: string, options: AppErrorOptions = {}) {
    const known = ERRORS[code];
    super(message ?? known.message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = options.status ?? known.status;
    this.details = options.details;
    this.expose = options.expose ?? this.status < 500;
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/** The body every client sees: `error` duplicates `message` for the seed-era mobile app. */
export interface ErrorBody {
  code: string;
  message: string;
  error: string;
  details?: unknown;
  request_id?: string;
}

export function toErrorBody(err: AppError, requestId?: string): ErrorBody {
  const message = err.expose ? err.message : (ERRORS.internal.message as string);
  const body: ErrorBody = { code: err.expose ? err.code : 'internal', message, error: message };
  if (err.expose && err.details !== undefined) body.details = err.details;
  if (requestId) body.request_id = requestId;
  return body;
}
