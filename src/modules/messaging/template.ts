const VARIABLE = /@valor(\d+)/g;

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
