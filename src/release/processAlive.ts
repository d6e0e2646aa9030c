/**
 * True when a process with this id exists on this machine. Used to tell a lock or temp file
 * left behind by a killed command from one that a running command still owns.
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user, which still means it is alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
