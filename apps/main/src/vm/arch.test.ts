import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hostVmArch, parseVmArch, VM_ARCHES } from './arch.js';

describe('vm arch', () => {
  it('the host architecture picks the guest: Apple silicon and arm64 Linux boot arm64, the rest x86_64', () => {
    assert.equal(hostVmArch('arm64'), 'arm64');
    assert.equal(hostVmArch('x64'), 'x86_64');
  });

  it('--arch takes every usual spelling and refuses others', () => {
    for (const s of ['arm64', 'aarch64', 'ARM64']) assert.equal(parseVmArch(s), 'arm64');
    for (const s of ['amd64', 'x86_64', 'x64']) assert.equal(parseVmArch(s), 'x86_64');
    assert.throws(() => parseVmArch('riscv64'), /--arch must be arm64 or amd64 \(x86_64\), not "riscv64"/);
  });

  it('agrees with the image build (resources/vm/lib/arch.mjs) on each output directory', async () => {
    const buildArches = join(dirname(fileURLToPath(import.meta.url)), '../../../../resources/vm/lib/arch.mjs');
    const { GUEST_ARCHES } = (await import(buildArches)) as { GUEST_ARCHES: Record<string, { outDir: string }> };
    for (const spec of Object.values(VM_ARCHES)) assert.equal(GUEST_ARCHES[spec.buildArch]?.outDir, spec.imageDir, spec.buildArch);
    assert.notEqual(VM_ARCHES.arm64.imageDir, VM_ARCHES.x86_64.imageDir);
  });
});
