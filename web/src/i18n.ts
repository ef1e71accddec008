import { signal } from './signal.ts';

const es = {
  appName: 'Puente', login: 'Iniciar sesión', logout: 'Cerrar sesión', email: 'Correo', password: 'Contraseña', code: 'Código de acceso',
  withCode: 'Entrar con código', withPassword: 'Entrar con correo', enter: 'Entrar', jobs: 'Trabajos', customers: 'Clientes', bulk: 'Envío masivo',
  devices: 'Dispositivos', zoho: 'Zoho', syncClients: 'Clientes de sincronización', status: 'Estado', type: 'Tipo', created: 'Creado', progress: 'Progreso',
  cancel: 'Cancelar', pause: 'Pausar', resume: 'Reanudar', retry: 'Reintentar', retryOf: 'reintento de {id}', results: 'Resultados (CSV)', search: 'Buscar', syncWispro: 'Sincronizar Wispro',
  name: 'Nombre', zone: 'Zona', idNumber: 'Cédula', phone: 'Teléfono', address: 'Dirección', previous: 'Anterior', next: 'Siguiente', page: 'Página', of: 'de',
  file: 'Archivo (.csv o .txt, separado por |)', message: 'Mensaje (usa @valor1, @valor2…)', devicesLimit: 'Límite de dispositivos', send: 'Enviar',
  preview: 'Vista previa', recipients: 'destinatarios', invalid: 'números inválidos', repeats: 'repetidos', sent: 'Enviados', failed: 'Fallidos',
  uncertain: 'Inciertos', total: 'Total', error: 'Error', loading: 'Cargando…', none: 'Nada por aquí todavía.', whmcs: 'WHMCS', push: 'Enviar a WHMCS',
  update: 'Actualizar en WHMCS', check: 'Verificar', unlink: 'Desvincular', link: 'Vincular', logs: 'Registros', stats: 'Estadísticas', add: 'Agregar',
  save: 'Guardar', edit: 'Editar', remove: 'Eliminar', provider: 'Proveedor', connected: 'Conectado', disconnected: 'Desconectado', paused: 'En pausa',
  active: 'Activo', pacing: 'Ritmo', activeCode: 'Código activo', age: 'Antigüedad', history: 'Historial', products: 'Productos', lastSync: 'Última sincronización',
  lag: 'Retraso del cursor', lastSeen: 'Visto por última vez', orders: 'Órdenes recientes', close: 'Cerrar', language: 'Idioma', details: 'Detalle',
  syncNow: 'Sincronizar ahora', yes: 'Sí', no: 'No', all: 'Todos', pagination: 'Paginación', actions: 'Acciones',
  // Job statuses
  st_pending: 'Pendiente', st_processing: 'En proceso', st_paused: 'En pausa', st_completed: 'Completado', st_failed: 'Fallido', st_cancelled: 'Cancelado',
  // Devices
  addDevice: 'Agregar dispositivo', editDevice: 'Editar dispositivo', baseUrl: 'URL base', checkNow: 'Verificar ahora', connection: 'Conexión',
  sentToday: 'Enviados hoy', reason: 'Motivo', lastCheck: 'Última verificación', credentials: 'Credenciales', keepSecret: 'Dejar vacío para conservar el valor actual',
  cred_access_token: 'Token de acceso', cred_phone_number_id: 'ID del número de teléfono', cred_api_version: 'Versión de la API (opcional)',
  cred_business_account_id: 'ID de la cuenta de WhatsApp Business (opcional)', cred_api_key: 'API key', cred_instance: 'Instancia',
  cred_session: 'Sesión (opcional, «default»)', cred_token: 'Token', cred_device_id: 'ID del dispositivo',
  messagesPerMinute: 'Mensajes por minuto', minGap: 'Pausa mínima entre mensajes (ms)', maxGap: 'Pausa máxima entre mensajes (ms)',
  pauseAfter: 'Descansar después de N mensajes', pauseSeconds: 'Duración del descanso (s)', dailyCap: 'Tope diario', typingDelay: 'Tiempo «escribiendo…» (ms)',
  templateName: 'Plantilla aprobada (Cloud API)', templateLanguage: 'Idioma de la plantilla', emptyIsUnlimited: 'Vacío: sin límite',
  perMinute: 'msg/min', gap: 'pausa', restEvery: 'descanso de {s} s cada {n}', perDay: 'por día', noPacing: 'Sin límites de ritmo',
  sendingJob: 'Enviando (trabajo {id})', confirmRemove: '¿Eliminar el dispositivo «{name}»?', deviceSaved: 'Dispositivo guardado.',
  readyDevices: 'Dispositivos listos para enviar: {n}', noReadyDevices: 'No hay dispositivos activos y conectados: agrega o reanuda uno en Dispositivos.',
  // Bulk
  previewing: 'Calculando la vista previa…', validRecipients: 'mensajes a enviar', headerSkipped: 'Se omitió la fila de encabezado.',
  firstMessages: 'Primeros mensajes', invalidRows: 'Números inválidos', numbersInFile: 'filas con número',
  // WHMCS
  whmcsState: 'Estado en WHMCS', synced: 'Sincronizado', whmcsId: 'ID en WHMCS', syncStatus: 'Estado de sincronización', lastError: 'Último error',
  existsInWhmcs: 'Existe en WHMCS', notLinked: 'Sin vincular', linkTo: 'Vincular con el cliente WHMCS #{id}', missingFields: 'Faltan campos',
  testConnection: 'Probar conexión', connectionOk: 'Conexión correcta: WHMCS {version} en {ms} ms', totalSynced: 'Sincronizados',
  totalPending: 'Pendientes', totalErrors: 'Con error', lastActivity: 'Última actividad', operation: 'Operación', action: 'Acción',
  localId: 'ID local', duration: 'Duración', days: 'Días', lastDays: 'Últimos {n} días', refresh: 'Actualizar', when: 'Fecha',
  sc_synced: 'sincronizado', sc_pending: 'pendiente', sc_error: 'error', ls_success: 'Correcto', ls_error: 'Error',
  pushedNotice: 'Cliente enviado a WHMCS.', updatedNotice: 'Cliente actualizado en WHMCS.', linkedNotice: 'Cliente vinculado con WHMCS.',
  unlinkedNotice: 'Cliente desvinculado de WHMCS (en WHMCS no se borró nada).',
};
export type Key = keyof typeof es;
const en: Record<Key, string> = {
  appName: 'Puente', login: 'Log in', logout: 'Log out', email: 'Email', password: 'Password', code: 'Access code',
  withCode: 'Log in with a code', withPassword: 'Log in with email', enter: 'Enter', jobs: 'Jobs', customers: 'Customers', bulk: 'Bulk send',
  devices: 'Devices', zoho: 'Zoho', syncClients: 'Sync clients', status: 'Status', type: 'Type', created: 'Created', progress: 'Progress',
  cancel: 'Cancel', pause: 'Pause', resume: 'Resume', retry: 'Retry', retryOf: 'retry of {id}', results: 'Results (CSV)', search: 'Search', syncWispro: 'Sync Wispro',
  name: 'Name', zone: 'Zone', idNumber: 'ID number', phone: 'Phone', address: 'Address', previous: 'Previous', next: 'Next', page: 'Page', of: 'of',
  file: 'File (.csv or .txt, |-separated)', message: 'Message (use @valor1, @valor2…)', devicesLimit: 'Devices limit', send: 'Send',
  preview: 'Preview', recipients: 'recipients', invalid: 'invalid numbers', repeats: 'repeats', sent: 'Sent', failed: 'Failed',
  uncertain: 'Uncertain', total: 'Total', error: 'Error', loading: 'Loading…', none: 'Nothing here yet.', whmcs: 'WHMCS', push: 'Push to WHMCS',
  update: 'Update in WHMCS', check: 'Check', unlink: 'Unlink', link: 'Link', logs: 'Logs', stats: 'Stats', add: 'Add',
  save: 'Save', edit: 'Edit', remove: 'Remove', provider: 'Provider', connected: 'Connected', disconnected: 'Disconnected', paused: 'Paused',
  active: 'Active', pacing: 'Pacing', activeCode: 'Active code', age: 'Age', history: 'History', products: 'Products', lastSync: 'Last sync',
  lag: 'Cursor lag', lastSeen: 'Last seen', orders: 'Recent orders', close: 'Close', language: 'Language', details: 'Details',
  syncNow: 'Sync now', yes: 'Yes', no: 'No', all: 'All', pagination: 'Pagination', actions: 'Actions',
  st_pending: 'Pending', st_processing: 'Processing', st_paused: 'Paused', st_completed: 'Completed', st_failed: 'Failed', st_cancelled: 'Cancelled',
  addDevice: 'Add a device', editDevice: 'Edit device', baseUrl: 'Base URL', checkNow: 'Check now', connection: 'Connection',
  sentToday: 'Sent today', reason: 'Reason', lastCheck: 'Last check', credentials: 'Credentials', keepSecret: 'Leave empty to keep the current value',
  cred_access_token: 'Access token', cred_phone_number_id: 'Phone number ID', cred_api_version: 'API version (optional)',
  cred_business_account_id: 'WhatsApp Business account ID (optional)', cred_api_key: 'API key', cred_instance: 'Instance',
  cred_session: 'Session (optional, “default”)', cred_token: 'Token', cred_device_id: 'Device ID',
  messagesPerMinute: 'Messages per minute', minGap: 'Minimum gap between messages (ms)', maxGap: 'Maximum gap between messages (ms)',
  pauseAfter: 'Rest after N messages', pauseSeconds: 'Rest length (s)', dailyCap: 'Daily cap', typingDelay: '“Typing…” time (ms)',
  templateName: 'Approved template (Cloud API)', templateLanguage: 'Template language', emptyIsUnlimited: 'Empty: no limit',
  perMinute: 'msg/min', gap: 'gap', restEvery: '{s} s rest every {n}', perDay: 'per day', noPacing: 'No pacing limits',
  sendingJob: 'Sending (job {id})', confirmRemove: 'Remove the device “{name}”?', deviceSaved: 'Device saved.',
  readyDevices: 'Devices ready to send: {n}', noReadyDevices: 'No device is active and connected: add or resume one under Devices.',
  previewing: 'Computing the preview…', validRecipients: 'messages to send', headerSkipped: 'The header row was skipped.',
  firstMessages: 'First messages', invalidRows: 'Invalid numbers', numbersInFile: 'rows with a number',
  whmcsState: 'WHMCS state', synced: 'Synced', whmcsId: 'WHMCS ID', syncStatus: 'Sync status', lastError: 'Last error',
  existsInWhmcs: 'Exists in WHMCS', notLinked: 'Not linked', linkTo: 'Link to WHMCS client #{id}', missingFields: 'Missing fields',
  testConnection: 'Test connection', connectionOk: 'Connection OK: WHMCS {version} in {ms} ms', totalSynced: 'Synced',
  totalPending: 'Pending', totalErrors: 'With errors', lastActivity: 'Last activity', operation: 'Operation', action: 'Action',
  localId: 'Local ID', duration: 'Duration', days: 'Days', lastDays: 'Last {n} days', refresh: 'Refresh', when: 'Date',
  sc_synced: 'synced', sc_pending: 'pending', sc_error: 'error', ls_success: 'Success', ls_error: 'Error',
  pushedNotice: 'Customer pushed to WHMCS.', updatedNotice: 'Customer updated in WHMCS.', linkedNotice: 'Customer linked to WHMCS.',
  unlinkedNotice: 'Customer unlinked from WHMCS (nothing was deleted in WHMCS).',
};

