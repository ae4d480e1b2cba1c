import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, closeSync, mkdtempSync, openSync, realpathSync, rmSync } from 'node:fs';
import {
  createConnection,
  createServer,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { skipOrFailUnderCi } from '@trustplane/testkit';
import {
  PeerCredError,
  getPeerCredentials,
  getPeerCredentialsFromFd,
  readProcessExePath,
  readProcessStartTime,
} from './index.js';

const NOBODY = 65534;

/** A Unix-socket server whose accepted connections are handed to the test one by one. */
class AcceptingServer {
  readonly server: Server;
  private readonly waiting: Array<(socket: Socket) => void> = [];
  private readonly accepted: Socket[] = [];

  constructor() {
    this.server = createServer((socket) => {
      const next = this.waiting.shift();
      if (next) next(socket);
      else this.accepted.push(socket);
    });
  }

  nextConnection(): Promise<Socket> {
    const ready = this.accepted.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

function expectCode(code: PeerCredError['code'], systemCode?: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof PeerCredError, `expected PeerCredError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (systemCode !== undefined) assert.equal(error.systemCode, systemCode);
    return true;
  };
}

describe('getPeerCredentials on a Unix-domain socket', () => {
  let dir: string;
  let socketPath: string;
  let accepting: AcceptingServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'peercred-'));
    // The unprivileged child must be able to reach and connect() to the socket.
    chmodSync(dir, 0o755);
    socketPath = join(dir, 'agent.sock');
    accepting = new AcceptingServer();
    accepting.server.listen(socketPath);
    await once(accepting.server, 'listening');
    chmodSync(socketPath, 0o777);
  });

  after(async () => {
    accepting.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports this process for a client connected from this process', async () => {
    const client = createConnection(socketPath);
    const serverSide = await accepting.nextConnection();
    try {
      const creds = getPeerCredentials(serverSide);
      assert.deepEqual(creds, {
        pid: process.pid,
        uid: process.getuid?.(),
        gid: process.getgid?.(),
      });
      assert.ok(Object.isFrozen(creds));
    } finally {
      client.destroy();
      serverSide.destroy();
    }
  });

  it('reports the uid and pid of a child running as another user', async (t) => {
    if (process.getuid?.() !== 0) {
      skipOrFailUnderCi(t, 'needs root to spawn a child with uid 65534');
      return;
    }
    // The child connects, then stays connected until the server hangs up.
    const script =
      "const s = require('node:net').createConnection(process.argv[1]);" +
      "s.on('connect', () => process.stdout.write('connected\\n'));" +
      "s.on('error', (e) => { process.stderr.write(String(e)); process.exit(2); });" +
      's.resume();';
    const child: ChildProcess = spawn(process.execPath, ['-e', script, socketPath], {
      uid: NOBODY,
      gid: NOBODY,
      cwd: dir,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    try {
      const serverSide = await accepting.nextConnection();
      const creds = getPeerCredentials(serverSide);
      assert.equal(creds.uid, NOBODY);
      assert.equal(creds.gid, NOBODY);
      assert.equal(creds.pid, child.pid);

      // While the peer is connected its pid is live: the /proc facts resolve.
      const startTime = readProcessStartTime(creds.pid);
      assert.equal(typeof startTime, 'bigint');
      const ownStart = readProcessStartTime(process.pid);
      assert.ok(ownStart !== undefined && startTime !== undefined && startTime >= ownStart);
      assert.equal(readProcessExePath(creds.pid), realpathSync(process.execPath));

      serverSide.end();
      const [code] = await exited;
      assert.equal(code, 0);
    } finally {
      child.kill();
    }
  });

  it('throws PEERCRED_FD_UNAVAILABLE for a destroyed socket', async () => {
    const client = createConnection(socketPath);
    const serverSide = await accepting.nextConnection();
    serverSide.destroy();
    client.destroy();
    assert.throws(() => getPeerCredentials(serverSide), expectCode('PEERCRED_FD_UNAVAILABLE'));
  });

  it('throws PEERCRED_FD_UNAVAILABLE for an invalid descriptor number', () => {
    assert.throws(() => getPeerCredentialsFromFd(-1), expectCode('PEERCRED_FD_UNAVAILABLE'));
    assert.throws(() => getPeerCredentialsFromFd(1.5), expectCode('PEERCRED_FD_UNAVAILABLE'));
  });
});

describe('getPeerCredentials on descriptors that are not Unix sockets', () => {
  it('refuses a TCP socket (SO_PEERCRED would report fake values)', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const accepted = once(server, 'connection');
    const client = createConnection((server.address() as AddressInfo).port, '127.0.0.1');
    const [serverSide] = (await accepted) as [Socket];
    try {
      assert.throws(
        () => getPeerCredentials(serverSide),
        expectCode('PEERCRED_NOT_UNIX_SOCKET', 'EAFNOSUPPORT'),
      );
    } finally {
      client.destroy();
      serverSide.destroy();
      server.close();
    }
  });

  it('throws PEERCRED_GETSOCKOPT_FAILED (ENOTSOCK) for a regular file', () => {
    const fd = openSync(process.execPath, 'r');
    try {
      assert.throws(
        () => getPeerCredentialsFromFd(fd),
        expectCode('PEERCRED_GETSOCKOPT_FAILED', 'ENOTSOCK'),
      );
    } finally {
      closeSync(fd);
    }
  });

  it('throws PEERCRED_GETSOCKOPT_FAILED (EBADF) for a closed descriptor', () => {
    const fd = openSync(process.execPath, 'r');
    closeSync(fd);
    assert.throws(
      () => getPeerCredentialsFromFd(fd),
      expectCode('PEERCRED_GETSOCKOPT_FAILED', 'EBADF'),
    );
  });
});
