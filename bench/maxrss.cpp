// maxrss REPORT CMD [ARG...]: runs CMD (stdin, stdout and stderr inherited), then writes
// "maxrss_kib <peak RSS of CMD, KiB> wall_us <wall time, microseconds> status <exit status>" to
// REPORT and exits with CMD's status. The peak is wait4()'s ru_maxrss: the largest RSS of CMD or
// of any child it waited for (the same figure as /usr/bin/time -v's "Maximum resident set size"),
// measured here because the VM guest has no /usr/bin/time. libc only.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: maxrss REPORT CMD [ARG...]\n");
        return 2;
    }
    auto t0 = std::chrono::steady_clock::now();
    pid_t pid = ::fork();
    if (pid < 0) {
        std::perror("maxrss: fork");
        return 2;
    }
    if (pid == 0) {
        ::execvp(argv[2], argv + 2);
        std::fprintf(stderr, "maxrss: %s: %s\n", argv[2], std::strerror(errno));
        _exit(127);
    }
    int st = 0;
    struct rusage ru {};
    while (::wait4(pid, &st, 0, &ru) < 0)
        if (errno != EINTR) {
            std::perror("maxrss: wait4");
            return 2;
        }
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    FILE* f = std::fopen(argv[1], "w");
    if (!f) {
        std::perror("maxrss: report");
        return 2;
    }
    std::fprintf(f, "maxrss_kib %ld wall_us %lld status %d\n", ru.ru_maxrss, static_cast<long long>(us), rc);
    std::fclose(f);
    return rc;
}
