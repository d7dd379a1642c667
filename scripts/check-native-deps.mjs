#!/usr/bin/env node
// Runs before node-gyp builds the agent's C addon (native/): checks for the
// one system library it links, so a machine without it hears what to install
// instead of a compiler error deep in node-gyp's output.
import { existsSync } from 'node:fs';

if (process.platform === 'linux' && !existsSync('/usr/include/seccomp.h')) {
  console.error(
    "build:native: libseccomp's headers are missing (/usr/include/seccomp.h).\n" +
      "The addon compiles containers' seccomp filters with libseccomp. On Debian or Ubuntu: apt-get install libseccomp-dev",
  );
  process.exit(1);
}
