import { useState } from 'preact/hooks';
import type { LoginReply } from '../../../src/modules/users/users.contract.ts';
import { api, setSession } from '../api.ts';
import { errorText, t } from '../i18n.ts';
import { Alert } from '../components.tsx';
import { LanguageSelect } from '../language.tsx';

export function Login() {
  const [mode, setMode] = useState<'password' | 'code'>('password');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(e.target as HTMLFormElement));
    setBusy(true);
    setError(null);
    try {
      const res = await api<LoginReply>('/auth/login', { body: mode === 'code' ? { code: data.code } : { email: data.email, password: data.password } });
      setSession({
        access_token: res.access_token,
        refresh_token: res.refresh_token,
        role: 'role_name' in res.user ? res.user.role_name : res.user.role,
        name: 'name' in res.user ? (res.user.name ?? undefined) : undefined,
      });
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <main class="container login">
      <article>
        <header class="login-header">
          <h1>{t('appName')}</h1>
          <LanguageSelect />
        </header>
        <form onSubmit={submit} aria-label={t('login')}>
          {mode === 'password' ? (
            <>
              <label>
                {t('email')}
                <input name="email" type="email" autocomplete="username" required />
              </label>
              <label>
                {t('password')}
                <input name="password" type="password" autocomplete="current-password" required />
              </label>
            </>
          ) : (
            <label>
              {t('code')}
              <input name="code" autocomplete="one-time-code" required />
            </label>
          )}
          <Alert error={error} />
          <button type="submit" aria-busy={busy}>
            {t('enter')}
          </button>
        </form>
        <button class="outline secondary" onClick={() => setMode(mode === 'code' ? 'password' : 'code')}>
          {mode === 'code' ? t('withPassword') : t('withCode')}
        </button>
      </article>
    </main>
  );
}
