// strata_probe: a static program the sandbox battery runs inside the sandbox. Each case
// attempts one attack and prints one line: "blocked <detail>" (exit 0) when it failed, or
// "escaped <detail>" (exit 1) when it worked. "info" prints what the sandbox looks like.
// Static, so it needs nothing from the sandbox's root filesystem.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

static int verdict(int failed, const char* what) {
  int saved = errno;
  if (failed) {
    printf("blocked %s: %s\n", what, strerror(saved));
    return 0;
  }
  printf("escaped %s\n", what);
  return 1;
}

static int probe_tcp(const char* port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(port))};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return verdict(connect(s, (struct sockaddr*)&addr, sizeof addr) != 0, "connect 127.0.0.1");
}

// A DNS query for example.com to `server`: there must be no route to any nameserver.
static int probe_dns(const char* server) {
  static const unsigned char query[] = {0x12, 0x34, 1,   0,   0,   1,   0,   0,   0,   0,
                                        0,    0,    7,   'e', 'x', 'a', 'm', 'p', 'l', 'e',
                                        3,    'c',  'o', 'm', 0,   0,   1,   0,   1};
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(53)};
  inet_pton(AF_INET, server, &addr.sin_addr);
  struct timeval tv = {.tv_sec = 1};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (sendto(s, query, sizeof query, 0, (struct sockaddr*)&addr, sizeof addr) < 0)
    return verdict(1, "send dns query");
  char reply[512];
  return verdict(recv(s, reply, sizeof reply, 0) < 0, "receive dns reply");
}

static int probe_abstract(const char* name) {
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t len = strlen(name);
  memcpy(addr.sun_path + 1, name, len);
  socklen_t size = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
  return verdict(connect(s, (struct sockaddr*)&addr, size) != 0, "connect abstract socket");
}

static int probe_write(const char* path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return verdict(1, path);
  return verdict(write(fd, "0\n", 2) != 2, path);
}

static int probe_read(const char* path) {
  char buf[64];
  int fd = open(path, O_RDONLY);
  if (fd < 0) return verdict(1, path);
  return verdict(read(fd, buf, sizeof buf) < 0, path);
}

static int probe_symlink(const char* target) {
  unlink("/tmp/probe-link");
  if (symlink(target, "/tmp/probe-link") != 0) return verdict(1, "symlink");
  struct stat st;
  return verdict(stat("/tmp/probe-link", &st) != 0, target);
}

// Every descriptor besides stdio (and the one reading the directory) is a leak.
static int probe_fds(void) {
  DIR* d = opendir("/proc/self/fd");
  struct dirent* e;
  int leaked = 0;
  while ((e = readdir(d)) != NULL) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] == '.' || fd <= 2 || fd == dirfd(d)) continue;
    char path[64], target[256] = "";
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    readlink(path, target, sizeof target - 1);
    printf("info leaked fd %d -> %s\n", fd, target);
    leaked = 1;
  }
  closedir(d);
  if (leaked) return verdict(0, "inherited descriptor");
  // Listing pid 1's descriptors may be allowed (file modes); following them must not be.
  DIR* init = opendir("/proc/1/fd");
  if (init == NULL) return verdict(1, "access /proc/1/fd");
  int escaped = 0, saved = EACCES;
  while ((e = readdir(init)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char path[300], target[256] = "";
    snprintf(path, sizeof path, "/proc/1/fd/%s", e->d_name);
    if (readlink(path, target, sizeof target - 1) >= 0) {
      printf("info pid 1 fd %s -> %s\n", e->d_name, target);
      escaped = 1;
    } else {
      saved = errno;
    }
  }
  errno = saved;
  return verdict(!escaped, "access /proc/1/fd");
}

static int probe_handle(void) {
  struct {
    struct file_handle h;
    unsigned char data[128];
  } fh = {.h.handle_bytes = 128};
  int mount_id;
  if (name_to_handle_at(AT_FDCWD, "/", &fh.h, &mount_id, 0) != 0)
    return verdict(1, "name_to_handle_at");
  int fd = open_by_handle_at(AT_FDCWD, &fh.h, O_RDONLY);
  return verdict(fd < 0, "open_by_handle_at");
}

