/**
 * A reason Puente cannot start that the person starting it can fix (a port in use, a data folder
 * another process holds): printed as one line, without a stack trace.
 */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/** A listen failure in words, or the error itself when it is not one a person can fix. */
export function listenError(err: unknown, port: number): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE') {
    return new StartupError(
      `El puerto ${port} ya está en uso (otro Puente u otro programa): deténgalo o elija otro con PORT=… / Port ${port} is already in use: stop that process or set PORT`,
    );
  }
  if (code === 'EACCES') {
    return new StartupError(`No hay permiso para escuchar en el puerto ${port}: use uno mayor que 1024 con PORT=… / No permission to listen on port ${port}`);
  }
  if (code === 'EADDRNOTAVAIL') {
    return new StartupError(`La dirección HOST no existe en esta máquina: revise HOST / HOST is not an address of this machine`);
  }
  return err;
}
