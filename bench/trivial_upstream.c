/* The trivial C stdio upstream of bench/gateway_peers (issue 15: "a trivial
 * C or Bastion upstream, both reported"): the cheapest MCP server a gateway
 * can sit in front of, so the gateway's own cost is what the bench shows.
 *
 * Newline-delimited JSON-RPC 2.0 on stdin/stdout. Answers initialize, ping,
 * tools/list (one tool, `echo`) and tools/call of `echo`, whose result is
 * {"content":[{"type":"text","text":TEXT}]} with TEXT the `text` argument
 * copied as it came (still escaped, so still a valid JSON string), as
 * `bastion stdio --testkit` answers it. Any other request gets -32601;
 * notifications and responses are ignored. Input arrives in arbitrary
 * pieces: lines are cut from a growing buffer, and every answer to the
 * lines of one read(2) goes out in one write(2).
 *
 *   gcc -O2 -o trivial_upstream bench/trivial_upstream.c
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LINE (16u << 20) /* a longer line is dropped, not answered */

static char *out;
static size_t out_len, out_cap;

static void put(const char *s, size_t n) {
  if (out_len + n > out_cap) {
    size_t cap = out_cap ? out_cap : 65536;
    while (cap < out_len + n) cap *= 2;
    char *p = realloc(out, cap);
    if (!p) exit(1);
    out = p;
    out_cap = cap;
  }
  memcpy(out + out_len, s, n);
  out_len += n;
}
static void puts_(const char *s) { put(s, strlen(s)); }

static void flush_out(void) {
  size_t off = 0;
  while (off < out_len) {
    ssize_t n = write(1, out + off, out_len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) exit(0); /* the gateway went away */
    off += (size_t)n;
  }
  out_len = 0;
}

/* A JSON value's extent, without building it: [p, end) holds the text. */
static const char *ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) ++p;
  return p;
}
static const char *skip_string(const char *p, const char *end) { /* p at '"' */
  for (++p; p < end; ++p) {
    if (*p == '\\') {
      if (++p == end) return NULL;
    } else if (*p == '"') {
      return p + 1;
    }
  }
  return NULL;
}
static const char *skip_value(const char *p, const char *end) {
  p = ws(p, end);
  if (p == end) return NULL;
  if (*p == '"') return skip_string(p, end);
  if (*p == '{' || *p == '[') {
    int depth = 0;
    while (p < end) {
      if (*p == '"') {
        if (!(p = skip_string(p, end))) return NULL;
        continue;
      }
      if (*p == '{' || *p == '[') ++depth;
      if (*p == '}' || *p == ']') {
        if (--depth == 0) return p + 1;
      }
      ++p;
    }
    return NULL;
  }
  const char *s = p; /* number, true, false, null */
  while (p < end && !strchr(",}] \t\r\n", *p)) ++p;
  return p == s ? NULL : p;
}

/* The value of member `key` of the object at p, or NULL. */
static const char *member(const char *p, const char *end, const char *key, const char **vend) {
  size_t klen = strlen(key);
  p = ws(p, end);
  if (p == end || *p != '{') return NULL;
  p = ws(p + 1, end);
  while (p < end && *p == '"') {
    const char *k = p + 1, *kend = skip_string(p, end);
    if (!kend) return NULL;
    p = ws(kend, end);
    if (p == end || *p != ':') return NULL;
    const char *v = ws(p + 1, end), *ve = skip_value(v, end);
    if (!ve) return NULL;
    if ((size_t)(kend - 1 - k) == klen && memcmp(k, key, klen) == 0) {
      *vend = ve;
      return v;
    }
    p = ws(ve, end);
    if (p < end && *p == ',') p = ws(p + 1, end);
  }
  return NULL;
}

static int is_string(const char *v, const char *ve, const char *s) {
  size_t n = strlen(s);
  return v && ve - v == (long)n + 2 && *v == '"' && memcmp(v + 1, s, n) == 0;
}

static void reply_head(const char *id, const char *idend) {
  puts_("{\"jsonrpc\":\"2.0\",\"id\":");
  put(id, (size_t)(idend - id));
}
static void reply_error(const char *id, const char *idend, int code, const char *message) {
  char buf[160];
  reply_head(id, idend);
  snprintf(buf, sizeof buf, ",\"error\":{\"code\":%d,\"message\":\"%s\"}}\n", code, message);
  puts_(buf);
}

static void handle(const char *p, const char *end) {
  const char *id, *idend, *m, *mend, *params, *pend, *e;
  if (!(id = member(p, end, "id", &idend)) || !(m = member(p, end, "method", &mend)))
    return; /* a notification, a response or not JSON-RPC: nothing to answer */
  if (*id != '"' && *id != '-' && (*id < '0' || *id > '9')) return;
  params = member(p, end, "params", &pend);
  if (is_string(m, mend, "initialize")) {
    /* Answer the version asked for if it is one this server knows. */
    static const char *const known[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};
    const char *version = "2025-06-18", *v = params ? member(params, pend, "protocolVersion", &e) : NULL;
    for (size_t i = 0; v && i < sizeof known / sizeof *known; ++i)
      if (is_string(v, e, known[i])) version = known[i];
    reply_head(id, idend);
    puts_(",\"result\":{\"protocolVersion\":\"");
    puts_(version);
    puts_("\",\"capabilities\":{\"tools\":{}},"
          "\"serverInfo\":{\"name\":\"trivial-upstream\",\"version\":\"1\"}}}\n");
  } else if (is_string(m, mend, "ping")) {
    reply_head(id, idend);
    puts_(",\"result\":{}}\n");
  } else if (is_string(m, mend, "tools/list")) {
    reply_head(id, idend);
    puts_(",\"result\":{\"tools\":[{\"name\":\"echo\",\"description\":\"Returns its `text` "
          "argument\",\"inputSchema\":{\"type\":\"object\",\"properties\":{\"text\":"
          "{\"type\":\"string\"}}}}]}}\n");
  } else if (is_string(m, mend, "tools/call")) {
    const char *name = params ? member(params, pend, "name", &e) : NULL;
    if (!is_string(name, e, "echo")) {
      reply_error(id, idend, -32602, "Unknown tool");
      return;
    }
    const char *args = member(params, pend, "arguments", &e), *text = NULL, *tend = NULL;
    if (args) text = member(args, e, "text", &tend);
    reply_head(id, idend);
    puts_(",\"result\":{\"content\":[{\"type\":\"text\",\"text\":");
    if (text && *text == '"')
      put(text, (size_t)(tend - text));
    else
      puts_("\"\"");
    puts_("}]}}\n");
  } else {
    reply_error(id, idend, -32601, "Method not found");
  }
}

int main(void) {
  size_t cap = 65536, len = 0, skip = 0; /* skip: inside an overlong line */
  char *in = malloc(cap);
  if (!in) return 1;
  for (;;) {
    if (len == cap) {
      if (cap >= MAX_LINE) { /* drop what we hold, up to the next newline */
        len = 0;
        skip = 1;
      } else {
        char *p = realloc(in, cap *= 2);
        if (!p) return 1;
        in = p;
      }
    }
    ssize_t n = read(0, in + len, cap - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
    char *start = in, *stop = in + len, *nl;
    while ((nl = memchr(start, '\n', (size_t)(stop - start)))) {
      if (!skip) handle(start, nl);
      skip = 0;
      start = nl + 1;
    }
    len = (size_t)(stop - start);
    memmove(in, start, len);
    flush_out();
  }
  flush_out();
  return 0;
}