export const lang = signal<'es' | 'en'>((localStorage.getItem('puente.lang') as 'es' | 'en') ?? 'es');
export const t = (k: Key) => (lang.value === 'en' ? en : es)[k];
/** `t` with `{name}` placeholders filled in. */
export const tf = (k: Key, vars: Record<string, string | number>) => t(k).replace(/\{(\w+)\}/g, (m, v: string) => (v in vars ? String(vars[v]) : m));
/** A translated label for a value from the API (`st_completed`…), or the value itself when there is none. */
export function label(prefix: 'st' | 'sc' | 'ls' | 'cred', value: string | null | undefined): string {
  if (!value) return '—';
  const k = `${prefix}_${value}` as Key;
  return k in es ? t(k) : value;
}
export function setLang(l: 'es' | 'en') {
  localStorage.setItem('puente.lang', l);
  document.documentElement.lang = l;
  lang.value = l;
}

/** A date in the interface's language; `—` when absent. */
export function when(v: string | number | Date | null | undefined): string {
  if (v === null || v === undefined || v === '') return '—';
  // The WHMCS routes answer `YYYY-MM-DD HH:MM:SS` in UTC; Date wants a `T` and a zone for that.
  const d = typeof v === 'string' && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(v) ? new Date(`${v.replace(' ', 'T')}Z`) : new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : d.toLocaleString(lang.value === 'en' ? 'en-GB' : 'es');
}
