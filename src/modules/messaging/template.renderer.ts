const VARIABLE = /@valor(\d+)/g;

/** WhatsApp's limit for a text message body; a rendered message over it is never sent. */
export const MAX_RENDERED = 4096;

/**
 * `@valor1 … @valorN` → the row's values; `---` where the row has no value. The number is read whole,
 * so `@valor1` never eats the start of `@valor10`.
 */
export function renderTemplate(template: string, values: string[]): string {
  return template.replace(VARIABLE, (_m, n: string) => {
    const v = values[Number(n) - 1];
    return v === undefined || v === '' ? '---' : v;
  });
}

/** A template read once: its fixed text's length and the variables it uses, in order. */
export interface CompiledTemplate {
  fixed: number;
  vars: number[];
}

export function compileTemplate(template: string): CompiledTemplate {
  const vars: number[] = [];
  let fixed = template.length;
  for (const m of template.matchAll(VARIABLE)) {
    vars.push(Number(m[1]) - 1);
    fixed -= m[0].length;
  }
  return { fixed, vars };
}

/**
 * The length `renderTemplate` would produce, without building it: a value repeated by the template
 * hundreds of times is measured, not copied (a 64 KiB value × 585 is 37 MB per message).
 */
export function renderedLength(t: CompiledTemplate, values: string[]): number {
  let n = t.fixed;
  for (const i of t.vars) {
    const v = values[i];
    n += v === undefined || v === '' ? 3 : v.length;
  }
  return n;
}

export const tooLongReason = (length: number) =>
  `mensaje demasiado largo: tendría ${length} caracteres, el máximo de WhatsApp es ${MAX_RENDERED} / message too long: ${length} characters, WhatsApp's maximum is ${MAX_RENDERED}`;

/** The values stored for a row (everything after the phone, `|`-joined) as a list. */
export function splitValues(vals: string): string[] {
  return vals === '' ? [] : vals.split('|').map((v) => v.trim());
}

/** The highest @valorN a template uses (0 when none). */
export function variablesUsed(template: string): number {
  let max = 0;
  for (const m of template.matchAll(VARIABLE)) max = Math.max(max, Number(m[1]));
  return max;
}
