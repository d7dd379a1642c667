/*
 * mount(2) and umount2(2). Flags are given by name ("bind", "rec", "ro") or
 * as a number; unknown names are a TypeError that lists the known ones.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "addon.h"
#include "args.h"
#include "errors.h"

struct flag_name {
  const char *name;
  unsigned long value;
};

static const struct flag_name mount_flags[] = {
    {"ro", MS_RDONLY},           {"rdonly", MS_RDONLY},     {"nosuid", MS_NOSUID},
    {"nodev", MS_NODEV},         {"noexec", MS_NOEXEC},     {"sync", MS_SYNCHRONOUS},
    {"remount", MS_REMOUNT},     {"mandlock", MS_MANDLOCK}, {"dirsync", MS_DIRSYNC},
    {"noatime", MS_NOATIME},     {"nodiratime", MS_NODIRATIME}, {"bind", MS_BIND},
    {"move", MS_MOVE},           {"rec", MS_REC},           {"silent", MS_SILENT},
    {"unbindable", MS_UNBINDABLE}, {"private", MS_PRIVATE}, {"slave", MS_SLAVE},
    {"shared", MS_SHARED},       {"relatime", MS_RELATIME}, {"strictatime", MS_STRICTATIME},
    {"lazytime", MS_LAZYTIME},   {NULL, 0}};

static const struct flag_name umount_flags[] = {
    {"force", MNT_FORCE}, {"detach", MNT_DETACH}, {"expire", MNT_EXPIRE}, {"nofollow", UMOUNT_NOFOLLOW}, {NULL, 0}};

/* Flags from a number, an array of names, or nothing (0). */
static bool parse_flags(napi_env env, napi_value v, const struct flag_name *table, const char *what,
                        unsigned long *out) {
  *out = 0;
  if (args_is_nullish(env, v)) return true;
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_number) {
    int64_t n;
    if (!args_int64(env, v, what, &n)) return false;
    *out = (unsigned long)n;
    return true;
  }
  char **names;
  if (!args_strv(env, v, what, &names, NULL)) return false;
  for (char **n = names; *n; n++) {
    const struct flag_name *f = table;
    while (f->name && strcmp(f->name, *n) != 0) f++;
    if (!f->name) {
      char known[512] = "";
      for (f = table; f->name; f++) {
        strncat(known, f->name, sizeof known - strlen(known) - 3);
        if (f[1].name) strcat(known, ", ");
      }
      berth_throw_type(env, "%s: unknown flag \"%s\" (known: %s)", what, *n, known);
      args_free_strv(names);
      return false;
    }
    *out |= f->value;
  }
  args_free_strv(names);
  return true;
}

/* mount(source, target, fstype, flags, data) */
static napi_value js_mount(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  char *source = NULL, *target = NULL, *fstype = NULL, *data = NULL;
  unsigned long flags;
  if (!args_get(env, info, 5, argv)) return NULL;
  if (!args_opt_string(env, argv[0], "mount: source", &source) || !args_string(env, argv[1], "mount: target", &target) ||
      !args_opt_string(env, argv[2], "mount: fstype", &fstype) ||
      !parse_flags(env, argv[3], mount_flags, "mount: flags", &flags) ||
      !args_opt_string(env, argv[4], "mount: data", &data))
    goto out;
  if (mount(source, target, fstype, flags, data) != 0) {
    int err = errno;
    /* Options are where overlay mounts usually go wrong: name them. */
    berth_throw_errno(env, err, "mount", "mount `%s` (type %s) on `%s`%s%s", source ? source : "none",
                      fstype ? fstype : "none", target, data ? " with options " : "", data ? data : "");
  }
out:
  free(source);
  free(target);
  free(fstype);
  free(data);
  return NULL;
}

/* umount(target, flags) */
static napi_value js_umount(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char *target = NULL;
  unsigned long flags;
  if (!args_get(env, info, 2, argv)) return NULL;
  if (!args_string(env, argv[0], "umount: target", &target)) return NULL;
  if (parse_flags(env, argv[1], umount_flags, "umount: flags", &flags) && umount2(target, (int)flags) != 0)
    berth_throw_errno(env, errno, "umount2", "umount `%s`", target);
  free(target);
  return NULL;
}

void berth_init_mount(napi_env env, napi_value exports) {
  berth_export(env, exports, "mount", js_mount);
  berth_export(env, exports, "umount", js_umount);
}
