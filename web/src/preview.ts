/** What the server will do with a bulk file, computed in the browser before sending (a preview only). */
export interface Preview { recipients: number; invalid: number; repeats: number; samples: { phone: string; text: string }[] }

const HEADER = /^\s*(phone|tel[eé]fono|telefono|numero|número)\s*(\||$)/i;

export function renderTemplate(template: string, values: string[]): string {
  return template.replace(/@valor(\d+)/g, (_m, n: string) => {
    const v = values[Number(n) - 1];
    return v === undefined || v === '' ? '---' : v;
  });
}

export function previewFile(text: string, template: string, sampleCount = 5): Preview {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const seen = new Set<string>();
  const out: Preview = { recipients: 0, invalid: 0, repeats: 0, samples: [] };
  lines.forEach((line, i) => {
    if (!line.trim() || (i === 0 && HEADER.test(line))) return;
    const [rawPhone = '', ...values] = line.split('|');
    const digits = rawPhone.replace(/[^\d+]/g, '');
    if (!/^\+?\d{7,15}$/.test(digits)) return void out.invalid++;
    const key = digits.replace(/^\+/, '');
    if (seen.has(key)) return void out.repeats++;
    seen.add(key);
    out.recipients++;
    if (out.samples.length < sampleCount) out.samples.push({ phone: rawPhone.trim(), text: renderTemplate(template, values.map((v) => v.trim())) });
  });
  return out;
}
