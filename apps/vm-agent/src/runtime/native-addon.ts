/**
 * The exact shape of the C addon's exports (native/src/*.c). Only native.ts
 * and the runtime modules built on it use this; the rest of the agent uses
 * the typed wrappers.
 */
export interface Addon {
  mknod(path: string, mode: number, major: number, minor: number): void;
  lsetxattr(path: string, name: string, value: Uint8Array): void;
  lgetxattr(path: string, name: string): Buffer | undefined;
  mount(source: string | null, target: string, fstype: string | null, flags: readonly string[] | number, data: string | null): void;
  umount(target: string, flags: readonly string[] | number): void;
}
