/** Node's name for an architecture in Go's (GOARCH), as the Docker API, image platforms and seccomp profiles spell it. */
const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** "amd64" for x64, "386" for ia32, "ppc64le" for ppc64 (Linux on POWER is little-endian); names Go shares with Node as they are. */
export function goArch(nodeArch: string = process.arch): string {
  return GO_ARCH[nodeArch] ?? nodeArch;
}
