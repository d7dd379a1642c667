// Plain JS (.mjs) like the module it tests, which has no type declarations.
// The VM image's kernel modules lose the signature Debian appends
// (resources/vm/lib/kernel-modules.mjs): the guest does not enforce one, and
// checking it costs a SHA-512 of every module at boot.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { withoutSignature } from '../../resources/vm/lib/kernel-modules.mjs';

const MAGIC = Buffer.from('~Module signature appended~\n');

/** A module as sign-file writes it: body, signer, key id, PKCS#7 signature, struct module_signature, magic. */
function signed(body, signature, signer = Buffer.alloc(0), keyId = Buffer.alloc(0)) {
  const info = Buffer.alloc(12);
  info[0] = 0; // algo
  info[1] = 0; // hash
  info[2] = 2; // id_type: PKEY_ID_PKCS7
  info[3] = signer.length;
  info[4] = keyId.length;
  info.writeUInt32BE(signature.length, 8);
  return Buffer.concat([body, signer, keyId, signature, info, MAGIC]);
}

describe('withoutSignature', () => {
  const body = Buffer.concat([Buffer.from('\x7fELF'), Buffer.alloc(4000, 0xab)]);

  test('drops a PKCS#7 signature and its trailer, keeping the module byte for byte', () => {
    assert.deepEqual(withoutSignature(signed(body, Buffer.alloc(700, 0x30))), body);
  });

  test('drops the signer and key id of an older signature too', () => {
    assert.deepEqual(withoutSignature(signed(body, Buffer.alloc(512, 1), Buffer.from('Debian'), Buffer.alloc(20, 2))), body);
  });

  test('leaves a module without a signature as it is', () => {
    assert.equal(withoutSignature(body), body);
  });

  test('refuses a signature that claims more bytes than the file has', () => {
    const bad = signed(Buffer.alloc(10), Buffer.alloc(100));
    bad.writeUInt32BE(1 << 20, bad.length - MAGIC.length - 4);
    assert.throws(() => withoutSignature(bad), /signature longer than itself/);
  });
});
