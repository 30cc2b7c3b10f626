#include "transport/ndjson.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace bastion::transport {
namespace {

// What a reader makes of `chunks`: "L:<text>" per line, "TOO_LONG" per
// over-long line, "END:<text>" for an unterminated last line.
std::vector<std::string> frames(std::size_t limit, const std::vector<std::string>& chunks) {
  LineReader r(limit);
  std::vector<std::string> out;
  auto take = [&](const LineReader::Frame& f, const char* tag) {
    out.push_back(f.kind == LineReader::Frame::kTooLong ? std::string("TOO_LONG")
                                                        : tag + std::string(f.text));
  };
  for (const auto& c : chunks) {
    r.feed(c);
    while (auto f = r.next()) take(*f, "L:");
    EXPECT_LE(r.buffered(), limit + 1) << "held more than one line";
  }
  if (auto f = r.finish()) take(*f, "END:");
  return out;
}

using V = std::vector<std::string>;

struct ReaderCase {
  const char* name;
  std::size_t limit;
  V chunks;
  V expected;
};
class LineReaderTest : public ::testing::TestWithParam<ReaderCase> {};

TEST_P(LineReaderTest, Frames) {
  const auto& c = GetParam();
  EXPECT_EQ(frames(c.limit, c.chunks), c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Ndjson, LineReaderTest,
    ::testing::Values(
        ReaderCase{"OneLine", 100, {"{\"a\":1}\n"}, {"L:{\"a\":1}"}},
        ReaderCase{"SeveralLinesInOneRead", 100, {"a\nb\nc\n"}, {"L:a", "L:b", "L:c"}},
        ReaderCase{"CrLf", 100, {"a\r\nb\r\n"}, {"L:a", "L:b"}},
        ReaderCase{"OnlyOneCrIsStripped", 100, {"a\r\r\n"}, {"L:a\r"}},
        ReaderCase{"CrInsideALineStays", 100, {"a\rb\n"}, {"L:a\rb"}},
        ReaderCase{"EmptyLines", 100, {"\n\r\n\n"}, {"L:", "L:", "L:"}},
        ReaderCase{"PartialReads",
                   100,
                   {"{\"jso", "nrpc\":", "\"2.0\"}", "\n"},
                   {"L:{\"jsonrpc\":\"2.0\"}"}},
        ReaderCase{"ByteByByte", 100, {"a", "b", "\r", "\n", "c", "\n"}, {"L:ab", "L:c"}},
        ReaderCase{"CrLfSplitAcrossReads", 100, {"ab\r", "\ncd\n"}, {"L:ab", "L:cd"}},
        ReaderCase{"UnterminatedLastLine", 100, {"a\nlast"}, {"L:a", "END:last"}},
        ReaderCase{"UnterminatedLastLineWithCr", 100, {"last\r"}, {"END:last"}},
        ReaderCase{"ExactlyAtTheLimit", 5, {"12345\n"}, {"L:12345"}},
        ReaderCase{"AtTheLimitWithCrLf", 5, {"12345\r\n"}, {"L:12345"}},
        ReaderCase{"AtTheLimitCrLfSplit", 5, {"12345\r", "\n"}, {"L:12345"}},
        ReaderCase{"OneOverTheLimit", 5, {"123456\n"}, {"TOO_LONG"}},
        ReaderCase{"OverLongThenGood", 5, {"1234567890\nok\n"}, {"TOO_LONG", "L:ok"}},
        ReaderCase{"GoodThenOverLongThenGood",
                   5,
                   {"ok\n12345678", "90abc", "def\nfine\n"},
                   {"L:ok", "TOO_LONG", "L:fine"}},
        ReaderCase{"OverLongReportedOnceAcrossManyReads",
                   4,
                   {"xxxxxx", "xxxxxx", "xxxxxx", "xx\ny\n"},
                   {"TOO_LONG", "L:y"}},
        ReaderCase{"OverLongUnterminatedAtEof", 4, {"xxxxxxxxxx"}, {"TOO_LONG"}},
        ReaderCase{"OverLongLastLineAtEof", 4, {"ok\nxxxxx"}, {"L:ok", "TOO_LONG"}},
        ReaderCase{"NewlineRightAfterDroppedPart", 3, {"xxxxx", "\n", "z\n"}, {"TOO_LONG", "L:z"}}),
    [](const ::testing::TestParamInfo<ReaderCase>& info) { return info.param.name; });

TEST(Ndjson, AFloodWithoutNewlinesHoldsAtMostTheLimit) {
  LineReader r(1024);
  std::string chunk(65536, 'x');
  int reports = 0;
  for (int i = 0; i < 200; ++i) {  // 13 MB without a newline
    r.feed(chunk);
    while (auto f = r.next()) reports += f->kind == LineReader::Frame::kTooLong;
    EXPECT_LE(r.buffered(), 1025u);
  }
  EXPECT_EQ(reports, 1);
  r.feed("\n{\"ok\":true}\n");
  auto f = r.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, LineReader::Frame::kLine);
  EXPECT_EQ(f->text, "{\"ok\":true}");
}

TEST(Ndjson, LongLinesInSmallReadsAreScannedOnce) {
  // A 4 MB line arriving 1 byte... 4 KB at a time: each byte is looked at a
  // bounded number of times (the reader remembers how far it scanned).
  LineReader r(8 * 1024 * 1024);
  std::string piece(4096, 'y');
  for (int i = 0; i < 1024; ++i) {
    r.feed(piece);
    EXPECT_FALSE(r.next());
  }
  r.feed("\n");
  auto f = r.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->text.size(), 4u * 1024 * 1024);
}

TEST(Ndjson, WriterEmitsOneLinePerMessage) {
  boost::json::object msg{{"text", "two\nlines\r\n"}, {"n", 1}};
  std::string line = to_line(msg);
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // the newline inside is escaped
  LineReader r(1024);
  r.feed(line + line);
  for (int i = 0; i < 2; ++i) {
    auto f = r.next();
    ASSERT_TRUE(f);
    EXPECT_EQ(boost::json::parse(f->text), boost::json::value(msg));
  }
}

TEST(Ndjson, ReadLinesOverAPipe) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::thread writer([w = fds[1]] {
    std::string big(3000, 'z');
    write_all(w, "first\r\nsec");
    write_all(w, "ond\n" + big + "\nthird");
    ::close(w);
  });
  LineReader r(1000);
  std::vector<std::string> got;
  read_lines(fds[0], r, [&](const LineReader::Frame& f) {
    got.push_back(f.kind == LineReader::Frame::kTooLong ? "TOO_LONG" : std::string(f.text));
    return true;
  });
  writer.join();
  ::close(fds[0]);
  EXPECT_EQ(got, (V{"first", "second", "TOO_LONG", "third"}));
}

TEST(Ndjson, ReadLinesStopsWhenAsked) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  write_all(fds[1], "a\nb\nc\n");
  ::close(fds[1]);
  LineReader r(100);
  int seen = 0;
  read_lines(fds[0], r, [&](const LineReader::Frame&) { return ++seen < 2; });
  ::close(fds[0]);
  EXPECT_EQ(seen, 2);
}

TEST(Ndjson, WriteAllFailsOnceTheReaderIsGone) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[0]);
  auto old = ::signal(SIGPIPE, SIG_IGN);
  EXPECT_FALSE(write_all(fds[1], "lost\n"));
  ::signal(SIGPIPE, old);
  ::close(fds[1]);
}

}  // namespace
}  // namespace bastion::transport
