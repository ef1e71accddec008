import { signal } from './signal.ts';

const es = {
  appName: 'Puente', login: 'Iniciar sesión', logout: 'Cerrar sesión', email: 'Correo', password: 'Contraseña', code: 'Código de acceso',
  withCode: 'Entrar con código', withPassword: 'Entrar con correo', enter: 'Entrar', jobs: 'Trabajos', customers: 'Clientes', bulk: 'Envío masivo',
  devices: 'Dispositivos', zoho: 'Zoho', syncClients: 'Clientes de sincronización', status: 'Estado', type: 'Tipo', created: 'Creado', progress: 'Progreso',
  cancel: 'Cancelar', pause: 'Pausar', resume: 'Reanudar', results: 'Resultados (CSV)', search: 'Buscar', syncWispro: 'Sincronizar Wispro',
  name: 'Nombre', zone: 'Zona', idNumber: 'Cédula', phone: 'Teléfono', previous: 'Anterior', next: 'Siguiente', page: 'Página', of: 'de',
  file: 'Archivo (.csv o .txt, separado por |)', message: 'Mensaje (usa @valor1, @valor2…)', devicesLimit: 'Límite de dispositivos', send: 'Enviar',
  preview: 'Vista previa', recipients: 'destinatarios', invalid: 'números inválidos', repeats: 'repetidos', sent: 'Enviados', failed: 'Fallidos',
  total: 'Total', error: 'Error', loading: 'Cargando…', none: 'Nada por aquí todavía.', whmcs: 'WHMCS', push: 'Enviar a WHMCS', update: 'Actualizar en WHMCS',
  check: 'Verificar', unlink: 'Desvincular', link: 'Vincular', logs: 'Registros', stats: 'Estadísticas', add: 'Agregar', save: 'Guardar', edit: 'Editar',
  provider: 'Proveedor', connected: 'Conectado', disconnected: 'Desconectado', paused: 'En pausa', pacing: 'Ritmo', activeCode: 'Código activo',
  age: 'Antigüedad', history: 'Historial', products: 'Productos', lastSync: 'Última sincronización', lag: 'Retraso del cursor', lastSeen: 'Visto por última vez',
  orders: 'Órdenes recientes', close: 'Cerrar', language: 'Idioma', details: 'Detalle', syncNow: 'Sincronizar ahora',
};
export type Key = keyof typeof es;
const en: Record<Key, string> = {
  appName: 'Puente', login: 'Log in', logout: 'Log out', email: 'Email', password: 'Password', code: 'Access code',
  withCode: 'Log in with a code', withPassword: 'Log in with email', enter: 'Enter', jobs: 'Jobs', customers: 'Customers', bulk: 'Bulk send',
  devices: 'Devices', zoho: 'Zoho', syncClients: 'Sync clients', status: 'Status', type: 'Type', created: 'Created', progress: 'Progress',
  cancel: 'Cancel', pause: 'Pause', resume: 'Resume', results: 'Results (CSV)', search: 'Search', syncWispro: 'Sync Wispro',
  name: 'Name', zone: 'Zone', idNumber: 'ID number', phone: 'Phone', previous: 'Previous', next: 'Next', page: 'Page', of: 'of',
  file: 'File (.csv or .txt, |-separated)', message: 'Message (use @valor1, @valor2…)', devicesLimit: 'Devices limit', send: 'Send',
  preview: 'Preview', recipients: 'recipients', invalid: 'invalid numbers', repeats: 'repeats', sent: 'Sent', failed: 'Failed',
  total: 'Total', error: 'Error', loading: 'Loading…', none: 'Nothing here yet.', whmcs: 'WHMCS', push: 'Push to WHMCS', update: 'Update in WHMCS',
  check: 'Check', unlink: 'Unlink', link: 'Link', logs: 'Logs', stats: 'Stats', add: 'Add', save: 'Save', edit: 'Edit',
  provider: 'Provider', connected: 'Connected', disconnected: 'Disconnected', paused: 'Paused', pacing: 'Pacing', activeCode: 'Active code',
  age: 'Age', history: 'History', products: 'Products', lastSync: 'Last sync', lag: 'Cursor lag', lastSeen: 'Last seen',
  orders: 'Recent orders', close: 'Close', language: 'Language', details: 'Details', syncNow: 'Sync now',
};

export const lang = signal<'es' | 'en'>((localStorage.getItem('puente.lang') as 'es' | 'en') ?? 'es');
export const t = (k: Key) => (lang.value === 'en' ? en : es)[k];
export function setLang(l: 'es' | 'en') {
  localStorage.setItem('puente.lang', l);
  document.documentElement.lang = l;
  lang.value = l;
}
