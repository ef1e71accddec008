import { mulberry32 } from '../prng.ts';
/**
 * Deterministic Wispro clients shaped like the real API's, quirks included: the fields of the one
 * recorded client payload found in public code, and no zone field (no recorded payload has one).
 */
export interface WisproClientRecord {
  id: string;
  public_id: number;
  custom_id: string;
  name: string;
  email: string | null;
  password: null;
  address: string;
  phone: string;
  phone_mobile: string;
  phone_mobile_verified: boolean;
  national_identification_number: string | null;
  city: string;
  state: string;
  details: string;
  collector_id: null;
  seller_id: null;
  neighborhood_id: null;
  created_at: string;
  updated_at: string;
  link_mobile_login: string;
}

const FIRST = [
  'José',
  'María',
  'Luis',
  'Carmen',
  'Andrés',
  'Ana',
  'Jesús',
  'Rosa',
  'Carlos',
  'Yusmary',
  'Víctor',
  'Daniela',
  'Ramón',
  'Génesis',
  'Óscar',
  'Leonardo',
  'Marisol',
  'Ángel',
  'Yelitza',
  'Héctor',
];
const LAST = [
  'Pérez',
  'González',
  'Rodríguez',
  'Hernández',
  'García',
  'Martínez',
  'López',
  'Peña',
  'Núñez',
  'Ramírez',
  'Briceño',
  'Castillo',
  'Méndez',
  'Rojas',
  'Suárez',
  'Zambrano',
  'Ávila',
  'Colmenares',
];
const STATES = ['Zulia', 'Lara', 'Carabobo', 'Miranda', 'Distrito Capital', 'Aragua', 'Mérida', 'Táchira', 'Anzoátegui', 'Bolívar'];
const CITIES = ['Maracaibo', 'Barquisimeto', 'Valencia', 'Los Teques', 'Caracas', 'Maracay', 'Mérida', 'San Cristóbal', 'Barcelona', 'Ciudad Guayana'];

function uuidFrom(rand: () => number) {
  const hex = Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The forms tenants store cédulas in. */
function cedulaForm(digits: string, form: number): string {
  switch (form % 5) {
    case 0:
      return digits;
    case 1:
      return `V-${digits}`;
    case 2:
      return `E-${digits}`;
    case 3:
      return `V${digits}`;
    default:
      return digits.replace(/\B(?=(\d{3})+(?!\d))/g, '.');
  }
}

const ts = (ms: number) => new Date(ms - 4 * 3600_000).toISOString().replace('Z', '-04:00');

/**
 * `count` clients: about 3% repeat another client's cédula in another form (under another id) and
 * about 2% are broken (no usable cédula, or no name).
 */
export function generateWisproClients(count: number, seed = 42): WisproClientRecord[] {
  const rand = mulberry32(seed);
  const pick = <T>(list: T[]) => list[Math.floor(rand() * list.length)]!;
  const clients: WisproClientRecord[] = [];
  const base = Date.UTC(2021, 3, 6, 12, 55, 12, 148);
  for (let i = 0; i < count; i++) {
    const first = pick(FIRST);
    const last = `${pick(LAST)} ${pick(LAST)}`;
    const roll = rand();
    let digits = String(4_000_000 + i * 7 + Math.floor(rand() * 5));
    let cedula: string | null = cedulaForm(digits, Math.floor(rand() * 5));
    let name = `${first} ${last}`;
    if (roll < 0.03 && i > 10) {
      const other = clients[Math.floor(rand() * (clients.length - 1))]!;
      const otherDigits = other.national_identification_number?.replace(/\D/g, '');
      if (otherDigits) {
        digits = otherDigits;
        cedula = cedulaForm(digits, Math.floor(rand() * 5) + 1);
      }
    } else if (roll < 0.04) cedula = pick([null, '', 'N/A', 'pendiente']);
    else if (roll < 0.05) name = '';
    const ascii = first
      .normalize('NFD')
      .replace(/[^a-zA-Z]/g, '')
      .toLowerCase();
    const created = base + i * 3_600_000;
    clients.push({
      id: uuidFrom(rand),
      public_id: 1000 + i,
      custom_id: rand() < 0.1 ? `C-${1000 + i}` : '',
      name,
      email: rand() < 0.08 ? null : rand() < 0.1 ? `${ascii}.${i}@CORREO.COM` : `${ascii}.${i}@correo.com`,
      password: null,
      address: `Calle ${1 + Math.floor(rand() * 120)}, casa ${1 + Math.floor(rand() * 300)}`,
      phone: rand() < 0.7 ? '' : `0261${String(1_000_000 + i).slice(-7)}`,
      phone_mobile: `+58${pick(['412', '414', '416', '424', '426'])}${String(1_000_000 + i * 13).slice(-7)}`,
      phone_mobile_verified: rand() < 0.5,
      national_identification_number: cedula,
      city: pick(CITIES),
      state: pick(STATES),
      details: '',
      collector_id: null,
      seller_id: null,
      neighborhood_id: null,
      created_at: ts(created),
      updated_at: ts(created + 86_400_000),
      link_mobile_login: `https://www.cloud.wispro.co/mobile/login/${1000 + i}`,
    });
  }
  return clients;
}
