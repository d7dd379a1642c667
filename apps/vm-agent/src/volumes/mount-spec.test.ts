import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBind, parseMount, parseMounts, parseTmpfs } from './mount-spec.js';

test('-v forms: named volume, bind with ro, nocopy; dockerd refusals', () => {
  const v = parseBind('data:/var/lib/data');
  assert.equal(v.Type, 'volume');
  assert.equal(v.Name, 'data');
  assert.equal(v.Mode, 'z');
  assert.equal(v.RW, true);
  assert.equal(v.CopyData, true);
  const b = parseBind('/srv/site/:/usr/share/html:ro');
  assert.deepEqual(
    [b.Type, b.Source, b.Destination, b.RW, b.Mode, b.Propagation, b.CreateSource],
    ['bind', '/srv/site', '/usr/share/html', false, 'ro', 'rprivate', true],
  );
  assert.equal(parseBind('cache:/c:nocopy').CopyData, false);
  assert.throws(() => parseBind('data:rel'), /invalid mount path: 'rel' mount path must be absolute/);
  assert.throws(() => parseBind('/a:/b:bogus'), /invalid mode: bogus/);
  assert.throws(() => parseBind('/a:/'), /destination can't be '\/'/);
  assert.throws(() => parseBind('a:b:c:d'), /invalid volume specification: 'a:b:c:d'/);
});

test('--mount: bind, volume (anonymous without a source), tmpfs size and mode', () => {
  const b = parseMount({ Type: 'bind', Source: '/tmp/x', Target: '/x', ReadOnly: true });
  assert.deepEqual([b.Type, b.RW, b.CreateSource], ['bind', false, false]);
  const anon = parseMount({ Type: 'volume', Target: '/cache' });
  assert.deepEqual([anon.Anonymous, anon.Name, anon.CopyData], [true, '', true]);
  assert.equal(parseMount({ Type: 'volume', Source: 'v', Target: '/v', VolumeOptions: { NoCopy: true } }).CopyData, false);
  const t = parseMount({ Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: 1 << 20, Mode: 0o1770 } });
  assert.equal(t.Tmpfs!.data, 'size=1024k,mode=1770');
  assert.throws(() => parseMount({ Type: 'bind', Target: '/x' }), /invalid mount config for type "bind": field Source must not be empty/);
  assert.throws(() => parseMount({ Type: 'nfs', Target: '/x' }), /mount type unknown/);
  assert.throws(() => parseMount({ Type: 'tmpfs', Source: 'x', Target: '/x' }), /field Source must not be specified/);
});

test('--tmpfs options split into flags and data', () => {
  const t = parseTmpfs('/run', 'rw,exec,size=64m,mode=1777');
  assert.deepEqual(t.Tmpfs, { nosuid: true, nodev: true, noexec: false, data: 'size=64m,mode=1777' });
  assert.equal(parseTmpfs('/ro', 'ro').RW, false);
  assert.throws(() => parseTmpfs('/x', 'bogus'), /invalid tmpfs option/);
});

test('parseMounts: image VOLUMEs become anonymous volumes unless mounted over; duplicates refused; parents first', () => {
  const m = parseMounts({ binds: ['named:/data/sub'], volumes: { '/data': {}, '/data/sub': {} }, tmpfs: { '/t': '' } });
  assert.deepEqual(
    m.map((x) => [x.Destination, x.Type, x.Anonymous]),
    [
      ['/t', 'tmpfs', false],
      ['/data', 'volume', true],
      ['/data/sub', 'volume', false],
    ],
  );
  assert.throws(() => parseMounts({ binds: ['a:/x', '/h:/x'] }), /Duplicate mount point: \/x/);
});

test('bind recursion options are kept for the runtime; shared and slave propagation are refused, private passes', () => {
  const m = (BindOptions: object, ReadOnly = true) => parseMount({ Type: 'bind', Source: '/h', Target: '/x', ReadOnly, BindOptions });
  assert.equal(m({ NonRecursive: true }, false).NonRecursive, true);
  assert.equal(m({ ReadOnlyNonRecursive: true }).ReadOnlyNonRecursive, true);
  const plain = m({});
  assert.equal(plain.NonRecursive ?? false, false);
  assert.equal(plain.ReadOnlyNonRecursive ?? false, false, 'read-only all the way down unless asked otherwise');
  assert.equal(m({ ReadOnlyForceRecursive: true, Propagation: 'rprivate' }).RW, false);
  for (const p of ['shared', 'rshared', 'slave', 'rslave']) {
    assert.throws(() => m({ Propagation: p }), { kind: 'invalid-parameter', message: new RegExp(`propagation "${p}": Berth does not support`) });
    assert.throws(() => parseBind(`/h:/x:ro,${p}`), { kind: 'invalid-parameter', message: new RegExp(`'/h:/x:ro,${p}'.*propagation "${p}"`) });
  }
  assert.equal(parseBind('/h:/x:private').Propagation, 'private');
  assert.throws(() => m({ ReadOnlyNonRecursive: true }, false), /must not set ReadOnlyNonRecursive when ReadOnly is false/);
});
