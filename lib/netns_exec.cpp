// Running a program inside a network namespace (fork, setns, execvp), its stdin fed from a
// string and its stdout/stderr collected: what iptables-save/-restore run through.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <tuple>

#include "ovnet/error.hpp"
#include "ovnet/netns.hpp"

namespace ovnet {

namespace {

void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

}  // namespace

ExecResult exec_in_netns(const std::string& netns_path, const std::vector<std::string>& argv,
                         const std::string& input) {
    ExecResult res;
    if (argv.empty()) throw_input("exec: empty command");
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, st[2] = {-1, -1};
    auto cleanup = [&] { for (int* p : {in, out, err, st}) { close_fd(p[0]); close_fd(p[1]); } };
    if (::pipe2(in, O_CLOEXEC) < 0 || ::pipe2(out, O_CLOEXEC) < 0 || ::pipe2(err, O_CLOEXEC) < 0 ||
        ::pipe2(st, O_CLOEXEC) < 0) {
        int e = errno;
        cleanup();
        throw_sys(e, "pipe");
    }
    // Opened and checked once (a network namespace, never through a link), closed with `ns`.
    NetnsFile ns;
    try {
        ns = netns_open(netns_path);
    } catch (...) {
        cleanup();
        throw;
    }
    int nsfd = ns.fd();
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
        int e = errno;
        cleanup();
        throw_sys(e, "fork");
    }
    if (pid == 0) {
        // Child: only async-signal-safe calls from here on.
        int e = 0;
        if (nsfd >= 0 && ::setns(nsfd, CLONE_NEWNET) < 0) e = errno;
        if (!e && (::dup2(in[0], 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(err[1], 2) < 0)) e = errno;
        if (!e) {
            ::signal(SIGPIPE, SIG_DFL);
            ::execvp(args[0], args.data());
            e = errno;
        }
        (void)!::write(st[1], &e, sizeof e);
        ::_exit(127);
    }
    close_fd(in[0]);
    close_fd(out[1]);
    close_fd(err[1]);
    close_fd(st[1]);
    auto old = ::signal(SIGPIPE, SIG_IGN);
    ::fcntl(in[1], F_SETFL, O_NONBLOCK);
    size_t written = 0;
    if (input.empty()) close_fd(in[1]);
    char buf[65536];
    while (out[0] >= 0 || err[0] >= 0 || in[1] >= 0) {
        pollfd p[3];
        int n = 0;
        int io = -1, oo = -1, eo = -1;
        if (in[1] >= 0) { io = n; p[n++] = {in[1], POLLOUT, 0}; }
        if (out[0] >= 0) { oo = n; p[n++] = {out[0], POLLIN, 0}; }
        if (err[0] >= 0) { eo = n; p[n++] = {err[0], POLLIN, 0}; }
        if (::poll(p, n, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (io >= 0 && p[io].revents) {
            ssize_t w = ::write(in[1], input.data() + written, input.size() - written);
            if (w > 0) written += size_t(w);
            if (w < 0 && errno != EAGAIN && errno != EINTR) close_fd(in[1]);
            if (written == input.size()) close_fd(in[1]);
        }
        for (auto [idx, fdp, dst] : {std::tuple{oo, &out[0], &res.out}, std::tuple{eo, &err[0], &res.errout}}) {
            if (idx < 0 || !p[idx].revents) continue;
            ssize_t r = ::read(*fdp, buf, sizeof buf);
            if (r > 0) dst->append(buf, size_t(r));
            else if (r == 0 || (errno != EINTR && errno != EAGAIN)) close_fd(*fdp);
        }
    }
    ::signal(SIGPIPE, old);
    int child_err = 0;
    if (::read(st[0], &child_err, sizeof child_err) != sizeof child_err) child_err = 0;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    cleanup();
    if (child_err) {
        res.err = child_err;
        res.status = -1;
        return res;
    }
    res.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return res;
}

}  // namespace ovnet
