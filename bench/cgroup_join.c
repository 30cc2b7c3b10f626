// Cold-start probe (issue 15): how long a child takes to join a cgroup, by
// the way Bastion does it (fork, then write "0" to cgroup.procs) and, on a v2
// hierarchy, with clone3(CLONE_INTO_CGROUP). Needs root.
//   gcc -O2 -o /tmp/cgroup_join bench/cgroup_join.c && /tmp/cgroup_join [v1-dir] [v2-dir]
// defaults: /sys/fs/cgroup/pids and /sys/fs/cgroup/unified (skipped if absent).
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

// fork + join, timed from fork to the child's exit.
static double fork_join(const char* procs) {
  double t0 = now_ms();
  pid_t c = fork();
  if (c == 0) {
    int fd = open(procs, O_WRONLY);
    if (fd < 0 || write(fd, "0", 1) != 1) _exit(1);
    _exit(0);
  }
  waitpid(c, 0, 0);
  return now_ms() - t0;
}

static double clone_into(int dfd) {
  double t0 = now_ms();
  struct clone_args ca;
  memset(&ca, 0, sizeof ca);
  ca.flags = CLONE_INTO_CGROUP;
  ca.exit_signal = SIGCHLD;
  ca.cgroup = (unsigned long long)dfd;
  long c = syscall(SYS_clone3, &ca, sizeof ca);
  if (c == 0) _exit(0);
  if (c < 0) return -1;
  waitpid((pid_t)c, 0, 0);
  return now_ms() - t0;
}

int main(int argc, char** argv) {
  const char* v1 = argc > 1 ? argv[1] : "/sys/fs/cgroup/pids";
  const char* v2 = argc > 2 ? argv[2] : "/sys/fs/cgroup/unified";
  char d[512], p[600];
  snprintf(d, sizeof d, "%s/bastion-probe-%d", v1, getpid());
  if (mkdir(d, 0755) == 0) {
    snprintf(p, sizeof p, "%s/cgroup.procs", d);
    for (int r = 0; r < 6; ++r) {
      usleep(300000);  // idle, as before a lazily started server's first call
      double a = fork_join(p);
      double b = fork_join(p);  // right after another migration
      printf("v1 %s: fork+join after idle %.2f ms, right after another join %.2f ms\n", v1, a, b);
    }
    rmdir(d);
  }
  snprintf(d, sizeof d, "%s/bastion-probe-%d", v2, getpid());
  if (mkdir(d, 0755) == 0) {
    snprintf(p, sizeof p, "%s/cgroup.procs", d);
    int dfd = open(d, O_RDONLY | O_DIRECTORY);
    for (int r = 0; r < 6; ++r) {
      usleep(300000);
      double a = fork_join(p);
      usleep(300000);
      double b = clone_into(dfd);
      printf("v2 %s: fork+join %.2f ms, clone3(CLONE_INTO_CGROUP) %.2f ms\n", v2, a, b);
    }
    close(dfd);
    rmdir(d);
  }
  return 0;
}
