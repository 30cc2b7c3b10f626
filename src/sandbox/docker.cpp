#include "sandbox/docker.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>

#include "sandbox/binds.hpp"
#include "sandbox/contain.hpp"
#include "sandbox/environment.hpp"

namespace bastion::sandbox {

namespace {

std::atomic<std::uint64_t> g_container_seq{0};

// One field of a `--mount` value, which docker reads as a CSV record: a
// field with a comma, a quote or a line break is quoted (quotes doubled), so
// a path such as "/srv/a,src=/etc" stays one path instead of adding fields.
std::string csv_field(std::string_view f) {
  if (f.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(f);
  std::string out = "\"";
  for (char c : f) {
    if (c == '"') out += '"';
    out += c;
  }
  return out += '"';
}

std::string bind_mount(std::string_view source, std::string_view dest, bool readonly) {
  std::string m = "type=bind," + csv_field(fmt::format("src={}", source)) + "," +
                  csv_field(fmt::format("dst={}", dest));
  if (readonly) m += ",readonly";
  return m;
}

// Variables the docker CLI itself reads: a server variable of the same name
// cannot travel in the CLI's environment.
bool cli_variable(const std::string& k) {
  return k == "PATH" || k == "HOME" || k.starts_with("DOCKER_");
}

std::map<std::string, std::string> cli_environment() {
  std::map<std::string, std::string> env;
  for (const char* k : {"PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT",
                        "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"})
    if (const char* v = std::getenv(k)) env[k] = v;
  return env;
}

// Runs the docker CLI to completion; its stdout.
std::string run_docker(const std::string& docker_bin, std::vector<std::string> args) {
  args.insert(args.begin(), docker_bin);
  auto h = spawn(ProcessSpec{std::move(args), cli_environment(), "", {}});
  if (!h.ok()) {
    spdlog::warn("{}", h.reason());
    return {};
  }
  ::close(h->stdin_fd);
  ::close(h->stderr_fd);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(h->stdout_fd, buf, sizeof buf)) > 0)
    out.append(buf, static_cast<std::size_t>(n));
  ::close(h->stdout_fd);
  wait_process(h->pid);
  return out;
}

void remove_container(const std::string& docker_bin, const std::string& name) {
  run_docker(docker_bin, {"rm", "-f", name});
}

// Whether uid/gid may write `p`, from its mode bits (the daemon, not us,
// makes the mount, so no child of ours can try it first; ACLs are not seen).
bool writable_by(const std::string& p, const Identity& id) {
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) return false;
  if (st.st_uid == id.uid) return st.st_mode & S_IWUSR;
  if (st.st_gid == id.gid) return st.st_mode & S_IWGRP;
  return st.st_mode & S_IWOTH;
}

}  // namespace

