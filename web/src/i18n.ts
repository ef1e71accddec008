import { signal } from './signal.ts';

const es = {
  appName: 'Puente', login: 'Iniciar sesión', logout: 'Cerrar sesión', email: 'Correo', password: 'Contraseña', code: 'Código de acceso',
  withCode: 'Entrar con código', withPassword: 'Entrar con correo', enter: 'Entrar', jobs: 'Trabajos', customers: 'Clientes', bulk: 'Envío masivo',
  devices: 'Dispositivos', zoho: 'Zoho', syncClients: 'Clientes de sincronización', status: 'Estado', type: 'Tipo', created: 'Creado', progress: 'Progreso',
  cancel: 'Cancelar', pause: 'Pausar', resume: 'Reanudar', retry: 'Reintentar', retryOf: 'reintento de {id}', results: 'Resultados (CSV)', search: 'Buscar', syncWispro: 'Sincronizar Wispro', nextWisproSync: 'Próxima sincronización automática', wisproSyncOff: 'Sincronización automática desactivada',
  name: 'Nombre', zone: 'Zona', idNumber: 'Cédula', phone: 'Teléfono', address: 'Dirección', previous: 'Anterior', next: 'Siguiente', page: 'Página', of: 'de',
  file: 'Archivo (.csv o .txt, separado por |)', message: 'Mensaje (usa @valor1, @valor2…)', devicesLimit: 'Límite de dispositivos', send: 'Enviar',
  preview: 'Vista previa', recipients: 'destinatarios', invalid: 'números inválidos', repeats: 'repetidos', sent: 'Enviados', failed: 'Fallidos',
  uncertain: 'Inciertos', delivered: 'Entregados', read: 'Leídos', suppressed: 'Dados de baja', total: 'Total', error: 'Error', loading: 'Cargando…', none: 'Nada por aquí todavía.', whmcs: 'WHMCS', push: 'Enviar a WHMCS',
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
  tooLongRows: '{n} filas superan los {max} caracteres de WhatsApp y fallarán (líneas {lines})', tooLongSample: '(mensaje de {n} caracteres: demasiado largo)',
  // WHMCS
  whmcsState: 'Estado en WHMCS', synced: 'Sincronizado', whmcsId: 'ID en WHMCS', syncStatus: 'Estado de sincronización', lastError: 'Último error',
  existsInWhmcs: 'Existe en WHMCS', notLinked: 'Sin vincular', linkTo: 'Vincular con el cliente WHMCS #{id}', missingFields: 'Faltan campos',
  testConnection: 'Probar conexión', connectionOk: 'Conexión correcta: WHMCS {version} en {ms} ms', totalSynced: 'Sincronizados',
  totalPending: 'Pendientes', totalErrors: 'Con error', lastActivity: 'Última actividad', operation: 'Operación', action: 'Acción',
  localId: 'ID local', duration: 'Duración', days: 'Días', lastDays: 'Últimos {n} días', refresh: 'Actualizar', when: 'Fecha',
  sc_synced: 'sincronizado', sc_pending: 'pendiente', sc_error: 'error', ls_success: 'Correcto', ls_error: 'Error',
  pushedNotice: 'Cliente enviado a WHMCS.', updatedNotice: 'Cliente actualizado en WHMCS.', linkedNotice: 'Cliente vinculado con WHMCS.',
  unlinkedNotice: 'Cliente desvinculado de WHMCS (en WHMCS no se borró nada).',
  // Operator's dashboard
  whatToDo: 'Qué hacer', baseUrlOptional: 'URL base (opcional: vacío usa la de Meta)',
  fix_unreachable: 'No se pudo contactar el servidor del proveedor: revise la URL base y que el servidor esté encendido y accesible.',
  fix_credentials: 'El proveedor rechazó la clave o el token: revise las credenciales (Editar) y que no hayan vencido.',
  fix_not_found: 'El servidor no conoce esa instancia, sesión o número: revise el ID o la instancia en Editar, y la URL base.',
  fix_session: 'La sesión de WhatsApp no está conectada: abra el panel del proveedor, escanee el código QR con el teléfono y pulse «Verificar ahora».',
  ds_open: 'sesión abierta', ds_close: 'sesión cerrada', ds_connecting: 'conectando', ds_working: 'funcionando', ds_stopped: 'sesión detenida',
  ds_starting: 'iniciando', ds_scan_qr_code: 'esperando que se escanee el código QR', ds_failed: 'sesión con fallo', ds_connected: 'conectado',
  ds_disconnected: 'desconectado', ds_unreachable: 'servidor inalcanzable', ds_banned: 'número bloqueado por WhatsApp',
  ds_http_401: 'clave rechazada (HTTP 401)', ds_http_403: 'sin permiso (HTTP 403)', ds_http_404: 'no encontrado (HTTP 404)',
  missingFieldsIntro: 'WHMCS no acepta a este cliente todavía. A su ficha le falta:', missingFieldsFix: 'Complete esos datos en Wispro y sincronice de nuevo; la ciudad, el estado y el código postal por defecto los fija un administrador.',
  mf_firstname: 'un nombre', mf_lastname: 'un apellido (el nombre tiene una sola palabra)', mf_email: 'un correo electrónico válido', mf_address1: 'una dirección',
  mf_city: 'la ciudad', mf_state: 'el estado o provincia', mf_postcode: 'el código postal', mf_country: 'el país', mf_phonenumber: 'un teléfono',
  wo_push: 'Envío a WHMCS', wo_update: 'Actualización en WHMCS', wo_pull: 'Traído de WHMCS', wo_check: 'Verificación', wo_link: 'Vínculo', wo_unlink: 'Desvínculo',
  wo_test: 'Prueba de conexión', wo_list: 'Lista de clientes', wa_AddClient: 'crear el cliente en WHMCS', wa_UpdateClient: 'actualizar el cliente en WHMCS',
  wa_GetClientsDetails: 'leer el cliente en WHMCS', wa_GetClients: 'buscar clientes en WHMCS', wa_WhmcsDetails: 'leer la versión de WHMCS',
  wa_map_link: 'vincular con un cliente de WHMCS', wa_map_unlink: 'quitar el vínculo', wa_local_create: 'crear el cliente en Puente', wa_local_update: 'actualizar el cliente en Puente',
  neverRan: 'Todavía no se ha ejecutado.', everyMinutes: 'Cada {n} min', scheduleOff: 'Sin programación automática', nextRun: 'próxima: {when}',
  codesKept: 'Códigos guardados', codesCount: '{n} ({expired} vencidos)', noActiveCode: 'No hay un código activo todavía.', codeSync: 'Sincronización del código',
  productSync: 'Sincronización de productos', codeActive: 'Activo', codeExpired: 'Vencido el {when}', sku: 'SKU', price: 'Precio', stock: 'Existencia',
  inactive: 'Inactivo', updated: 'Actualizado',
  zo_initialized: 'primer código guardado', zo_rotated: 'código nuevo (el anterior venció)', zo_unchanged: 'el código no cambió', zo_no_records: 'Zoho no devolvió registros; se mantiene el código',
  zo_full: 'lectura completa', zo_incremental: 'solo cambios', zr_pages: '{n} páginas', zr_upserted: '{n} productos guardados', zr_inactive: '{n} desactivados', zr_invalid: '{n} ilegibles',
  orderNumber: 'Orden', os_pending: 'pendiente', os_confirmed: 'confirmada', os_cancelled: 'cancelada', os_completed: 'completada',
  suppressed_n: 'Dados de baja {n}',
  menu: 'Menú', searchHint: 'Nombre, correo, zona o cédula (con o sin puntos)', searching: 'Buscando…', customersTotal: '{n} clientes',
  customersFound: '{n} clientes coinciden con «{q}»', noCustomersFor: 'Ningún cliente coincide con «{q}».', noCustomers: 'Todavía no hay clientes: sincronice Wispro.',
  st_completed_with_errors: 'Completado con errores', oc_failed: 'Falló', oc_with_errors: 'Completado con errores', oc_ok: 'Completado', oc_cancelled: 'Cancelado',
  'jt_wispro.sync': 'Sincronización de Wispro', 'jt_messaging.bulk-send': 'Envío masivo de WhatsApp', 'jt_whmcs.push-all': 'Envío de clientes a WHMCS',
  'jt_zoho.code-sync': 'Sincronización del código de Zoho', 'jt_zoho.product-sync': 'Sincronización de productos de Zoho', 'jt_platform.jobs-cleanup': 'Limpieza de trabajos antiguos',
  allTypes: 'Todos los tipos', allStatuses: 'Todos los estados', showScheduled: 'Mostrar ejecuciones programadas', jobsTotal: '{n} trabajos',
  ratePerMinute: '{n}/min', eta: 'faltan ~{t}', etaUnknown: 'calculando…', scheduledRun: 'programado',
  created_n: 'Creados {n}', updated_n: 'Actualizados {n}', unchanged_n: 'Sin cambios {n}', skipped_n: 'Omitidos {n}', errors_n: 'Errores {n}',
  conflicts_n: 'Ya en WHMCS {n}', invalid_n: 'Incompletos {n}', processed_n: 'Procesados {n} de {total}', pages_n: 'Página {n} de {total}',
  sentOf: '{sent} de {total} enviados', failedN: '{n} fallidos', withErrorsSummary: '{ok} bien, {bad} con problemas',
  viewFailures: 'Ver fallos', viewFailuresOf: 'Ver fallos de «{name}»', hideFailuresOf: 'Ocultar fallos de «{name}»', failuresOf: 'Fallos de «{name}»', hideFailures: 'Ocultar fallos',
  noFailures: 'No hubo fallos.', showRows: 'Ver filas', recipient: 'Destinatario', values: 'Valores', device: 'Dispositivo', outcome: 'Resultado',
  cancelJob: 'Cancelar «{name}»', pauseJob: 'Pausar «{name}»', resumeJob: 'Reanudar «{name}»', retryJob: 'Reintentar «{name}»', resultsOf: 'Resultados (CSV) de «{name}»',
  confirmCancelTitle: '¿Cancelar «{name}»?', confirmCancelBody: 'Lo que falta no se enviará. Lo ya enviado no se puede deshacer.', keepRunning: 'No, seguir',
  confirmCancelYes: 'Sí, cancelar',
  confirmSendTitle: '¿Enviar {n} mensajes?', confirmSendBody: 'Se enviarán {n} mensajes con {devices} dispositivo(s). Tiempo estimado: {duration}.',
  confirmSendYes: 'Sí, enviar', back: 'Volver', durationUnknown: 'según el ritmo de cada dispositivo', minutes: '{n} min', hours: '{h} h {m} min', lessThanMinute: 'menos de un minuto',
  sendAnyway: 'Enviar de todos modos', creatingSend: 'Creando el envío…',
  wrongSeparator: 'El archivo parece separado por «{separator}». Puente espera «|» entre el teléfono y cada valor (por ejemplo 04141234567|Ana|1001). Corrija el archivo y vuelva a elegirlo: no se puede enviar así.',
  missingColumn: 'El mensaje usa {placeholder}, pero el archivo solo tiene {columns} columna(s) después del teléfono: ese lugar se enviaría como «---».',
  duplicateInPreview: 'Este archivo con este mensaje ya se envió el {when} (trabajo «{name}»). Enviar otra vez pedirá confirmación.',
  'err_messaging.duplicate_send': 'Este archivo con este mensaje ya se envió hace {minutes_ago} min (trabajo «{name}»). ¿Enviarlo otra vez?',
  'err_messaging.file_too_large': 'El archivo es demasiado grande para enviarlo de una vez (máximo {max_mb} MB): divídalo en varios.',
  'err_messaging.too_many_recipients': 'El archivo tiene más destinatarios de los permitidos ({max_recipients}): divídalo en varios.',
  'err_messaging.no_devices': 'No hay ningún dispositivo activo para enviar: conecte o active uno en Dispositivos y vuelva a intentarlo.',
  'err_messaging.empty_file': 'El archivo no tiene destinatarios.', 'err_messaging.bad_encoding': 'El archivo no está en UTF-8: guárdelo como UTF-8 y vuelva a elegirlo.',
  'err_messaging.bad_file_type': 'El archivo debe ser .csv o .txt.', 'err_messaging.line_too_long': 'La línea {line} es demasiado larga: ¿tiene el archivo un destinatario por línea?',
  'err_messaging.nul_byte': 'La línea {line} contiene un carácter nulo: ¿es de verdad un archivo de texto?', 'err_messaging.message_required': 'Escriba el mensaje.',
  'err_messaging.message_too_long': 'El mensaje es demasiado largo (máximo {max_length} caracteres).', 'err_messaging.invalid_devices_limit': 'El número de dispositivos debe estar entre {min} y {max}.',
  'err_whmcs.email_exists': 'WHMCS ya tiene un cliente con ese correo (#{whmcs_id}): puede vincularlo en lugar de crear otro.', 'err_whmcs.disabled': 'La conexión con WHMCS está desactivada.',
  'err_whmcs.email_in_use': 'Otro cliente de WHMCS ya usa ese correo: resuelva el duplicado en WHMCS.',
  'err_whmcs.already_linked': 'El cliente #{whmcs_id} de WHMCS ya está vinculado a otro cliente ({linked_to}).', 'err_whmcs.local_already_linked': 'Este cliente ya está vinculado al cliente #{whmcs_id} de WHMCS: desvincúlelo primero.',
  'err_whmcs.not_linked': 'Este cliente aún no está en WHMCS: envíelo primero.', 'err_whmcs.client_gone': 'El cliente #{whmcs_id} ya no existe en WHMCS: desvincúlelo y vuelva a enviarlo.',
  'err_whmcs.client_not_found': 'WHMCS no tiene un cliente #{whmcs_id}.',
  'err_whmcs.not_configured': 'La conexión con WHMCS no está configurada todavía: pida a un administrador que la configure.',
  'err_wispro.not_configured': 'La conexión con Wispro no está configurada todavía: pida a un administrador que la configure.',
  'err_zoho.not_configured': 'La conexión con Zoho no está configurada todavía: pida a un administrador que la configure.',
  'err_zoho.config_error': 'Zoho rechazó la configuración de Puente: pida a un administrador que la revise.',
  'err_auth.forbidden': 'Su cuenta no tiene permiso para esto.', 'err_devices.admin_only': 'Solo un administrador puede cambiar las credenciales, la URL o el proveedor de un dispositivo.',
  'err_zoho.reveal_forbidden': 'Solo un administrador puede ver el código.',
  'err_auth.invalid_credentials': 'Correo o contraseña incorrectos.', 'err_auth.invalid_code': 'El código no es válido o ya venció.',
  'err_auth.session_ended': 'Su sesión terminó: inicie sesión de nuevo.', 'err_auth.wrong_password': 'La contraseña actual no coincide.',
  'err_users.password_too_short': 'La contraseña debe tener al menos {min_length} caracteres.',
  err_rate_limited: 'Demasiados intentos seguidos: espere {retry_after} s y vuelva a probar.', 'err_database.unavailable': 'La base de datos no está disponible en este momento: vuelva a probar en unos segundos.', 'err_devices.base_url_required': 'Este proveedor necesita la URL base de su servidor.',
  'err_devices.missing_credentials': 'Faltan credenciales para {provider}.', 'err_devices.base_url_not_https': 'La URL base debe usar https.',
  'err_devices.invalid_gaps': 'La pausa máxima debe ser mayor o igual que la mínima.',
  'err_whmcs.customer_without_email': 'Este cliente no tiene correo y WHMCS exige uno: agréguelo en Wispro y vuelva a intentarlo.',
  'err_job.not_retryable': 'Este trabajo no se puede reintentar ahora.', 'err_job.not_found': 'Ese trabajo ya no existe.',
  'err_job.not_paused': 'Solo un trabajo en pausa se puede reanudar.', 'err_job.not_pausable': 'Este trabajo ya no se puede pausar.', 'err_job.not_cancellable': 'Este trabajo ya terminó: no hay nada que cancelar.',
  'err_devices.base_url_invalid': 'La URL base no es una dirección válida.', 'err_devices.base_url_self': 'La URL base apunta a Puente mismo: use la dirección del proveedor.',
  'err_devices.base_url_credentials': 'Quite el usuario y la contraseña de la URL base y escríbalos en las credenciales.',
  'err_devices.credentials_required': 'Al cambiar la URL base o el proveedor hay que escribir de nuevo las credenciales.', 'err_devices.not_found': 'Ese dispositivo ya no existe.',
  'err_sync.client_name_taken': 'Ya hay un cliente de sincronización con ese nombre.', 'err_messaging.one_file': 'Envíe un solo archivo.',
  err_upstream_error: 'El servicio externo ({service}) respondió con un error: vuelva a intentarlo más tarde.', err_upstream_timeout: 'El servicio externo ({service}) no respondió a tiempo: vuelva a intentarlo más tarde.',
  'rc_messaging.not_on_whatsapp': 'números sin WhatsApp', 'rc_messaging.invalid_number': 'números inválidos', 'rc_messaging.uncertain': 'en duda (en curso durante un reinicio)',
  'rc_messaging.not_sent': 'no enviados', 'rc_messaging.outside_window': 'fuera de la ventana de 24 h (requieren plantilla)', 'rc_messaging.template': 'problemas con la plantilla',
  'rc_messaging.too_long': 'mensajes demasiado largos', 'rc_messaging.provider_error': 'rechazados por el proveedor',
  'rc_wispro.duplicate_id_number': 'cédulas duplicadas', 'rc_wispro.no_id_number': 'sin cédula utilizable', 'rc_wispro.no_wispro_id': 'sin id de Wispro',
  'rc_wispro.empty_name': 'sin nombre', 'rc_wispro.name_too_long': 'nombres demasiado largos', 'rc_wispro.unreadable': 'registros ilegibles',
  'rc_wispro.concurrent': 'creados por otro proceso a la vez', 'rc_wispro.database_error': 'rechazados por la base de datos', 'rc_wispro.other': 'otros problemas',
  'rc_whmcs.email_exists': 'correos que ya existen en WHMCS', 'rc_whmcs.missing_fields': 'clientes con datos incompletos', 'rc_whmcs.error': 'errores de WHMCS', 'rc_whmcs.customer_without_email': 'clientes sin correo',
  is_sent: 'Enviado', is_delivered: 'Entregado', is_read: 'Leído', is_suppressed: 'Dado de baja', is_failed: 'Falló', is_uncertain: 'En duda', is_not_sent: 'No enviado', is_created: 'Creado', is_updated: 'Actualizado', is_unchanged: 'Sin cambios', is_skipped: 'Omitido',
  actionOn: '{action} «{name}»', fix_refused: 'Puente no usa esa URL base: debe empezar por https:// y no puede apuntar a Puente mismo. Corríjala en Editar.',
  whmcsSettings: 'Configuración de WHMCS', whmcsSettingsIntro: 'Puente se conecta a WHMCS con estos ajustes del servidor (variables de entorno, descritas en docs/whmcs.md). Después de cambiarlos, reinicie Puente.',
  ws_WHMCS_ENABLED: 'activa o desactiva la conexión (true por defecto)', ws_WHMCS_API_URL: 'la dirección de su WHMCS (Puente le agrega /includes/api.php)',
  ws_WHMCS_API_IDENTIFIER: 'el identificador de la credencial de API de WHMCS', ws_WHMCS_API_SECRET: 'el secreto de esa credencial',
  ws_WHMCS_API_ACCESS_KEY: 'la clave de acceso, si WHMCS limita la API por IP (opcional)',
  ws_defaults: 'la ciudad, el estado y el código postal que reciben los clientes que no los tienen en Wispro',
};
export type Key = keyof typeof es;
const en: Record<Key, string> = {
  appName: 'Puente', login: 'Log in', logout: 'Log out', email: 'Email', password: 'Password', code: 'Access code',
  withCode: 'Log in with a code', withPassword: 'Log in with email', enter: 'Enter', jobs: 'Jobs', customers: 'Customers', bulk: 'Bulk send',
  devices: 'Devices', zoho: 'Zoho', syncClients: 'Sync clients', status: 'Status', type: 'Type', created: 'Created', progress: 'Progress',
  cancel: 'Cancel', pause: 'Pause', resume: 'Resume', retry: 'Retry', retryOf: 'retry of {id}', results: 'Results (CSV)', search: 'Search', syncWispro: 'Sync Wispro', nextWisproSync: 'Next automatic sync', wisproSyncOff: 'Automatic sync off',
  name: 'Name', zone: 'Zone', idNumber: 'ID number', phone: 'Phone', address: 'Address', previous: 'Previous', next: 'Next', page: 'Page', of: 'of',
  file: 'File (.csv or .txt, |-separated)', message: 'Message (use @valor1, @valor2…)', devicesLimit: 'Devices limit', send: 'Send',
  preview: 'Preview', recipients: 'recipients', invalid: 'invalid numbers', repeats: 'repeats', sent: 'Sent', failed: 'Failed',
  uncertain: 'Uncertain', delivered: 'Delivered', read: 'Read', suppressed: 'Opted out', total: 'Total', error: 'Error', loading: 'Loading…', none: 'Nothing here yet.', whmcs: 'WHMCS', push: 'Push to WHMCS',
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
  tooLongRows: '{n} rows exceed WhatsApp\'s {max} characters and will fail (lines {lines})', tooLongSample: '(a {n}-character message: too long)',
  whmcsState: 'WHMCS state', synced: 'Synced', whmcsId: 'WHMCS ID', syncStatus: 'Sync status', lastError: 'Last error',
  existsInWhmcs: 'Exists in WHMCS', notLinked: 'Not linked', linkTo: 'Link to WHMCS client #{id}', missingFields: 'Missing fields',
  testConnection: 'Test connection', connectionOk: 'Connection OK: WHMCS {version} in {ms} ms', totalSynced: 'Synced',
  totalPending: 'Pending', totalErrors: 'With errors', lastActivity: 'Last activity', operation: 'Operation', action: 'Action',
  localId: 'Local ID', duration: 'Duration', days: 'Days', lastDays: 'Last {n} days', refresh: 'Refresh', when: 'Date',
  sc_synced: 'synced', sc_pending: 'pending', sc_error: 'error', ls_success: 'Success', ls_error: 'Error',
  pushedNotice: 'Customer pushed to WHMCS.', updatedNotice: 'Customer updated in WHMCS.', linkedNotice: 'Customer linked to WHMCS.',
  unlinkedNotice: 'Customer unlinked from WHMCS (nothing was deleted in WHMCS).',
  whatToDo: 'What to do', baseUrlOptional: 'Base URL (optional: empty uses Meta’s)',
  fix_unreachable: 'The provider’s server could not be reached: check the base URL and that the server is up and reachable.',
  fix_credentials: 'The provider refused the key or token: check the credentials (Edit) and that they have not expired.',
  fix_not_found: 'The server does not know that instance, session or number: check the ID or instance under Edit, and the base URL.',
  fix_session: 'The WhatsApp session is not connected: open the provider’s panel, scan the QR code with the phone and press “Check now”.',
  ds_open: 'session open', ds_close: 'session closed', ds_connecting: 'connecting', ds_working: 'working', ds_stopped: 'session stopped',
  ds_starting: 'starting', ds_scan_qr_code: 'waiting for the QR code to be scanned', ds_failed: 'session failed', ds_connected: 'connected',
  ds_disconnected: 'disconnected', ds_unreachable: 'server unreachable', ds_banned: 'number banned by WhatsApp',
  ds_http_401: 'key refused (HTTP 401)', ds_http_403: 'not allowed (HTTP 403)', ds_http_404: 'not found (HTTP 404)',
  missingFieldsIntro: 'WHMCS does not accept this customer yet. Their record lacks:', missingFieldsFix: 'Fill these in in Wispro and sync again; the default city, state and postcode are set by an administrator.',
  mf_firstname: 'a first name', mf_lastname: 'a last name (the name is a single word)', mf_email: 'a valid email address', mf_address1: 'an address',
  mf_city: 'the city', mf_state: 'the state or province', mf_postcode: 'the postcode', mf_country: 'the country', mf_phonenumber: 'a phone number',
  wo_push: 'Push to WHMCS', wo_update: 'Update in WHMCS', wo_pull: 'Pulled from WHMCS', wo_check: 'Check', wo_link: 'Link', wo_unlink: 'Unlink',
  wo_test: 'Connection test', wo_list: 'Client list', wa_AddClient: 'create the client in WHMCS', wa_UpdateClient: 'update the client in WHMCS',
  wa_GetClientsDetails: 'read the client in WHMCS', wa_GetClients: 'search clients in WHMCS', wa_WhmcsDetails: 'read the WHMCS version',
  wa_map_link: 'link to a WHMCS client', wa_map_unlink: 'remove the link', wa_local_create: 'create the client in Puente', wa_local_update: 'update the client in Puente',
  neverRan: 'Has not run yet.', everyMinutes: 'Every {n} min', scheduleOff: 'Not scheduled', nextRun: 'next: {when}',
  codesKept: 'Codes kept', codesCount: '{n} ({expired} expired)', noActiveCode: 'No active code yet.', codeSync: 'Code sync',
  productSync: 'Product sync', codeActive: 'Active', codeExpired: 'Expired on {when}', sku: 'SKU', price: 'Price', stock: 'Stock',
  inactive: 'Inactive', updated: 'Updated',
  zo_initialized: 'first code saved', zo_rotated: 'new code (the previous one expired)', zo_unchanged: 'the code did not change', zo_no_records: 'Zoho returned no records; the code is kept',
  zo_full: 'full read', zo_incremental: 'changes only', zr_pages: '{n} pages', zr_upserted: '{n} products saved', zr_inactive: '{n} deactivated', zr_invalid: '{n} unreadable',
  orderNumber: 'Order', os_pending: 'pending', os_confirmed: 'confirmed', os_cancelled: 'cancelled', os_completed: 'completed',
  suppressed_n: 'Opted out {n}',
  menu: 'Menu', searchHint: 'Name, email, zone or ID number (with or without dots)', searching: 'Searching…', customersTotal: '{n} customers',
  customersFound: '{n} customers match “{q}”', noCustomersFor: 'No customer matches “{q}”.', noCustomers: 'No customers yet: sync Wispro.',
  st_completed_with_errors: 'Completed with errors', oc_failed: 'Failed', oc_with_errors: 'Completed with errors', oc_ok: 'Completed', oc_cancelled: 'Cancelled',
  'jt_wispro.sync': 'Wispro sync', 'jt_messaging.bulk-send': 'Bulk WhatsApp send', 'jt_whmcs.push-all': 'Customers pushed to WHMCS',
  'jt_zoho.code-sync': 'Zoho code sync', 'jt_zoho.product-sync': 'Zoho product sync', 'jt_platform.jobs-cleanup': 'Old jobs clean-up',
  allTypes: 'All types', allStatuses: 'All statuses', showScheduled: 'Show scheduled runs', jobsTotal: '{n} jobs',
  ratePerMinute: '{n}/min', eta: '~{t} left', etaUnknown: 'estimating…', scheduledRun: 'scheduled',
  created_n: 'Created {n}', updated_n: 'Updated {n}', unchanged_n: 'Unchanged {n}', skipped_n: 'Skipped {n}', errors_n: 'Errors {n}',
  conflicts_n: 'Already in WHMCS {n}', invalid_n: 'Incomplete {n}', processed_n: 'Processed {n} of {total}', pages_n: 'Page {n} of {total}',
  sentOf: '{sent} of {total} sent', failedN: '{n} failed', withErrorsSummary: '{ok} fine, {bad} with problems',
  viewFailures: 'View failures', viewFailuresOf: 'View failures of “{name}”', hideFailuresOf: 'Hide failures of “{name}”', failuresOf: 'Failures of “{name}”', hideFailures: 'Hide failures',
  noFailures: 'Nothing failed.', showRows: 'Show rows', recipient: 'Recipient', values: 'Values', device: 'Device', outcome: 'Outcome',
  cancelJob: 'Cancel “{name}”', pauseJob: 'Pause “{name}”', resumeJob: 'Resume “{name}”', retryJob: 'Retry “{name}”', resultsOf: 'Results (CSV) of “{name}”',
  confirmCancelTitle: 'Cancel “{name}”?', confirmCancelBody: 'What is left will not be sent. What was sent cannot be undone.', keepRunning: 'No, keep going',
  confirmCancelYes: 'Yes, cancel',
  confirmSendTitle: 'Send {n} messages?', confirmSendBody: '{n} messages will be sent through {devices} device(s). Estimated time: {duration}.',
  confirmSendYes: 'Yes, send', back: 'Back', durationUnknown: 'depends on each device’s pace', minutes: '{n} min', hours: '{h} h {m} min', lessThanMinute: 'under a minute',
  sendAnyway: 'Send anyway', creatingSend: 'Creating the send…',
  wrongSeparator: 'The file looks separated by “{separator}”. Puente expects “|” between the phone and each value (for example 04141234567|Ana|1001). Fix the file and choose it again: it cannot be sent like this.',
  missingColumn: 'The message uses {placeholder}, but the file has only {columns} column(s) after the phone: that place would be sent as “---”.',
  duplicateInPreview: 'This file with this message was already sent on {when} (job “{name}”). Sending again will ask for confirmation.',
  'err_messaging.duplicate_send': 'This file with this message was sent {minutes_ago} min ago (job “{name}”). Send it again?',
  'err_messaging.file_too_large': 'The file is too large to send at once (at most {max_mb} MB): split it into several.',
  'err_messaging.too_many_recipients': 'The file has more recipients than allowed ({max_recipients}): split it into several.',
  'err_messaging.no_devices': 'No device is active to send through: connect or activate one under Devices and try again.',
  'err_messaging.empty_file': 'The file has no recipients.', 'err_messaging.bad_encoding': 'The file is not UTF-8: save it as UTF-8 and choose it again.',
  'err_messaging.bad_file_type': 'The file must be .csv or .txt.', 'err_messaging.line_too_long': 'Line {line} is too long: does the file have one recipient per line?',
  'err_messaging.nul_byte': 'Line {line} contains a null character: is it really a text file?', 'err_messaging.message_required': 'Write the message.',
  'err_messaging.message_too_long': 'The message is too long (at most {max_length} characters).', 'err_messaging.invalid_devices_limit': 'The number of devices must be between {min} and {max}.',
  'err_whmcs.email_exists': 'WHMCS already has a client with that email (#{whmcs_id}): link it instead of creating another.', 'err_whmcs.disabled': 'The WHMCS link is turned off.',
  'err_whmcs.email_in_use': 'Another WHMCS client already uses that email: resolve the duplicate in WHMCS.',
  'err_whmcs.already_linked': 'WHMCS client #{whmcs_id} is already linked to another customer ({linked_to}).', 'err_whmcs.local_already_linked': 'This customer is already linked to WHMCS client #{whmcs_id}: unlink it first.',
  'err_whmcs.not_linked': 'This customer is not in WHMCS yet: push it first.', 'err_whmcs.client_gone': 'Client #{whmcs_id} no longer exists in WHMCS: unlink it and push it again.',
  'err_whmcs.client_not_found': 'WHMCS has no client #{whmcs_id}.',
  'err_whmcs.not_configured': 'The WHMCS link is not configured yet: ask an administrator to set it up.',
  'err_wispro.not_configured': 'The Wispro link is not configured yet: ask an administrator to set it up.',
  'err_zoho.not_configured': 'The Zoho link is not configured yet: ask an administrator to set it up.',
  'err_zoho.config_error': 'Zoho refused Puente’s settings: ask an administrator to check them.',
  'err_auth.forbidden': 'Your account is not allowed to do this.', 'err_devices.admin_only': 'Only an administrator may change a device’s credentials, URL or provider.',
  'err_zoho.reveal_forbidden': 'Only an administrator may see the code.',
  'err_auth.invalid_credentials': 'Wrong email or password.', 'err_auth.invalid_code': 'The code is not valid or has expired.',
  'err_auth.session_ended': 'Your session ended: log in again.', 'err_auth.wrong_password': 'The current password does not match.',
  'err_users.password_too_short': 'The password must have at least {min_length} characters.',
  err_rate_limited: 'Too many attempts in a row: wait {retry_after} s and try again.', 'err_database.unavailable': 'The database is unavailable right now: try again in a few seconds.', 'err_devices.base_url_required': 'This provider needs its server’s base URL.',
  'err_devices.missing_credentials': 'Credentials for {provider} are missing.', 'err_devices.base_url_not_https': 'The base URL must use https.',
  'err_devices.invalid_gaps': 'The longest pause must be at least the shortest.',
  'err_whmcs.customer_without_email': 'This customer has no email and WHMCS requires one: add it in Wispro and try again.',
  'err_job.not_retryable': 'This job cannot be retried now.', 'err_job.not_found': 'That job no longer exists.',
  'err_job.not_paused': 'Only a paused job can be resumed.', 'err_job.not_pausable': 'This job can no longer be paused.', 'err_job.not_cancellable': 'This job has already finished: nothing to cancel.',
  'err_devices.base_url_invalid': 'The base URL is not a valid address.', 'err_devices.base_url_self': 'The base URL points at Puente itself: use the provider’s address.',
  'err_devices.base_url_credentials': 'Take the user and password out of the base URL and enter them as credentials.',
  'err_devices.credentials_required': 'Changing the base URL or the provider needs the credentials again.', 'err_devices.not_found': 'That device no longer exists.',
  'err_sync.client_name_taken': 'There is already a sync client with that name.', 'err_messaging.one_file': 'Send one file only.',
  err_upstream_error: 'The external service ({service}) answered with an error: try again later.', err_upstream_timeout: 'The external service ({service}) did not answer in time: try again later.',
  'rc_messaging.not_on_whatsapp': 'numbers without WhatsApp', 'rc_messaging.invalid_number': 'invalid numbers', 'rc_messaging.uncertain': 'uncertain (in flight at a restart)',
  'rc_messaging.not_sent': 'not sent', 'rc_messaging.outside_window': 'outside the 24 h window (need a template)', 'rc_messaging.template': 'template problems',
  'rc_messaging.too_long': 'messages too long', 'rc_messaging.provider_error': 'refused by the provider',
  'rc_wispro.duplicate_id_number': 'duplicate ID numbers', 'rc_wispro.no_id_number': 'no usable ID number', 'rc_wispro.no_wispro_id': 'no Wispro id',
  'rc_wispro.empty_name': 'no name', 'rc_wispro.name_too_long': 'names too long', 'rc_wispro.unreadable': 'unreadable records',
  'rc_wispro.concurrent': 'created by another process at the same time', 'rc_wispro.database_error': 'refused by the database', 'rc_wispro.other': 'other problems',
  'rc_whmcs.email_exists': 'emails that already exist in WHMCS', 'rc_whmcs.missing_fields': 'customers with missing data', 'rc_whmcs.error': 'WHMCS errors', 'rc_whmcs.customer_without_email': 'customers without email',
  is_sent: 'Sent', is_delivered: 'Delivered', is_read: 'Read', is_suppressed: 'Opted out', is_failed: 'Failed', is_uncertain: 'Uncertain', is_not_sent: 'Not sent', is_created: 'Created', is_updated: 'Updated', is_unchanged: 'Unchanged', is_skipped: 'Skipped',
  actionOn: '{action} “{name}”', fix_refused: 'Puente will not use that base URL: it must start with https:// and must not point at Puente itself. Correct it under Edit.',
  whmcsSettings: 'WHMCS settings', whmcsSettingsIntro: 'Puente connects to WHMCS with these server settings (environment variables, described in docs/whmcs.md). Restart Puente after changing them.',
  ws_WHMCS_ENABLED: 'turns the link on or off (true by default)', ws_WHMCS_API_URL: 'the address of your WHMCS (Puente adds /includes/api.php)',
  ws_WHMCS_API_IDENTIFIER: 'the identifier of the WHMCS API credential', ws_WHMCS_API_SECRET: 'that credential\'s secret',
  ws_WHMCS_API_ACCESS_KEY: 'the access key, when WHMCS limits the API by IP (optional)',
  ws_defaults: 'the city, state and postcode given to customers who lack them in Wispro',
};

