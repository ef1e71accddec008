import { lang, setLang, t } from './i18n.ts';
import { useSignal } from './signal.ts';

/** The interface's language, on every page and on the login form. */
export function LanguageSelect() {
  useSignal(lang);
  return (
    <select aria-label={t('language')} value={lang.value} onChange={(e) => setLang((e.target as HTMLSelectElement).value as 'es' | 'en')}>
      <option value="es" lang="es">
        Español
      </option>
      <option value="en" lang="en">
        English
      </option>
    </select>
  );
}
