/*
 * peercred.node: kernel peer credentials of a connected Unix-domain socket.
 *
 * Exports:
 *   getPeerCred(fd) -> { pid, uid, gid }   getsockopt(SO_PEERCRED), see unix(7)
 *   getPeerPidfd(fd) -> number             getsockopt(SO_PEERPIDFD) (Linux 6.5+): a pidfd
 *                                          for the very process that connected; -1 when the
 *                                          kernel does not know the option
 *   pidfdExited(pidfd) -> boolean          poll(2) on a pidfd: readable once the process exited
 * It is only a thin syscall shim: validation of the fd's origin and the mapping to
 * typed errors live in the TypeScript wrappers (src/peer-credentials.ts, src/pidfd.ts).
 *
 * Errors are thrown as plain Error objects carrying `errno` (the positive errno
 * value) and `syscall` (the call that failed), so the wrapper can map them to
 * stable codes without parsing messages.
 */
#define _GNU_SOURCE
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif

#include <node_api.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* From <asm-generic/socket.h> of Linux 6.5; older C library headers lack it. */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* Evaluates a N-API call; on failure throws (if nothing is pending) and returns NULL. */
#define NAPI_CALL(env, call)                                                   \
  do {                                                                         \
    napi_status status_ = (call);                                              \
    if (status_ != napi_ok) {                                                  \
      bool pending_ = false;                                                   \
      napi_is_exception_pending((env), &pending_);                             \
      if (!pending_) {                                                         \
        napi_throw_error((env), NULL, "peercred: N-API call failed: " #call);  \
      }                                                                        \
      return NULL;                                                             \
    }                                                                          \
  } while (0)

/* Throws an Error whose message is strerror(err), with `errno` and `syscall` set. */
static napi_value throw_errno(napi_env env, int err, const char *syscall) {
  char message[160];
  napi_value msg_value;
  napi_value error;
  napi_value errno_value;
  napi_value syscall_value;

  (void)snprintf(message, sizeof message, "%s: %s", syscall, strerror(err));
  NAPI_CALL(env, napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg_value));
  NAPI_CALL(env, napi_create_error(env, NULL, msg_value, &error));
  NAPI_CALL(env, napi_create_int32(env, err, &errno_value));
  NAPI_CALL(env, napi_set_named_property(env, error, "errno", errno_value));
  NAPI_CALL(env, napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value));
  NAPI_CALL(env, napi_set_named_property(env, error, "syscall", syscall_value));
  NAPI_CALL(env, napi_throw(env, error));
  return NULL;
}

/*
 * Reads argument 0 as a file descriptor: an integral number in [0, INT32_MAX] (NaN, fractions
 * and out-of-range values are refused rather than truncated to some other descriptor).
 * Returns false after throwing.
 */
static bool fd_argument(napi_env env, napi_callback_info info, const char *name, int32_t *fd) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype type;
  double value;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) {
    napi_throw_type_error(env, NULL, name);
    return false;
  }
  if (napi_typeof(env, argv[0], &type) != napi_ok || type != napi_number ||
      napi_get_value_double(env, argv[0], &value) != napi_ok) {
    napi_throw_type_error(env, NULL, name);
    return false;
  }
  if (!(value >= 0 && value <= 2147483647.0) || value != (double)(int32_t)value) {
    throw_errno(env, EBADF, name);
    return false;
  }
  *fd = (int32_t)value;
  return true;
}

/* getPeerPidfd(fd): a pidfd (O_CLOEXEC) of the peer as it was at connect(2), or -1. */
static napi_value get_peer_pidfd(napi_env env, napi_callback_info info) {
  int32_t fd;
  int pidfd = -1;
  socklen_t len = sizeof pidfd;
  napi_value result;

  if (!fd_argument(env, info, "getPeerPidfd(fd): fd must be a non-negative number", &fd)) {
    return NULL;
  }
  if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) != 0) {
    if (errno == ENOPROTOOPT) {
      pidfd = -1; /* kernel before 6.5 */
    } else {
      return throw_errno(env, errno, "getsockopt(SO_PEERPIDFD)");
    }
  }
  if (napi_create_int32(env, pidfd, &result) != napi_ok) {
    if (pidfd >= 0) close(pidfd); /* never leak a descriptor the caller cannot see */
    napi_throw_error(env, NULL, "peercred: could not return the pidfd");
    return NULL;
  }
  return result;
}

