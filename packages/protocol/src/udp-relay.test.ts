import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_FRAMED_DATAGRAM, datagramDecoder, frameDatagram, parseUdpRelayCommand, udpRelayCommand } from './udp-relay.js';

const bytes = (text: string) => new TextEncoder().encode(text);

test('UDP relay frames: boundaries survive any split of the byte stream, empty datagrams included', () => {
  const datagrams = [bytes('one'), new Uint8Array(0), new Uint8Array(65_507).fill(1), bytes('last')];
  const frames = datagrams.map(frameDatagram);
  const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  frames.reduce((at, f) => (stream.set(f, at), at + f.length), 0);
  for (const step of [1, 2, 3, 1000, stream.length]) {
    const got: Uint8Array[] = [];
    const feed = datagramDecoder((d) => got.push(d));
    for (let i = 0; i < stream.length; i += step) feed(stream.subarray(i, i + step));
    assert.deepEqual(got, datagrams, `chunks of ${step}`);
  }
});

test('a frame is the length, big-endian, then the bytes; a datagram is a copy of its chunk', () => {
  assert.deepEqual(frameDatagram(bytes('hi')), new Uint8Array([0, 2, 0x68, 0x69]));
  assert.deepEqual(frameDatagram(new Uint8Array(258)).subarray(0, 2), new Uint8Array([1, 2]));
  const chunk = frameDatagram(bytes('abc'));
  const got: Uint8Array[] = [];
  datagramDecoder((d) => got.push(d))(chunk);
  chunk.fill(0);
  assert.deepEqual(got, [bytes('abc')]);
});

test('a datagram too long for its 2-byte length is refused, not cut', () => {
  assert.equal(frameDatagram(new Uint8Array(MAX_FRAMED_DATAGRAM)).length, MAX_FRAMED_DATAGRAM + 2);
  assert.throws(() => frameDatagram(new Uint8Array(MAX_FRAMED_DATAGRAM + 1)), /at most 65535 bytes; this datagram has 65536/);
});

test('the relay command: what main sends is what the agent reads, and nothing else is', () => {
  assert.equal(udpRelayCommand('127.0.0.1', 5353), 'berth-udp-relay 127.0.0.1 5353');
  assert.deepEqual(parseUdpRelayCommand(udpRelayCommand('::1', 53)), { host: '::1', port: 53 });
  assert.deepEqual(parseUdpRelayCommand(' berth-udp-relay 127.0.0.1 9 \n'), { host: '127.0.0.1', port: 9 });
  for (const other of ['berth-udp-relay 127.0.0.1', 'berth-udp-relay a b', 'berth-udp-relay 127.0.0.1 123456', 'sh -c berth-udp-relay 1 2', 'ls']) {
    assert.equal(parseUdpRelayCommand(other), undefined, other);
  }
});
