import { createServer } from 'node:net';
import { describeOwners } from './port-owner.js';

/**
 * Before serve or the demo starts anything: is the port free on the address we will listen on, and on the
 * loopback address of the other IP family? The second is what the real listen cannot see. 127.0.0.1:10027 and
 * [::1]:10027 are different sockets, so the kernel lets mlwatch listen while another process holds the IPv6 one,
 * yet a browser or curl opening http://localhost:10027 tries ::1 first and reaches that other process. The
 * listen still reports a port taken between this check and it (src/commands/common.ts).
 */

type Probe = 'free' | 'taken';

function probe(host: string, port: number): Promise<Probe> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      // EADDRNOTAVAIL / EAFNOSUPPORT: no such address here (IPv6 switched off), so nobody can hold it either.
      resolve(err.code === 'EADDRINUSE' ? 'taken' : 'free');
    });
    server.listen({ host, port }, () => {
      server.close(() => resolve('free'));
    });
  });
}

/** The loopback address `localhost` may also resolve to, when listening on `host` does not cover it. */
function otherLoopback(host: string): string | undefined {
  if (host === '0.0.0.0' || host.startsWith('127.')) return '::1';
  if (host === '::1') return '127.0.0.1';
  return undefined;
}

/** A message saying who holds the port and what to do, or undefined when it is free (or chosen by the OS). */
export async function portTaken(host: string, port: number): Promise<string | undefined> {
  if (port === 0) return undefined;
  const hosts = host === 'localhost' ? ['127.0.0.1', '::1'] : [host];
  for (const h of hosts) {
    if ((await probe(h, port)) === 'taken') {
      return `port ${port} is already in use on ${h}${describeOwners(port)}; stop that process or pick another port with --port`;
    }
  }
  const other = otherLoopback(host);
  if (other !== undefined && (await probe(other, port)) === 'taken') {
    return (
      `port ${port} is already in use on ${other}${describeOwners(port)}: http://localhost:${port} would ` +
      `reach that process, not mlwatch; stop it or pick another port with --port`
    );
  }
  return undefined;
}
