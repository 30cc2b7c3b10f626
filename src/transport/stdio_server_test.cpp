#include "transport/stdio_server.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace bastion::transport {
namespace {

namespace asio = boost::asio;

void write_line(int fd, const std::string& line) {
  std::string l = line + "\n";
  ASSERT_EQ(::write(fd, l.data(), l.size()), static_cast<ssize_t>(l.size()));
}

// `bastion stdio` ends with its reader thread still blocked in read(): the
// server, the engine and the io_context are destroyed first (as App does).
// When that read returns, the thread must touch none of them. Before the fix
// it posted to the dead strand and dropped the last reference to the server,
// whose strand then ran its destructor against the freed io_context: a
// heap-use-after-free that ASan reports here (found by it_era_bridge).
TEST(StdioServer, AReaderLeftBlockedTouchesNothingOnceTheServerIsGone) {
  int in[2], out[2];
  ASSERT_EQ(::pipe(in), 0);
  ASSERT_EQ(::pipe(out), 0);
  ASSERT_EQ(::fcntl(out[0], F_SETFL, O_NONBLOCK), 0);
  {
    auto ioc = std::make_unique<asio::io_context>();
    auto engine = std::make_unique<server::Engine>(server::EngineOptions{});
    {
      StdioServer server(*ioc, *engine, StdioOptions{in[0], out[1]});
      server.start([] {});
      write_line(in[1], R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
      std::string answer;
      char buf[4096];
      for (int i = 0; i < 200 && answer.find('\n') == std::string::npos; ++i) {
        ioc->run_for(std::chrono::milliseconds(10));
        ssize_t n = ::read(out[0], buf, sizeof buf);
        if (n > 0) answer.append(buf, static_cast<std::size_t>(n));
      }
      EXPECT_NE(answer.find(R"("id":1)"), std::string::npos) << answer;
    }
    engine.reset();
    ioc.reset();
  }
  // Wake the reader: a line nobody is there to take, then the end of input.
  write_line(in[1], R"({"jsonrpc":"2.0","id":2,"method":"ping"})");
  ::close(in[1]);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::close(in[0]);
  ::close(out[0]);
  ::close(out[1]);
}

}  // namespace
}  // namespace bastion::transport
