/**
 * The whole of hello-world's program: a static Linux ELF executable, made
 * here byte by byte, that writes one message to stdout and exits 0.
 *
 * Why hand-made: it is a few hundred bytes (a busybox would add 2 MB, a
 * static glibc program ~700 kB), needs no compiler on the build machine, and
 * its bytes never depend on which toolchain or package version a machine
 * has, so the image ID is the same everywhere. The code is two system calls:
 *
 *   write(1, message, length); exit_group(0)
 *
 * Layout: ELF header (64 bytes), one PT_LOAD program header (56 bytes)
 * mapping the whole file read+execute at BASE, the machine code, then the
 * message. One write(2) of at most PIPE_BUF bytes to a pipe is never split,
 * so the message is capped at 4096 bytes.
 */

export type ElfArch = 'amd64' | 'arm64';

const BASE = 0x400000n;
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const CODE_OFFSET = EHDR_SIZE + PHDR_SIZE;
export const MAX_MESSAGE_BYTES = 4096;

/** e_machine values and system call numbers per architecture. */
const MACHINE: Record<ElfArch, number> = { amd64: 62, arm64: 183 };

/** x86-64: the code is 33 bytes; the message follows it. */
function amd64Code(messageLength: number): Buffer {
  const code = Buffer.alloc(33);
  let o = 0;
  const bytes = (...b: number[]) => {
    for (const x of b) code[o++] = x;
  };
  bytes(0xb8, 1, 0, 0, 0); // mov eax, 1 (write)
  bytes(0xbf, 1, 0, 0, 0); // mov edi, 1 (stdout)
  bytes(0x48, 0x8d, 0x35); // lea rsi, [rip + disp32]: disp is from the next instruction to the message
  code.writeInt32LE(code.length - (o + 4), o);
  o += 4;
  bytes(0xba); // mov edx, imm32 (length)
  code.writeUInt32LE(messageLength, o);
  o += 4;
  bytes(0x0f, 0x05); // syscall
  bytes(0xb8, 231, 0, 0, 0); // mov eax, 231 (exit_group)
  bytes(0x31, 0xff); // xor edi, edi (status 0)
  bytes(0x0f, 0x05); // syscall
  if (o !== code.length) throw new Error(`amd64 code is ${o} bytes, expected ${code.length}`);
  return code;
}

/** AArch64: eight 4-byte instructions; the message follows them. */
function arm64Code(messageLength: number): Buffer {
  const movz = (reg: number, imm: number) => 0xd2800000 | (imm << 5) | reg; // movz xREG, #imm16
  const words = [
    movz(0, 1), // x0 = 1 (stdout)
    0, // adr x1, message (filled below)
    movz(2, messageLength), // x2 = length
    movz(8, 64), // x8 = 64 (write)
    0xd4000001, // svc #0
    movz(0, 0), // x0 = 0 (status)
    movz(8, 94), // x8 = 94 (exit_group)
    0xd4000001, // svc #0
  ];
  const adrAt = 4;
  const delta = words.length * 4 - adrAt; // from the adr instruction to the message
  words[1] = 0x10000000 | ((delta & 3) << 29) | (((delta >> 2) & 0x7ffff) << 5) | 1;
  const code = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => code.writeUInt32LE(w >>> 0, i * 4));
  return code;
}

export function helloElf(arch: ElfArch, message: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  if (text.length === 0 || text.length > MAX_MESSAGE_BYTES) {
    throw new Error(`the hello-world message must be 1 to ${MAX_MESSAGE_BYTES} bytes, it is ${text.length}`);
  }
  const code = arch === 'amd64' ? amd64Code(text.length) : arm64Code(text.length);
  const size = CODE_OFFSET + code.length + text.length;
  const out = Buffer.alloc(size);
  // ELF header
  out.set([0x7f, 0x45, 0x4c, 0x46, 2 /* 64-bit */, 1 /* little endian */, 1 /* version */, 0 /* System V ABI */], 0);
  out.writeUInt16LE(2, 16); // e_type: ET_EXEC
  out.writeUInt16LE(MACHINE[arch], 18);
  out.writeUInt32LE(1, 20); // e_version
  out.writeBigUInt64LE(BASE + BigInt(CODE_OFFSET), 24); // e_entry
  out.writeBigUInt64LE(BigInt(EHDR_SIZE), 32); // e_phoff
  out.writeBigUInt64LE(0n, 40); // e_shoff: no sections
  out.writeUInt32LE(0, 48); // e_flags
  out.writeUInt16LE(EHDR_SIZE, 52);
  out.writeUInt16LE(PHDR_SIZE, 54);
  out.writeUInt16LE(1, 56); // e_phnum
  out.writeUInt16LE(64, 58); // e_shentsize
  out.writeUInt16LE(0, 60); // e_shnum
  out.writeUInt16LE(0, 62); // e_shstrndx
  // Program header: PT_LOAD, R+X, the whole file at BASE
  const ph = EHDR_SIZE;
  out.writeUInt32LE(1, ph); // p_type
  out.writeUInt32LE(5, ph + 4); // p_flags: PF_R | PF_X
  out.writeBigUInt64LE(0n, ph + 8); // p_offset
  out.writeBigUInt64LE(BASE, ph + 16); // p_vaddr
  out.writeBigUInt64LE(BASE, ph + 24); // p_paddr
  out.writeBigUInt64LE(BigInt(size), ph + 32); // p_filesz
  out.writeBigUInt64LE(BigInt(size), ph + 40); // p_memsz
  out.writeBigUInt64LE(0x1000n, ph + 48); // p_align
  code.copy(out, CODE_OFFSET);
  text.copy(out, CODE_OFFSET + code.length);
  return out;
}
