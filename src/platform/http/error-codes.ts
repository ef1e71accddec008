/**
 * Every error code Puente answers with, and its HTTP status. A code is stable: clients and the
 * dashboard act on it and translate it, so it never changes meaning; the `message` beside it may be
 * reworded. `fields` names the reply's top-level values a message was built from; `action` is what a
 * client should do. docs/errors.md is this table in prose (test/error-codes.test.ts keeps them equal).
 *
 * This file imports nothing, so the dashboard and the contract schemas can import its types.
 */
export interface ErrorSpec {
  status: number;
  meaning: string;
  fields?: readonly string[];
  action: string;
}

export const ERROR_CODES = {
  // ── Any route ──────────────────────────────────────────────────────────────────────────────
  validation_error: {
    status: 400,
    meaning: "The request did not match the route's schema (body, query or path).",
    fields: ['details'],
    action: 'Fix the fields listed in `details` (`[{field, message}]`) and send again.',
  },
  invalid_value: {
    status: 400,
    meaning: 'A value passed validation but the database cannot store it (out of range, bad escape).',
    action: 'Correct the value; do not retry unchanged.',
  },
  'http.nul_byte': {
    status: 400,
    meaning: 'A NUL character (\\u0000) in the path, the query, the body or a form field.',
    fields: ['where', 'field'],
    action: 'Remove the NUL character (`where`: path, query, body or field; `field` names a form field).',
  },
  'http.bad_request': {
    status: 400,
    meaning: 'The request could not be read (malformed JSON, empty JSON body, bad header).',
    action: 'Send a well-formed request.',
  },
  'http.body_too_large': { status: 413, meaning: "The request body is over the server's limit.", action: 'Send a smaller body.' },
  'http.unsupported_media_type': {
    status: 415,
    meaning: 'The Content-Type is not one the route reads.',
    action: 'Send `application/json` (or multipart where the route says so).',
  },
  'http.not_found': {
    status: 404,
    meaning: 'No route answers this method and path.',
    fields: ['method', 'path'],
    action: 'Check the method and path against `/docs`.',
  },
  rate_limited: {
    status: 429,
    meaning: 'Too many requests or failed attempts from this address or for this account.',
    fields: ['retry_after'],
    action: 'Wait `retry_after` seconds before trying again.',
  },
  internal_error: {
    status: 500,
    meaning: 'An unexpected failure; the message carries the request id to find it in the log.',
    action: 'Retry later; report the request id if it persists.',
  },
  'database.unavailable': {
    status: 503,
    meaning: 'The database could not be reached; nothing was written. The reply carries `Retry-After`.',
    action: 'Retry the same request after `Retry-After` seconds.',
  },
  upstream_error: {
    status: 502,
    meaning: 'An external service (Wispro, WHMCS, Zoho, a WhatsApp engine) answered with an error or could not be reached.',
    fields: ['service'],
    action: 'Retry later; if it persists, check that service and its credentials.',
  },
  upstream_timeout: { status: 504, meaning: 'An external service did not answer in time.', fields: ['service'], action: 'Retry later.' },

  // ── Authentication and roles ───────────────────────────────────────────────────────────────
  'auth.missing_token': { status: 401, meaning: 'No `Authorization: Bearer <token>` header.', action: 'Log in and send the access token.' },
  'auth.invalid_token': {
    status: 401,
    meaning: 'The access token is malformed, expired, or its session ended.',
    action: 'Refresh the session (POST /auth/refresh) or log in again.',
  },
  'auth.forbidden': {
    status: 403,
    meaning: "The caller's role (or an access-code session) may not use this route.",
    action: 'Ask an administrator; do not retry.',
  },
  'auth.invalid_credentials': { status: 401, meaning: 'Wrong email or password, or the account is inactive.', action: 'Check the email and password.' },
  'auth.invalid_code': { status: 401, meaning: 'The access code is wrong or no longer active.', action: 'Ask for the current access code.' },
  'auth.refresh_invalid': { status: 401, meaning: 'The refresh token is unknown or expired.', action: 'Log in again.' },
  'auth.refresh_reused': { status: 401, meaning: 'A refresh token was used twice; the session was closed as a precaution.', action: 'Log in again.' },
  'auth.session_ended': { status: 401, meaning: 'The session was closed (log-out, password change) or expired.', action: 'Log in again.' },
  'auth.code_inactive': {
    status: 401,
    meaning: 'The access code this session was opened with is no longer the active one.',
    action: 'Log in with the current code.',
  },
  'auth.account_inactive': { status: 401, meaning: 'The account was deactivated.', action: 'Ask an administrator.' },
  'auth.wrong_password': { status: 401, meaning: 'The current password given to change it does not match.', action: 'Enter the current password again.' },

  // ── Users ──────────────────────────────────────────────────────────────────────────────────
  'users.not_found': { status: 404, meaning: 'No user with this id.', fields: ['user_id'], action: 'Check the id (GET /api/users).' },
  'users.password_too_short': {
    status: 400,
    meaning: 'A new password is shorter than the minimum.',
    fields: ['min_length'],
    action: 'Choose a longer password.',
  },
  'users.email_taken': {
    status: 409,
    meaning: 'An account (not a customer) already uses this email.',
    fields: ['email'],
    action: 'Use another email or edit the existing account.',
  },

  // ── Jobs ───────────────────────────────────────────────────────────────────────────────────
  'job.not_found': { status: 404, meaning: 'No job with this id.', fields: ['job_id'], action: 'Check the id (GET /jobs).' },
  'job.not_paused': {
    status: 409,
    meaning: 'Only a paused job can be resumed.',
    fields: ['job_id', 'job_status'],
    action: 'Reload the job; act on its current status.',
  },
  'job.not_pausable': {
    status: 409,
    meaning: 'Only a pending or running job can be paused.',
    fields: ['job_id', 'job_status'],
    action: 'Reload the job; act on its current status.',
  },
  'job.not_cancellable': {
    status: 409,
    meaning: 'The job already finished (or was cancelled) and cannot be cancelled.',
    fields: ['job_id', 'job_status'],
    action: 'Reload the job; nothing to cancel.',
  },
  'job.not_retryable': {
    status: 409,
    meaning:
      'The job cannot be retried now: its type has no retry, it is not failed or cancelled, it is still stopping, it was already retried, or another job of its kind is running.',
    fields: ['job_id', 'job_status', 'job_type', 'retried_as', 'active_job_id'],
    action: 'Follow `retried_as` or `active_job_id` when present; otherwise wait for the job to stop and retry.',
  },

  // ── Wispro ─────────────────────────────────────────────────────────────────────────────────
  'wispro.not_configured': {
    status: 503,
    meaning: 'WISPRO_API_TOKEN is not set.',
    action: 'An administrator sets the Wispro settings (docs/configuration.md).',
  },

  // ── WHMCS ──────────────────────────────────────────────────────────────────────────────────
  'whmcs.disabled': { status: 503, meaning: 'The WHMCS link is turned off (WHMCS_ENABLED=false).', action: 'An administrator turns it on.' },
  'whmcs.not_configured': {
    status: 503,
    meaning: 'WHMCS_API_URL, WHMCS_API_IDENTIFIER or WHMCS_API_SECRET is not set.',
    action: 'An administrator sets the WHMCS settings.',
  },
  'whmcs.ids_disagree': {
    status: 400,
    meaning: '`laravel_id` and `local_id` were both sent with different values.',
    fields: ['laravel_id', 'local_id'],
    action: 'Send only one of them.',
  },
  'whmcs.local_id_required': { status: 400, meaning: 'The route needs the local customer id (`laravel_id` or `local_id`).', action: 'Send `laravel_id`.' },
  'whmcs.email_exists': {
    status: 409,
    meaning: 'Creating the client in WHMCS: WHMCS already has a client with this email.',
    fields: ['whmcs_id', 'email'],
    action: 'Link the existing WHMCS client (`whmcs_id`) instead of creating another.',
  },
  'whmcs.email_in_use': {
    status: 409,
    meaning: 'Updating the client in WHMCS: another WHMCS client already uses the new email.',
    fields: ['whmcs_id'],
    action: "Resolve the duplicate email in WHMCS or change the customer's email.",
  },
  'whmcs.already_linked': {
    status: 409,
    meaning: 'The WHMCS client is already linked to another local customer.',
    fields: ['whmcs_id', 'linked_to'],
    action: 'Unlink the other customer first, or link a different WHMCS client.',
  },
  'whmcs.local_already_linked': {
    status: 409,
    meaning: 'The local customer is already linked to another WHMCS client.',
    fields: ['local_id', 'whmcs_id'],
    action: 'Unlink it first (DELETE /api/whmcs/sync/map/...).',
  },
  'whmcs.not_linked': {
    status: 409,
    meaning: 'The customer has no WHMCS link yet, so it cannot be updated there.',
    fields: ['local_id'],
    action: 'Push it first (POST /api/whmcs/clients/push/{id}).',
  },
  'whmcs.link_not_found': {
    status: 404,
    meaning: 'There is no link to remove for this entity.',
    fields: ['entity_type', 'local_id'],
    action: 'Nothing to do; reload the links.',
  },
  'whmcs.customer_not_found': { status: 404, meaning: 'No local customer with this id.', fields: ['local_id'], action: 'Check the id (GET /api/users).' },
  'whmcs.client_not_found': {
    status: 404,
    meaning: 'WHMCS has no client with this id.',
    fields: ['whmcs_id'],
    action: 'Check the WHMCS id (POST /api/whmcs/clients/list).',
  },
  'whmcs.client_gone': {
    status: 404,
    meaning: 'The linked WHMCS client no longer exists in WHMCS.',
    fields: ['whmcs_id'],
    action: 'Unlink the customer and push it again.',
  },
  'whmcs.customer_without_email': {
    status: 422,
    meaning: 'The customer has no email, which WHMCS requires.',
    fields: ['local_id', 'missing_fields'],
    action: 'Add the email (in Wispro) and sync, then push again.',
  },
  'whmcs.missing_fields': {
    status: 422,
    meaning: 'The customer lacks fields WHMCS requires (address, city, phone...).',
    fields: ['local_id', 'missing_fields'],
    action: 'Fill in `missing_fields` (or set the WHMCS_DEFAULT_* settings) and push again.',
  },
  'whmcs.rejected': {
    status: 422,
    meaning: 'WHMCS refused the update for another reason (its message is quoted).',
    fields: ['whmcs_id'],
    action: "Read WHMCS's reason in the message and correct the data.",
  },

  // ── Zoho ───────────────────────────────────────────────────────────────────────────────────
  'zoho.not_configured': {
    status: 503,
    meaning: 'ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET or ZOHO_REFRESH_TOKEN is not set.',
    action: 'An administrator sets the Zoho settings.',
  },
  'zoho.config_error': {
    status: 502,
    meaning: "Zoho refused Puente's credentials or settings (bad client, wrong report or field); waiting will not fix it.",
    action: 'An administrator checks the Zoho settings (docs/zoho.md).',
  },
  'zoho.reveal_forbidden': {
    status: 403,
    meaning: 'Only an administrator may see the access code itself (`reveal=true`).',
    action: 'Ask without `reveal`, or as an administrator.',
  },

  // ── Orders change feed (/sync) ─────────────────────────────────────────────────────────────
  'sync.missing_api_key': { status: 401, meaning: 'No API key (`Authorization: Bearer <api key>`).', action: "Send the sync client's API key." },
  'sync.invalid_api_key': { status: 401, meaning: 'The API key is unknown or was revoked.', action: 'Ask an administrator for a new key.' },
  'sync.customer_not_found': {
    status: 422,
    meaning: "An order's `customer_id` is not a Puente user.",
    fields: ['customer_id'],
    action: 'Use an existing user id, or omit it and send `external_ref`.',
  },
  'sync.order_not_found': { status: 404, meaning: 'No order with this id.', fields: ['order_id'], action: 'Check the id.' },
  'sync.order_cancelled': {
    status: 409,
    meaning: 'The order is cancelled and cannot be changed.',
    fields: ['order_id'],
    action: 'Create a new order instead.',
  },
  'sync.order_already_cancelled': { status: 409, meaning: 'The order was already cancelled.', fields: ['order_id'], action: 'Nothing to do.' },
  'sync.seq_beyond_delivered': {
    status: 400,
    meaning: 'A confirmation names a `seq` past what the client was delivered.',
    fields: ['seq', 'delivered_upto'],
    action: 'Confirm only what was received (at most `delivered_upto`).',
  },
  'sync.client_name_taken': { status: 409, meaning: 'A sync client with this name already exists.', fields: ['name'], action: 'Choose another name.' },
  'sync.client_not_found': {
    status: 404,
    meaning: 'No active sync client with this id (or it was already revoked).',
    fields: ['client_id'],
    action: 'Reload the list.',
  },

  // ── Bulk WhatsApp sending ──────────────────────────────────────────────────────────────────
  'messaging.not_multipart': { status: 400, meaning: 'The upload was not `multipart/form-data`.', action: 'Send a multipart form with the `file` field.' },
  'messaging.file_required': { status: 400, meaning: 'The form has no `file` field.', action: 'Attach the file as `file`.' },
  'messaging.one_file': { status: 400, meaning: 'More than one file in the form.', action: 'Send one file per request.' },
  'messaging.unexpected_field': { status: 400, meaning: 'A file came in a field other than `file`.', fields: ['field'], action: 'Send the file as `file`.' },
  'messaging.too_many_fields': {
    status: 400,
    meaning: 'The form has more fields than the route reads.',
    action: 'Send only `file`, `message`, `devices_limit` (and `confirm_duplicate`).',
  },
  'messaging.malformed_multipart': {
    status: 400,
    meaning: 'The multipart body could not be parsed.',
    action: 'Send a well-formed form (let the HTTP client build it).',
  },
  'messaging.bad_file_type': { status: 400, meaning: 'The file is not `.csv` or `.txt`.', fields: ['file_name'], action: 'Save the list as CSV or text.' },
  'messaging.file_too_large': { status: 413, meaning: 'The file is over the size limit.', fields: ['max_mb'], action: 'Split the file into several.' },
  'messaging.too_many_recipients': {
    status: 413,
    meaning: 'The file has more recipients than allowed in one send.',
    fields: ['max_recipients'],
    action: 'Split the file into several.',
  },
  'messaging.bad_encoding': { status: 400, meaning: 'The file is not UTF-8.', action: 'Save the file as UTF-8.' },
  'messaging.line_too_long': {
    status: 400,
    meaning: 'A line is longer than allowed (often a file that is not one recipient per line).',
    fields: ['line', 'max_bytes'],
    action: "Check the file's line endings and format.",
  },
  'messaging.nul_byte': { status: 400, meaning: 'A line contains a NUL character.', fields: ['line'], action: 'Remove it (the file may not be text).' },
  'messaging.empty_file': { status: 400, meaning: 'The file has no recipients.', action: 'Send a file with at least one recipient.' },
  'messaging.message_required': { status: 400, meaning: 'The `message` field is empty.', action: 'Write the message.' },
  'messaging.message_too_long': { status: 400, meaning: 'The message is over the length limit.', fields: ['max_length'], action: 'Shorten the message.' },
  'messaging.invalid_devices_limit': {
    status: 400,
    meaning: '`devices_limit` is not an integer from 1 to 100.',
    fields: ['min', 'max'],
    action: 'Send an integer from 1 to 100.',
  },
  'messaging.no_devices': {
    status: 400,
    meaning: 'No device is active to send through.',
    action: 'Connect or activate a device (GET /api/devices), then send again.',
  },
  'messaging.duplicate_send': {
    status: 409,
    meaning: 'The same file with the same message was sent recently.',
    fields: ['job_id', 'duplicate_of', 'minutes_ago'],
    action: 'Ask the user; to send again, repeat with `confirm_duplicate=true`.',
  },
  'messaging.not_bulk_send': {
    status: 404,
    meaning: 'The job exists but is not a bulk send, so it has no per-recipient results.',
    fields: ['job_id'],
    action: "Use the job's items (GET /jobs/{id}/items).",
  },

  // ── Devices ────────────────────────────────────────────────────────────────────────────────
  'devices.not_found': {
    status: 404,
    meaning: 'No device with this id (for a webhook: none of this provider).',
    fields: ['device_id'],
    action: 'Check the id (GET /api/devices).',
  },
  'devices.admin_only': {
    status: 403,
    meaning: "Only an administrator may change a device's credentials, base_url or provider.",
    action: 'Ask an administrator.',
  },
  'devices.base_url_required': {
    status: 400,
    meaning: 'This provider needs the base URL of its server.',
    fields: ['provider', 'details'],
    action: 'Send `base_url`.',
  },
  'devices.base_url_invalid': { status: 400, meaning: '`base_url` is not a valid URL.', action: 'Send a full URL (https://...).' },
  'devices.base_url_not_https': {
    status: 400,
    meaning: '`base_url` must use https (ALLOW_INSECURE_PROVIDER_URLS=true allows http).',
    fields: ['details'],
    action: 'Use https.',
  },
  'devices.base_url_credentials': {
    status: 400,
    meaning: '`base_url` carries a user or password.',
    action: 'Remove them from the URL; send credentials in `credentials`.',
  },
  'devices.base_url_self': { status: 400, meaning: '`base_url` points at Puente itself.', fields: ['details'], action: "Use the provider's address." },
  'devices.missing_credentials': {
    status: 400,
    meaning: 'Credentials the provider needs are missing.',
    fields: ['provider', 'missing'],
    action: 'Send the `missing` credentials.',
  },
  'devices.credentials_required': {
    status: 400,
    meaning: 'Changing base_url or provider requires sending the credentials again.',
    fields: ['missing', 'details'],
    action: 'Send the credentials with the change.',
  },
  'devices.invalid_gaps': {
    status: 400,
    meaning: '`max_gap_ms` is smaller than `min_gap_ms`.',
    fields: ['min_gap_ms', 'max_gap_ms'],
    action: 'Make `max_gap_ms` at least `min_gap_ms`.',
  },

  // ── Opt-outs (suppressions) ────────────────────────────────────────────────────────────────
  'suppressions.invalid_phone': {
    status: 400,
    meaning: 'The phone number cannot be read as a number.',
    fields: ['phone'],
    action: 'Send the number with its country code.',
  },
  'suppressions.not_found': { status: 404, meaning: 'The number is not on the opt-out list.', fields: ['phone'], action: 'Nothing to do.' },

  // ── Provider webhooks ──────────────────────────────────────────────────────────────────────
  'webhooks.bad_signature': {
    status: 401,
    meaning: "The webhook signature is missing or does not match the device's secret.",
    action: "Configure the provider with the device's webhook secret.",
  },
  'webhooks.bad_verify_token': {
    status: 403,
    meaning: "The subscription check's verify_token is wrong.",
    action: "Configure the provider with the device's verify token.",
  },
  'webhooks.body_not_json': { status: 400, meaning: 'The webhook body is not JSON.', action: 'The provider must send JSON.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;
