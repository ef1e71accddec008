import type { WhmcsSimClient } from './whmcs.simulator.ts';
import { mulberry32 } from '../prng.ts';

/** Deterministic WHMCS clients: Spanish names, Venezuelan and Peruvian addresses. */

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
  'Milagros',
  'Julio César',
  'Luz Marina',
  'Wilmer',
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
  'Quispe',
  'Huamán',
  'Mamani',
  'Flores',
];

// [city, state, postcode]
const VE_PLACES: [string, string, string][] = [
  ['Maracaibo', 'Zulia', '4001'],
  ['Caracas', 'Distrito Capital', '1010'],
  ['Valencia', 'Carabobo', '2001'],
  ['Barquisimeto', 'Lara', '3001'],
  ['Maracay', 'Aragua', '2101'],
  ['Mérida', 'Mérida', '5101'],
  ['San Cristóbal', 'Táchira', '5001'],
  ['Puerto La Cruz', 'Anzoátegui', '6023'],
  ['Ciudad Guayana', 'Bolívar', '8050'],
  ['Los Teques', 'Miranda', '1201'],
];
const VE_STREETS = [
  'Av. 5 de Julio',
  'Calle 72',
  'Av. Bella Vista',
  'Av. Libertador',
  'Av. Francisco de Miranda',
  'Calle Los Mangos',
  'Av. Las Delicias',
  'Urb. La Trigaleña, Calle 3',
];
const VE_SECTORS = ['Sector La Limpia', 'Urb. El Paraíso', 'Sector Centro', 'Barrio Obrero', ''];
const PE_PLACES: [string, string, string][] = [
  ['Lima', 'Lima', '15074'],
  ['Arequipa', 'Arequipa', '04001'],
  ['Trujillo', 'La Libertad', '13001'],
  ['Cusco', 'Cusco', '08002'],
  ['Piura', 'Piura', '20001'],
  ['Chiclayo', 'Lambayeque', '14001'],
];
const PE_STREETS = ['Av. Larco', 'Jr. de la Unión', 'Av. Javier Prado Este', 'Calle Mercaderes', 'Av. Ejército', 'Av. Grau'];
const VE_MOBILE = ['0412', '0414', '0416', '0424', '0426'];

/**
 * `count` clients with ids 1..count and emails `cliente{id}@example.com`. About one in five has a
 * Peruvian address but still country "VE": tenants often leave WHMCS's default country alone.
 */
export function generateWhmcsClients(count: number, seed = 7): WhmcsSimClient[] {
  const rand = mulberry32(seed);
  const pick = <T>(list: T[]) => list[Math.floor(rand() * list.length)]!;
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 10)).join('');
  // Spread the sign-up dates over a fixed past span so that any count stays in the past.
  const from = Date.UTC(2018, 0, 8),
    to = Date.UTC(2024, 5, 28);
  const out: WhmcsSimClient[] = [];
  for (let id = 1; id <= count; id++) {
    const peru = id % 5 === 4;
    const first = pick(FIRST);
    const last = id % 3 === 0 ? `${pick(LAST)} ${pick(LAST)}` : pick(LAST); // two surnames, as many people use
    const [city, state, postcode] = pick(peru ? PE_PLACES : VE_PLACES);
    const street = pick(peru ? PE_STREETS : VE_STREETS);
    const address1 =
      id % 2 === 0
        ? `${street}, Casa ${1 + Math.floor(rand() * 200)}`
        : `${street}, Edif. ${pick(LAST)}, Piso ${1 + Math.floor(rand() * 12)}, Apto ${1 + Math.floor(rand() * 8)}`;
    const surname = last.split(' ')[0]!;
    out.push({
      id,
      firstname: first,
      lastname: last,
      companyname: id % 4 === 0 ? (peru ? `${surname} & Asociados S.A.C.` : `Inversiones ${surname} C.A.`) : '',
      email: `cliente${id}@example.com`,
      address1,
      address2: peru ? '' : pick(VE_SECTORS),
      city,
      state,
      postcode,
      country: 'VE',
      phonenumber: peru ? `+51 9${digits(2)} ${digits(3)} ${digits(3)}` : `${pick(VE_MOBILE)}-${digits(7)}`,
      status: id % 29 === 0 ? 'Closed' : id % 17 === 0 ? 'Inactive' : 'Active',
      datecreated: new Date(from + Math.floor(((to - from) * (id - 1)) / Math.max(1, count))).toISOString().slice(0, 10),
    });
  }
  return out;
}
