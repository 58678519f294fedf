import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Which process listens on a TCP port, so "port 10027 is already in use" can say what to stop. Linux only: it
 * reads /proc (net/tcp and tcp6 for the listening sockets' inodes, then each process's fd links to find who
 * holds one). Elsewhere, or for another user's process whose fds we may not read, the answer is empty and the
 * message names a command that finds it instead.
 */

export interface PortOwner {
  pid: number;
  /** Its command line, URL passwords redacted, at most 120 characters. */
  command: string;
}

// /proc/net/tcp columns: sl local_address rem_address st ... inode; st 0A is LISTEN.
const LISTEN = '0A';

function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state, , , , , , inode] = line.trim().split(/\s+/);
      if (state !== LISTEN || !local || !inode || inode === '0') continue;
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) inodes.add(inode);
    }
  }
  return inodes;
}

function holdsSocket(pid: string, inodes: Set<string>): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  return fds.some((fd) => {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      return m !== null && inodes.has(m[1] as string);
    } catch {
      return false;
    }
  });
}

// Another mlwatch (the demo with --warehouse-url) may carry a password in its arguments: never echo it.
const URL_WITH_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi;

function commandOf(pid: string): string {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const text = args.join(' ').replace(URL_WITH_PASSWORD, '$1<redacted>@');
    return text.length > 120 ? `${text.slice(0, 119)}…` : text;
  } catch {
    return '?';
  }
}

/** The processes (at most 3) listening on `port`, other than this one. */
export function portOwners(port: number): PortOwner[] {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid);
  } catch {
    return [];
  }
  return pids
    .filter((pid) => holdsSocket(pid, inodes))
    .slice(0, 3)
    .map((pid) => ({ pid: Number(pid), command: commandOf(pid) }));
}

/** " by pid 42 (python3 -m http.server 10027)", or how to find the process when it cannot be seen from here. */
export function describeOwners(port: number, owners: PortOwner[] = portOwners(port)): string {
  if (owners.length > 0) return ` by ${owners.map((o) => `pid ${o.pid} (${o.command})`).join(', ')}`;
  const find =
    process.platform === 'linux' ? `ss -ltnp 'sport = :${port}'` : `lsof -nP -iTCP:${port} -sTCP:LISTEN`;
  return ` (\`${find}\` shows which process)`;
}
