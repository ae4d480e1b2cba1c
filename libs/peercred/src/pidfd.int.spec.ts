import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { skipOrFailUnderCi } from '@trustplane/testkit';
import {
  PeerCredError,
  PeerProcessHandle,
  getPeerCredentials,
  readProcessStartTime,
} from './index.js';

/** Open file descriptors of this process (to prove handles are closed). */
function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

describe('PeerProcessHandle (SO_PEERPIDFD)', () => {
  let dir: string;
  let socketPath: string;
  let server: Server;
  const accepted: Socket[] = [];
  const waiting: Array<(socket: Socket) => void> = [];

  const nextConnection = (): Promise<Socket> => {
    const ready = accepted.shift();
    return ready !== undefined
      ? Promise.resolve(ready)
      : new Promise((resolve) => waiting.push(resolve));
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tp-pidfd-'));
    socketPath = join(dir, 's.sock');
    server = createServer((socket) => {
      const next = waiting.shift();
      if (next !== undefined) next(socket);
      else accepted.push(socket);
    });
    server.listen(socketPath);
    await once(server, 'listening');
  });

  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('tracks the connecting process: alive while it runs, exited once it dies, though its socket lives on in a child', async (t) => {
    // The client connects, hands the socket to a grandchild that outlives it, then exits: the
    // connection stays open, but the process that connected is gone.
    const script =
      "const net = require('net'); const { spawn } = require('child_process');" +
      'const s = net.connect(process.argv[1]);' +
      "s.on('connect', () => {" +
      "  const g = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: ['ignore', 'ignore', 'ignore', s], detached: true });" +
      "  g.unref(); process.stdout.write(String(g.pid) + '\\n');" +
      '});' +
      "process.stdin.on('data', () => process.exit(0));";
    const client = spawn(process.execPath, ['-e', script, socketPath], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const [serverSide, [grandchildLine]] = await Promise.all([
      nextConnection(),
      once(client.stdout, 'data') as Promise<[Buffer]>,
    ]);
    const grandchildPid = Number(grandchildLine.toString().trim());
    const handle = PeerProcessHandle.ofPeer(serverSide);
    if (handle === undefined) {
      client.kill();
      process.kill(grandchildPid);
      skipOrFailUnderCi(t, 'the kernel predates SO_PEERPIDFD (Linux 6.5)');
      return;
    }
    try {
      assert.equal(getPeerCredentials(serverSide).pid, client.pid);
      assert.equal(handle.hasExited(), false);
      const exited = once(client, 'exit');
      client.stdin.write('exit\n');
      await exited;
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(serverSide.readableEnded, false, 'the grandchild still holds the connection');
      assert.equal(handle.hasExited(), true);
    } finally {
      handle.close();
      serverSide.destroy();
      process.kill(grandchildPid);
    }
  });

  it('sees a zombie peer as exited, though /proc still shows it with the same start time', async (t) => {
    // The peer's parent execs into `sleep`, which never reaps it: once the peer exits it stays a
    // zombie, invisible to a start-time comparison but not to its pidfd.
    const peer = `require('net').connect(process.argv[1], () => setTimeout(() => process.exit(0), 200))`;
    const shell = spawn(
      '/bin/sh',
      ['-c', `"$0" -e "$1" "$2" & exec sleep 30`, process.execPath, peer, socketPath],
      {
        stdio: 'ignore',
      },
    );
    const serverSide = await nextConnection();
    const handle = PeerProcessHandle.ofPeer(serverSide);
    try {
      if (handle === undefined) {
        skipOrFailUnderCi(t, 'the kernel predates SO_PEERPIDFD (Linux 6.5)');
        return;
      }
      const pid = getPeerCredentials(serverSide).pid;
      const startTime = readProcessStartTime(pid);
      assert.notEqual(startTime, undefined);
      assert.equal(handle.hasExited(), false);
      const state = (): string =>
        readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] ?? '';
      // The pidfd turns readable once the whole thread group is gone (the leader is a zombie
      // slightly earlier, while its other threads finish exiting).
      for (let i = 0; i < 100 && !handle.hasExited(); i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(handle.hasExited(), true, 'the pidfd sees the exit');
      assert.equal(state(), 'Z', 'the peer is a zombie, still in /proc');
      assert.equal(
        readProcessStartTime(pid),
        startTime,
        'a start-time check would still accept it',
      );
    } finally {
      handle?.close();
      serverSide.destroy();
      shell.kill();
    }
  });

  it('closes its descriptor once, and refuses use after close with PEERCRED_PIDFD_CLOSED', async (t) => {
    const client = createConnection(socketPath);
    const serverSide = await nextConnection();
    try {
      const before = openFdCount();
      const handle = PeerProcessHandle.ofPeer(serverSide);
      if (handle === undefined) {
        skipOrFailUnderCi(t, 'the kernel predates SO_PEERPIDFD (Linux 6.5)');
        return;
      }
      assert.equal(openFdCount(), before + 1);
      assert.equal(handle.hasExited(), false, 'this very process is the peer and is alive');
      handle.close();
      handle.close();
      assert.equal(openFdCount(), before);
      assert.throws(
        () => handle.hasExited(),
        (error: unknown) =>
          error instanceof PeerCredError && error.code === 'PEERCRED_PIDFD_CLOSED',
      );
    } finally {
      client.destroy();
      serverSide.destroy();
    }
  });

  it('throws PEERCRED_FD_UNAVAILABLE for a destroyed socket', async () => {
    const client = createConnection(socketPath);
    const serverSide = await nextConnection();
    serverSide.destroy();
    client.destroy();
    assert.throws(
      () => PeerProcessHandle.ofPeer(serverSide),
      (error: unknown) =>
        error instanceof PeerCredError && error.code === 'PEERCRED_FD_UNAVAILABLE',
    );
  });
});