static int probe_pids(void) {
  DIR* d = opendir("/proc");
  struct dirent* e;
  int count = 0;
  while ((e = readdir(d)) != NULL) {
    if (atoi(e->d_name) > 0) {
      printf("info pid %s\n", e->d_name);
      ++count;
    }
  }
  errno = 0;
  return verdict(count <= 2, "see other processes");
}

static int probe_forkbomb(void) {
  int count = 0;
  for (;;) {
    pid_t pid = fork();
    if (pid == 0) {
      pause();
      _exit(0);
    }
    if (pid < 0) break;
    if (++count > 5000) return verdict(0, "fork 5000 processes");
  }
  int saved = errno;
  printf("info forked %d\n", count);
  errno = saved;
  return verdict(1, "fork without limit");
}

static int probe_sleepers(void) {
  for (int i = 0; i < 3; ++i) {
    if (fork() == 0) {
      signal(SIGTERM, SIG_IGN);
      setsid();
      sleep(60);
      _exit(0);
    }
  }
  sleep(60);
  return verdict(0, "outlive the timeout");
}

static int probe_int80(void) {
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");  // i386 getpid
  return verdict(0, "i386 int 0x80 syscall");
}

static int probe_x32(void) {
  syscall(0x40000000L | 39);  // x32 getpid
  return verdict(0, "x32 syscall");
}

static int probe_syscalls(const char* which) {
  if (!strcmp(which, "ptrace")) return verdict(ptrace(PTRACE_ATTACH, 1, 0, 0) != 0, which);
  if (!strcmp(which, "mount")) return verdict(mount("none", "/tmp", "tmpfs", 0, NULL) != 0, which);
  if (!strcmp(which, "unshare")) return verdict(unshare(CLONE_NEWUSER) != 0, which);
  if (!strcmp(which, "clone-newuser"))
    return verdict(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0) < 0, which);
  if (!strcmp(which, "setns")) {
    int fd = open("/proc/self/ns/net", O_RDONLY);
    return verdict(setns(fd, 0) != 0, which);
  }
  if (!strcmp(which, "keyctl")) return verdict(syscall(SYS_keyctl, 0, -3, 0) < 0, which);
  if (!strcmp(which, "bpf")) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    return verdict(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr) < 0, which);
  }
  if (!strcmp(which, "perf_event_open")) {
    struct perf_event_attr attr = {.type = PERF_TYPE_SOFTWARE,
                                   .size = sizeof attr,
                                   .config = PERF_COUNT_SW_CPU_CLOCK,
                                   .exclude_kernel = 1};
    return verdict(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0) < 0, which);
  }
  if (!strcmp(which, "io_uring_setup")) {
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    return verdict(syscall(SYS_io_uring_setup, 1, &params) < 0, which);
  }
  if (!strcmp(which, "personality")) return verdict(personality(PER_LINUX32) < 0, which);
  if (!strcmp(which, "kill-all")) {
    kill(-1, SIGKILL);
    return verdict(1, "kill(-1, SIGKILL) outside");
  }
  fprintf(stderr, "unknown syscall case %s\n", which);
  return 2;
}