/* pidfdExited(pidfd): whether the process behind the pidfd has exited (never blocks). */
static napi_value pidfd_exited(napi_env env, napi_callback_info info) {
  int32_t fd;
  struct pollfd entry;
  int ready;
  napi_value result;

  if (!fd_argument(env, info, "pidfdExited(pidfd): pidfd must be a non-negative number", &fd)) {
    return NULL;
  }
  memset(&entry, 0, sizeof entry);
  entry.fd = fd;
  entry.events = POLLIN;
  do {
    ready = poll(&entry, 1, 0);
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) {
    return throw_errno(env, errno, "poll(pidfd)");
  }
  if (ready > 0 && (entry.revents & POLLNVAL) != 0) {
    return throw_errno(env, EBADF, "poll(pidfd)");
  }
  NAPI_CALL(env, napi_get_boolean(env, ready > 0 && (entry.revents & (POLLIN | POLLHUP)) != 0, &result));
  return result;
}

/* getPeerCred(fd): { pid: number, uid: number, gid: number } */
static napi_value get_peer_cred(napi_env env, napi_callback_info info) {
  int32_t fd;

  if (!fd_argument(env, info, "getPeerCred(fd): fd must be a non-negative number", &fd)) {
    return NULL;
  }

#ifdef SO_PEERCRED
  {
    int domain = 0;
    socklen_t domain_len = sizeof domain;
    struct ucred cred;
    socklen_t cred_len = sizeof cred;
    napi_value result;
    napi_value pid_value;
    napi_value uid_value;
    napi_value gid_value;

    /*
     * SO_PEERCRED also "succeeds" on TCP sockets, reporting pid 0 and the overflow
     * uid/gid (usually 65534). Refuse anything that is not AF_UNIX so such values
     * can never be mistaken for a real peer.
     */
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &domain_len) != 0) {
      return throw_errno(env, errno, "getsockopt(SO_DOMAIN)");
    }
    if (domain != AF_UNIX) {
      return throw_errno(env, EAFNOSUPPORT, "getsockopt(SO_DOMAIN)");
    }

    memset(&cred, 0, sizeof cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) != 0) {
      return throw_errno(env, errno, "getsockopt(SO_PEERCRED)");
    }
    if (cred_len != sizeof cred) {
      return throw_errno(env, EINVAL, "getsockopt(SO_PEERCRED)");
    }

    NAPI_CALL(env, napi_create_object(env, &result));
    NAPI_CALL(env, napi_create_int32(env, (int32_t)cred.pid, &pid_value));
    NAPI_CALL(env, napi_create_uint32(env, (uint32_t)cred.uid, &uid_value));
    NAPI_CALL(env, napi_create_uint32(env, (uint32_t)cred.gid, &gid_value));
    NAPI_CALL(env, napi_set_named_property(env, result, "pid", pid_value));
    NAPI_CALL(env, napi_set_named_property(env, result, "uid", uid_value));
    NAPI_CALL(env, napi_set_named_property(env, result, "gid", gid_value));
    return result;
  }
#else
  return throw_errno(env, ENOSYS, "getsockopt(SO_PEERCRED)");
#endif
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  NAPI_CALL(env, napi_create_function(env, "getPeerCred", NAPI_AUTO_LENGTH, get_peer_cred, NULL, &fn));
  NAPI_CALL(env, napi_set_named_property(env, exports, "getPeerCred", fn));
  NAPI_CALL(env, napi_create_function(env, "getPeerPidfd", NAPI_AUTO_LENGTH, get_peer_pidfd, NULL, &fn));
  NAPI_CALL(env, napi_set_named_property(env, exports, "getPeerPidfd", fn));
  NAPI_CALL(env, napi_create_function(env, "pidfdExited", NAPI_AUTO_LENGTH, pidfd_exited, NULL, &fn));
  NAPI_CALL(env, napi_set_named_property(env, exports, "pidfdExited", fn));
  return exports;
}

NAPI_MODULE_INIT() {
  return init(env, exports);
}
