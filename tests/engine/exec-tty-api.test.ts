/**
 * An exec's terminal is decided at create, as dockerd decides it: a client
 * that creates the exec with Tty and starts it with Tty:false (docker-py's
 * exec_start default) still runs the process on a pty (\r\n line ends, as a
 * terminal gives), and start's Tty only says whether the stream is raw or
 * multiplexed.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, test } from 'node:test';
import { demuxBody, engineRequest } from '../helpers/docker.js';
import { useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
after(async () => {
  await fx.docker?.run(['rm', '-f', 'exec-tty-api']);
});

/** POST /exec/{id}/start over a raw socket; resolves with everything after the response headers. */
function startExec(socket: string, id: string, body: object): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    const chunks: Buffer[] = [];
    const json = JSON.stringify(body);
    s.on('connect', () =>
      s.write(
        `POST /exec/${id}/start HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`,
      ),
    );
    s.on('data', (c) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      resolve(all.subarray(end + 4));
    });
    setTimeout(() => s.destroy(), 15_000);
  });
}

test("Tty at create gives a pty whatever start says; start's Tty picks raw or multiplexed", async () => {
  await fx.docker.ok(['run', '-d', '--name', 'exec-tty-api', fx.image, 'sleep', '1000']);
  const create = async (tty: boolean) => {
    const r = await engineRequest(fx.agent.current.socket, 'POST', '/containers/exec-tty-api/exec', {
      body: { Cmd: ['sh', '-c', 'echo a; echo b'], AttachStdout: true, AttachStderr: true, Tty: tty },
    });
    assert.equal(r.status, 201, r.text());
    return r.json<{ Id: string }>().Id;
  };
  // created with a terminal, started with Tty:false: multiplexed frames whose payload has the pty's \r\n
  const muxed = await startExec(fx.agent.current.socket, await create(true), { Detach: false, Tty: false });
  // (the pty may hand the two lines over in one read or two: one frame or two)
  assert.equal(muxed[0], 1, 'a stdout frame header');
  assert.deepEqual(demuxBody(muxed), { stdout: Buffer.from('a\r\nb\r\n'), stderr: Buffer.alloc(0) });
  // created with a terminal, started with Tty:true: raw
  assert.equal((await startExec(fx.agent.current.socket, await create(true), { Detach: false, Tty: true })).toString(), 'a\r\nb\r\n');
  // no terminal: \n
  const plain = await startExec(fx.agent.current.socket, await create(false), { Detach: false, Tty: false });
  assert.deepEqual(demuxBody(plain), { stdout: Buffer.from('a\nb\n'), stderr: Buffer.alloc(0) });
});