// socket() or socketpair() of one address family; "blocked socket AF_VSOCK: <strerror>" when
// it fails. The type and protocol are ones the family accepts, so a refusal is about the family.
static int probe_socket(const char* call, const char* which) {
  static const struct {
    const char* name;
    const char* label;
    int family, type, protocol;
  } families[] = {
      {"vsock", "AF_VSOCK", AF_VSOCK, SOCK_STREAM, 0},
      {"packet", "AF_PACKET", AF_PACKET, SOCK_RAW, 0},
      {"bluetooth", "AF_BLUETOOTH", AF_BLUETOOTH, SOCK_STREAM, 0},  // 0: BTPROTO_L2CAP
      {"key", "AF_KEY", AF_KEY, SOCK_RAW, 2},                       // 2: PF_KEY_V2
      {"alg", "AF_ALG", AF_ALG, SOCK_SEQPACKET, 0},
      {"unix", "AF_UNIX", AF_UNIX, SOCK_STREAM, 0},
      {"inet", "AF_INET", AF_INET, SOCK_DGRAM, 0},
      {"inet6", "AF_INET6", AF_INET6, SOCK_DGRAM, 0},
      {"netlink", "AF_NETLINK", AF_NETLINK, SOCK_RAW, 0},  // 0: NETLINK_ROUTE
  };
  for (size_t i = 0; i < sizeof families / sizeof families[0]; ++i) {
    if (strcmp(which, families[i].name) != 0) continue;
    char what[64];
    snprintf(what, sizeof what, "%s %s", call, families[i].label);
    if (!strcmp(call, "socketpair")) {
      int sv[2];
      return verdict(
          socketpair(families[i].family, families[i].type, families[i].protocol, sv) != 0, what);
    }
    return verdict(socket(families[i].family, families[i].type, families[i].protocol) < 0, what);
  }
  fprintf(stderr, "unknown socket family %s\n", which);
  return 2;
}

// What pid 1 (the sandbox's reaper, a copy of the process that started the sandbox) shows
// to everything inside: its command line must not be the host's (paths, key files: `marker`
// is a word of the host command line), nor its environment.
static int probe_proc1(const char* marker) {
  char buf[8192];
  int fd = open("/proc/1/cmdline", O_RDONLY);
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  if (n < 0) return verdict(1, "read /proc/1/cmdline");
  for (ssize_t i = 0; i < n; ++i) buf[i] = buf[i] ? buf[i] : '|';
  buf[n] = 0;
  if (strstr(buf, marker)) {
    printf("escaped /proc/1/cmdline shows the host command line: %s\n", buf);
    return 1;
  }
  char env[8192];
  int efd = open("/proc/1/environ", O_RDONLY);
  ssize_t en = efd < 0 ? -1 : read(efd, env, sizeof env - 1);
  if (en > 0) {
    printf("escaped /proc/1/environ is readable (%zd bytes)\n", en);
    return 1;
  }
  printf("blocked /proc/1/cmdline shows: %s\n", buf);
  return 0;
}

static int probe_info(void) {
  struct utsname u;
  uname(&u);
  mode_t mask = umask(0);
  char cwd[256];
  printf("hostname=%s\ndomainname=%s\n", u.nodename, u.domainname);
  printf("uid=%d gid=%d euid=%d egid=%d\n", getuid(), getgid(), geteuid(), getegid());
  printf("umask=%04o\ncwd=%s\n", mask, getcwd(cwd, sizeof cwd));
  for (char** e = environ; *e; ++e) printf("env %s\n", *e);
  FILE* f = fopen("/etc/passwd", "r");
  char line[256];
  while (f && fgets(line, sizeof line, f)) printf("passwd %s", line);
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc < 2) return 2;
  const char* c = argv[1];
  const char* arg = argc > 2 ? argv[2] : "";
  if (!strcmp(c, "tcp")) return probe_tcp(arg);
  if (!strcmp(c, "dns")) return probe_dns(arg);
  if (!strcmp(c, "abstract")) return probe_abstract(arg);
  if (!strcmp(c, "write")) return probe_write(arg);
  if (!strcmp(c, "read")) return probe_read(arg);
  if (!strcmp(c, "symlink")) return probe_symlink(arg);
  if (!strcmp(c, "fds")) return probe_fds();
  if (!strcmp(c, "handle")) return probe_handle();
  if (!strcmp(c, "pids")) return probe_pids();
  if (!strcmp(c, "forkbomb")) return probe_forkbomb();
  if (!strcmp(c, "sleepers")) return probe_sleepers();
  if (!strcmp(c, "int80")) return probe_int80();
  if (!strcmp(c, "x32")) return probe_x32();
  if (!strcmp(c, "syscall")) return probe_syscalls(arg);
  if (!strcmp(c, "socket") || !strcmp(c, "socketpair")) return probe_socket(c, arg);
  if (!strcmp(c, "info")) return probe_info();
  if (!strcmp(c, "proc1")) return probe_proc1(arg);
  fprintf(stderr, "strata_probe: unknown case %s\n", c);
  return 2;
}