export const lang = signal<'es' | 'en'>((localStorage.getItem('puente.lang') as 'es' | 'en') ?? 'es');
export const t = (k: Key) => (lang.value === 'en' ? en : es)[k];
/** `t` with `{name}` placeholders filled in. */
export const tf = (k: Key, vars: Record<string, string | number>) => t(k).replace(/\{(\w+)\}/g, (m, v: string) => (v in vars ? String(vars[v]) : m));
/** A translated label for a value from the API (`st_completed`…), or the value itself when there is none. */
export function label(prefix: 'st' | 'sc' | 'ls' | 'cred' | 'jt' | 'oc' | 'rc' | 'is', value: string | null | undefined): string {
  if (!value) return '—';
  const k = `${prefix}_${value}` as Key;
  return k in es ? t(k) : value;
}
/** Whether the interface has words for `key`. */
export const has = (key: string): key is Key => Object.hasOwn(es, key);
/** `tf` for a key built at run time (`err_${code}`), or null when there is no such key. */
export function tryTf(key: string, vars: Record<string, string | number>): string | null {
  return has(key) ? tf(key, vars) : null;
}

/** A number in the interface's language. */
export const num = (n: number) => n.toLocaleString(lang.value === 'en' ? 'en-GB' : 'es');

/** A duration in minutes, in words. */
export function minutesText(mins: number): string {
  if (!Number.isFinite(mins)) return '—';
  if (mins < 1) return t('lessThanMinute');
  if (mins < 60) return tf('minutes', { n: Math.ceil(mins) });
  return tf('hours', { h: Math.floor(mins / 60), m: Math.ceil(mins % 60) });
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
  // Month in words, so the language shows in the date too: «1 dic 2026, 9:05» / "1 Dec 2026, 09:05".
  return Number.isNaN(d.getTime()) ? String(v) : d.toLocaleString(lang.value === 'en' ? 'en-GB' : 'es', { dateStyle: 'medium', timeStyle: 'short' });
}

/**
 * A server error in the interface's language: by its `code` when the interface knows it (with the
 * values the reply carries), else the server's own message.
 */
export function errorText(err: unknown, extra: Record<string, string | number> = {}): string {
  const body = (err as { body?: Record<string, unknown> })?.body;
  const code = typeof body?.code === 'string' ? body.code : null;
  if (code && body) {
    const vars: Record<string, string | number> = { ...extra };
    for (const [k, v] of Object.entries(body)) if (typeof v === 'string' || typeof v === 'number') vars[k] = v;
    const text = tryTf(`err_${code}`, vars);
    // A value the words need but this reply lacks: the server's own message says it better.
    if (text && !/\{\w+\}/.test(text)) return text;
  }
  return (err as Error)?.message ?? String(err);
}
