{
  "targets": [
    {
      "target_name": "berth_native",
      "sources": [
        "src/addon.c",
        "src/args.c",
        "src/errors.c",
        "src/fs.c",
        "src/mount.c",
        "src/spec.c",
        "src/child.c",
        "src/launch.c",
        "src/ns_join.c",
        "src/proc_settings.c",
        "src/rootfs.c",
        "src/pty.c",
        "src/process.c",
        "src/spawn.c",
        "src/exec.c",
        "src/wait.c",
        "src/relay_pump.c",
        "src/relay_workers.c",
        "src/relay_listeners.c",
        "src/relay_bindings.c",
        "src/devices.c",
        "src/devices_bpf.c",
        "src/seccomp.c",
        "src/rtnl.c",
        "src/veth.c",
        "src/exec_shim.c"
      ],
      "libraries": [
        "-lseccomp"
      ],
      "cflags": [
        "-std=gnu11",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter",
        "-Werror=implicit-function-declaration"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "_GNU_SOURCE"
      ],
      "dependencies": [
        "berth-shim"
      ]
    },
    {
      "target_name": "berth-shim",
      "type": "executable",
      "sources": [
        "shim/main.c",
        "shim/lookup.c",
        "shim/init.c"
      ],
      "cflags": [
        "-std=gnu11",
        "-Os",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter",
        "-Werror=implicit-function-declaration"
      ],
      "ldflags": [
        "-static",
        "-s"
      ],
      "defines": [
        "_GNU_SOURCE"
      ]
    }
  ]
}