Result<LaunchPlan> DockerRuntime::plan(const LaunchRequest& req) const {
  if (req.argv.empty()) return Error{"empty command"};
  auto id = resolve_identity(opts_.identity, opts_.user, opts_.instance + "/" + req.name, true,
                             host_.identity);
  if (!id.ok()) return id.error();
  std::string user = fmt::format("{}:{}", id->uid, id->gid);
  auto env = server_environment(req.env, "/tmp");
  env.erase("PATH");  // the image's
  LaunchPlan plan;
  auto& a = plan.spec.argv;
  a = {opts_.docker_bin};
  plan.spec.env = cli_environment();
  auto pass_env = [&]() -> Result<Done> {
    for (const auto& [k, v] : env) {
      if (!cli_variable(k)) {
        a.insert(a.end(), {"-e", k});
        plan.spec.env[k] = v;
      } else if (req.secret_vars.count(k)) {
        return Error{fmt::format(
            "secret variable {} cannot be passed to a docker server: the docker CLI uses that "
            "name itself and the value would be on its command line; rename the variable",
            k)};
      } else {
        a.insert(a.end(), {"-e", k + "=" + v});
      }
    }
    return Done{};
  };
  if (!opts_.container.empty()) {
    // The seed's mode: exec into an existing, separately managed container.
    a.insert(a.end(), {"exec", "-i", "--user", user});
    if (auto r = pass_env(); !r.ok()) return r.error();
    a.push_back(opts_.container);
    plan.enforced.push_back(
        fmt::format("docker exec into {} as {} (the container's own isolation applies)",
                    opts_.container, user));
  } else {
    if (opts_.image.empty())
      return Error{"runtime docker needs `docker.image` or `docker.container`"};
    auto binds = plan_binds({}, opts_.read_only, {}, BindPolicy{opts_.protected_paths, {}});
    if (!binds.ok()) return binds.error();
    if (auto w = prepare_writable(opts_.read_write, id.value()); !w.ok()) return w.error();
    auto rw = plan_binds({}, {}, opts_.read_write, BindPolicy{opts_.protected_paths, {}});
    if (!rw.ok()) return rw.error();
    for (const auto& b : rw.value())
      if (!writable_by(b.source, id.value()))
        return Error{fmt::format(
            "paths.read_write {} is not writable by {} (the server's user in its container): "
            "chown it to that user or choose another with `user:`",
            b.dest, user)};
    std::string cname =
        fmt::format("bastion-{}-{}-{}-{}", opts_.instance, req.name, ::getpid(), g_container_seq++);
    a.insert(a.end(), {"run",
                       "-i",
                       "--rm",
                       "--user",
                       user,
                       "--read-only",
                       "--tmpfs",
                       "/tmp",
                       "--cap-drop",
                       "ALL",
                       "--security-opt",
                       "no-new-privileges",
                       "--label",
                       "bastion.managed=1",
                       "--label",
                       "bastion.instance=" + opts_.instance,
                       "--label",
                       "bastion.server=" + req.name,
                       "--name",
                       cname});
    // Killing the docker CLI does not stop its container: remove it by name.
    plan.cleanup = [bin = opts_.docker_bin, cname] { remove_container(bin, cname); };
    if (!opts_.network) a.insert(a.end(), {"--network", "none"});
    const auto& lim = opts_.limits;
    if (lim.memory_bytes) a.insert(a.end(), {"--memory", std::to_string(lim.memory_bytes)});
    if (lim.max_pids) a.insert(a.end(), {"--pids-limit", std::to_string(lim.max_pids)});
    if (lim.cpu_seconds) a.insert(a.end(), {"--ulimit", fmt::format("cpu={}", lim.cpu_seconds)});
    if (lim.open_files)
      a.insert(a.end(), {"--ulimit", fmt::format("nofile={0}:{0}", lim.open_files)});
    for (const auto& b : binds.value())
      a.insert(a.end(), {"--mount", bind_mount(b.source, b.dest, true)});
    for (const auto& b : rw.value())
      a.insert(a.end(), {"--mount", bind_mount(b.source, b.dest, false)});
    if (auto r = pass_env(); !r.ok()) return r.error();
    a.push_back(opts_.image);
    plan.enforced.push_back(fmt::format(
        "docker run: user {}, network {}, read-only root, caps dropped, no-new-privileges, "
        "pids-limit {}, memory {}",
        user, opts_.network ? "granted" : "none", lim.max_pids, lim.memory_bytes));
  }
  a.insert(a.end(), req.argv.begin(), req.argv.end());
  return plan;
}

std::size_t remove_stale_containers(const std::string& docker_bin, const std::string& instance) {
  std::string ids = run_docker(docker_bin, {"ps", "-a", "-q", "--filter", "label=bastion.managed=1",
                                            "--filter", "label=bastion.instance=" + instance});
  std::size_t count = 0;
  std::size_t pos = 0;
  while (pos < ids.size()) {
    auto nl = ids.find('\n', pos);
    std::string id = ids.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? ids.size() : nl + 1;
    if (id.empty()) continue;
    remove_container(docker_bin, id);
    ++count;
  }
  if (count)
    spdlog::warn("removed {} container(s) left by an earlier bastion (instance {})", count,
                 instance);
  return count;
}

}  // namespace bastion::sandbox
