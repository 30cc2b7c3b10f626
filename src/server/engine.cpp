// The MCP session engine: the session table, the dispatch of every request
// (lifecycle, lists merged and paginated, one Route per call, the filter
// chain), the 2026-07-28 rounds (server/discover, subscriptions/listen,
// multi round-trip requests and their Legacy fulfilment) and the fan-out of
// notifications to sessions.
// Over 500 lines for a reason: these are one dispatcher over one set of
// backends and one session table; what is per session or per request
// already lives beside it (session, context, subscriptions, backlog). It is
// being extended for the 2026-07-28 protocol right now; split the Modern
// rounds and the list merge into files of their own once that has landed.
#include "server/engine.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/algorithm/hex.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <utility>

#include "protocol/printable.hpp"
#include "server/mailbox.hpp"
#include "server/session.hpp"

namespace bastion::server {

namespace asio = boost::asio;
namespace json = boost::json;
using protocol::Outcome;
using protocol::RpcError;

namespace {

std::string random_session_id() {
  unsigned char buf[16];
  RAND_bytes(buf, sizeof buf);
  std::string out;
  boost::algorithm::hex_lower(buf, buf + sizeof buf, std::back_inserter(out));
  return out;
}

// A Modern request's session id needs only to be unique while it lives: it
// is in no table a client can reach (find_session() never sees it), and
// what keys by it (per-session upstream instances, the audit log) needs it
// distinct from every other session's. A counter, then, not 128 random bits:
// RAND_bytes (a DRBG generate with a cipher setup and a getpid per call) was
// ~4% of a Modern request's CPU. The process's random prefix keeps the ids of
// different runs apart in the audit log.
std::string ephemeral_session_id() {
  static const std::string prefix = "stateless-" + random_session_id().substr(0, 12) + "-";
  static std::atomic<std::uint64_t> next{0};
  return prefix + std::to_string(next.fetch_add(1, std::memory_order_relaxed));
}

std::string_view item_name(Kind k, const json::object& item) {
  const char* field = (k == Kind::kResource)           ? "uri"
                      : (k == Kind::kResourceTemplate) ? "uriTemplate"
                                                       : "name";
  if (auto* v = item.if_contains(field); v && v->is_string()) return v->get_string();
  return {};
}

const json::string* string_param(const json::object& params, std::string_view key) {
  auto* v = params.if_contains(key);
  return v ? v->if_string() : nullptr;
}

// Deep-merges capability objects: {"tools":{"listChanged":true}} etc.
void merge_into(json::object& dst, const json::object& src) {
  for (const auto& [k, v] : src) {
    auto* existing = dst.if_contains(k);
    if (existing && existing->is_object() && v.is_object())
      merge_into(existing->get_object(), v.get_object());
    else if (!existing || (v.is_bool() && v.get_bool()))
      dst[k] = v;
  }
}

// The answers of one round of input requests, asked of a Legacy client.
struct Round {
  std::vector<std::optional<Outcome>> answers;  // one per question, as they come
};

json::object answered(std::size_t i) {
  json::object m;
  m["i"] = i;
  return m;
}

// One question of a round; its answer lands in round->answers[i] and its
// index in `done` (distinct slots: the mailbox orders the writes before
// the reads).
asio::awaitable<void> ask_one(std::shared_ptr<RequestContext> ctx, std::size_t i,
                              std::string method, json::object params, std::shared_ptr<Round> round,
                              std::shared_ptr<Mailbox> done) {
  Outcome a = co_await ctx->client_request(method, std::move(params));
  round->answers[i] = std::move(a);
  done->push(answered(i));
}

}  // namespace

std::string encode_cursor(std::size_t offset) { return fmt::format("o{}", offset); }

std::optional<std::size_t> decode_cursor(std::string_view cursor) {
  if (cursor.size() < 2 || cursor.size() > 20 || cursor[0] != 'o') return std::nullopt;
  std::size_t v = 0;
  for (char c : cursor.substr(1)) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::size_t>(c - '0');
  }
  return v;
}

Engine::Engine(EngineOptions opts)
    : opts_(std::move(opts)),
      sealer_(protocol::StateSealer::random()),
      subscriptions_(opts_.subscriptions) {}

Engine::~Engine() { close_all(); }

void Engine::add_backend(std::shared_ptr<Backend> b) {
  b->set_listener(this);
  // Local backends first: a name both serve is Bastion's own, so no
  // upstream can capture calls meant for a built-in tool.
  auto pos = backends_.end();
  if (b->local())
    pos = std::find_if(backends_.begin(), backends_.end(),
                       [](const std::shared_ptr<Backend>& x) { return !x->local(); });
  backends_.insert(pos, std::move(b));
}

namespace {

// Who a session counts against in sessions_per_caller_: nothing for a
// caller without a token (empty key); each part length-prefixed, so no
// subject can pass for another caller's key.
std::string caller_key(const protocol::Principal& p) {
  if (!p.authenticated) return {};
  return fmt::format("{}:{}{}:{}{}:{}", p.issuer.size(), p.issuer, p.client_id.size(), p.client_id,
                     p.subject.size(), p.subject);
}

}  // namespace

protocol::Expected<std::shared_ptr<Session>, Engine::SessionRefused> Engine::open_session(
    protocol::Principal principal) {
  const std::string key = caller_key(principal);
  std::unique_lock lk(mu_);
  if (sessions_.size() >= opts_.max_sessions)
    return SessionRefused{SessionLimit::kTotal, "Too many sessions"};
  std::size_t* mine = key.empty() ? nullptr : &sessions_per_caller_[key];
  if (mine && *mine >= opts_.max_sessions_per_caller)
    return SessionRefused{
        SessionLimit::kPerCaller,
        fmt::format("Too many sessions: this caller has {} open (mcp.max_sessions_per_caller); "
                    "end one with DELETE before opening another",
                    *mine)};
  auto id = random_session_id();
  // With two replicas about half the ids fit; 1000 draws fail with odds 2^-1000.
  for (int i = 0; opts_.accept_session_id && !opts_.accept_session_id(id) && i < 1000; ++i)
    id = random_session_id();
  auto s = std::make_shared<Session>(*this, id, std::move(principal));
  sessions_.emplace(std::move(id), s);
  if (mine) ++*mine;
  return s;
}

std::shared_ptr<Session> Engine::create_session(protocol::Principal principal) {
  auto s = open_session(std::move(principal));
  return s ? std::move(s.value()) : nullptr;
}

std::shared_ptr<Session> Engine::create_ephemeral_session(protocol::Principal principal) {
  // Not in sessions_: find_session() cannot reach it (a client naming its
  // id gets nothing) and audience() never picks it.
  return std::make_shared<Session>(*this, ephemeral_session_id(), std::move(principal));
}

void Engine::end_ephemeral_session(const std::shared_ptr<Session>& s) {
  s->close();
  for (auto& b : backends_) b->on_session_closed(s->id());
}

std::shared_ptr<Session> Engine::find_session(std::string_view id) {
  std::shared_lock lk(mu_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

bool Engine::close_session(std::string_view id) {
  std::shared_ptr<Session> s;
  {
    std::unique_lock lk(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return false;
    s = std::move(it->second);
    sessions_.erase(it);
    if (auto key = caller_key(s->owner()); !key.empty()) {
      auto n = sessions_per_caller_.find(key);
      if (n != sessions_per_caller_.end() && --n->second == 0) sessions_per_caller_.erase(n);
    }
  }
  s->close();
  for (auto& b : backends_) b->on_session_closed(s->id());
  std::vector<SessionClosed> listeners;
  {
    std::shared_lock lk(mu_);
    for (auto& [n, f] : closed_listeners_) listeners.push_back(f);
  }
  for (auto& f : listeners) f(s->id());
  return true;
}

std::uint64_t Engine::on_session_closed(SessionClosed f) {
  std::unique_lock lk(mu_);
  closed_listeners_.emplace(next_listener_, std::move(f));
  return next_listener_++;
}

void Engine::remove_session_listener(std::uint64_t id) {
  std::unique_lock lk(mu_);
  closed_listeners_.erase(id);
}

std::size_t Engine::session_count() const {
  std::shared_lock lk(mu_);
  return sessions_.size();
}

std::size_t Engine::backlog_bytes() const {
  std::size_t n = 0;
  for (auto& s : snapshot_sessions()) n += s->backlog_bytes();
  return n;
}

std::size_t Engine::expire_idle(std::chrono::steady_clock::time_point now) {
  std::vector<std::string> idle;
  {
    std::shared_lock lk(mu_);
    for (auto& [id, s] : sessions_)
      if (now - s->last_activity() > opts_.session_idle_timeout) idle.push_back(id);
  }
  for (auto& id : idle) close_session(id);
  return idle.size();
}

void Engine::close_all() {
  subscriptions_.end_all();
  std::vector<std::string> ids;
  {
    std::shared_lock lk(mu_);
    for (auto& [id, s] : sessions_) ids.push_back(id);
  }
  for (auto& id : ids) close_session(id);
}

Engine::Rechecked Engine::recheck_callers(const Readmit& admit) {
  Rechecked r;
  for (auto& s : snapshot_sessions()) {
    auto was = s->caller();
    auto now = admit(*was);
    if (!now) {
      r.closed += close_session(s->id()) ? 1 : 0;
    } else if (now->scopes != was->scopes) {
      s->admit_caller(*now);
      ++r.narrowed;
    }
  }
  r.listens_ended = subscriptions_.end_where([&](const protocol::Principal& p) {
    auto now = admit(p);
    return !now || now->scopes != p.scopes;
  });
  return r;
}

std::vector<std::shared_ptr<Session>> Engine::snapshot_sessions() const {
  std::shared_lock lk(mu_);
  std::vector<std::shared_ptr<Session>> out;
  out.reserve(sessions_.size());
  for (auto& [id, s] : sessions_) out.push_back(s);
  return out;
}

json::object Engine::capabilities() const {
  json::object caps;
  caps["logging"] = json::object{};
  for (const auto& b : backends_) merge_into(caps, b->capabilities());
  return caps;
}

json::object Engine::discover() const {
  json::array versions;
  for (auto v : protocol::kAllVersions) versions.emplace_back(v);
  json::object caps = capabilities();
  // The tasks extension is a Modern one (SEP-2663: not defined for
  // 2025-11-25), so only server/discover names it. The engine routes tasks/*
  // to whichever backend created the task; a server that never creates one
  // is still compliant.
  json::value& ext = caps["extensions"];
  if (!ext.is_object()) ext = json::object{};
  ext.get_object()[kTasksExtension] = json::object{};
  json::object r{{"supportedVersions", std::move(versions)}, {"capabilities", std::move(caps)}};
  if (!opts_.instructions.empty()) r["instructions"] = opts_.instructions;
  return r;
}

bool Engine::visible(const protocol::Principal& p, std::string_view server, Kind k,
                     std::string_view name) const {
  return !authorizer_ || authorizer_(p, server, k, name);
}

std::optional<Route> Engine::resolve(Kind kind, std::string_view key) const {
  for (const auto& b : backends_)
    if (auto r = b->resolve(kind, key)) {
      r->backend = b.get();
      return r;
    }
  return std::nullopt;
}

void Engine::report_shadowed(Kind kind, std::string_view key, const Listed& first,
                             const Listed& dropped) const {
  {
    std::lock_guard lk(reported_mu_);
    if (reported_.size() > 10000) return;  // bounded: a hostile list cannot grow it forever
    if (!reported_.insert(fmt::format("{}|{}|{}", static_cast<int>(kind), key, dropped.server))
             .second)
      return;
  }
  spdlog::warn("'{}' of {} is also served by {}: only {}'s is listed and called",
               protocol::printable(key), dropped.server, first.server, first.server);
}

asio::awaitable<Outcome> Engine::list(Kind kind, RequestContext& ctx, json::object params) {
  std::size_t offset = 0;
  if (auto* c = params.if_contains("cursor"); c && !c->is_null()) {
    auto off = c->is_string() ? decode_cursor(c->get_string()) : std::nullopt;
    if (!off) co_return protocol::invalid_params("Invalid cursor");
    offset = *off;
  }
  // The merged catalogue is rebuilt per call: backends cache their own lists,
  // and a page must reflect list_changed immediately. A key two backends
  // serve is listed once, as the backend resolve() picks (the local one).
  std::vector<json::object> all;
  std::map<std::string, Listed, std::less<>> seen;
  for (const auto& b : backends_) {
    auto items = co_await b->list(kind, ctx);
    for (auto& l : items) {
      std::string key(item_name(kind, l.item));
      auto it = seen.find(key);
      if (it != seen.end()) {
        if (it->second.server != l.server) report_shadowed(kind, key, it->second, l);
        continue;
      }
      if (!visible(ctx.caller(), l.server, kind, l.name)) continue;
      all.push_back(l.item);
      seen.emplace(std::move(key), Listed{{}, std::move(l.server), std::move(l.name)});
    }
  }
  // Tools in a deterministic order (by name): clients and LLM prompt caches
  // see the same list whatever order upstreams answered in (spec
  // 2026-07-28 changelog, minor 3).
  if (kind == Kind::kTool)
    std::stable_sort(all.begin(), all.end(), [kind](const json::object& a, const json::object& b) {
      return item_name(kind, a) < item_name(kind, b);
    });
  if (offset > all.size()) co_return protocol::invalid_params("Invalid cursor");
  std::size_t end = std::min(all.size(), offset + opts_.page_size);
  json::array page;
  page.reserve(end - offset);
  for (std::size_t i = offset; i < end; ++i) page.push_back(std::move(all[i]));
  json::object result;
  result[list_key(kind)] = std::move(page);
  if (end < all.size()) result["nextCursor"] = encode_cursor(end);
  co_return result;
}

namespace {
Outcome unknown(Kind kind, std::string_view key) {
  if (kind == Kind::kTool) return protocol::invalid_params("Unknown tool: " + std::string(key));
  if (kind == Kind::kPrompt) return protocol::invalid_params("Unknown prompt: " + std::string(key));
  return RpcError{protocol::kResourceNotFound, "Resource not found", json::object{{"uri", key}}};
}

bool filtered_method(std::string_view method) {
  return method == "tools/call" || method == "resources/read" || method == "prompts/get";
}

// The response filters over `out`'s result: their error, or the result. The
// upstream's text of the result survives the filters only when each of them
// affirms it left the result as it was.
Outcome filter_response(const FilterChain& filters, Outcome out, CallContext& cc) {
  std::string raw = out.take_raw_result();
  Verdict back = filters.run_response(out.result(), cc);
  if (!back.ok()) return std::move(*back.error);
  if (back.result_unchanged) out.set_raw_result(std::move(raw));
  return out;
}

// What a filter deferred (the audit record) is done before the call is
// answered: the coroutine is suspended meanwhile, its I/O thread serves
// other calls. An error replaces the answer; the filters hear of it as of
// any error.
asio::awaitable<std::optional<RpcError>> finish_deferred(const FilterChain& filters,
                                                         CallContext& cc) {
  if (!cc.deferred) co_return std::nullopt;
  std::optional<RpcError> e = co_await cc.deferred->run(cc);
  if (e) filters.run_error(*e, cc);
  co_return e;
}

// unknown(), and the filters hear of it: probing for tools, resources and
// prompts that do not exist (or that the caller's scopes hide) leaves an
// audit record. `why`: "unknown" or "denied".
asio::awaitable<Outcome> unresolved(const FilterChain& filters, Kind kind, std::string_view key,
                                    const std::string& method, RequestContext& ctx,
                                    std::string_view why) {
  Outcome out = unknown(kind, key);
  if (filters.empty() || !filtered_method(method)) co_return out;
  const std::string rid = json::serialize(ctx.request_id());
  CallContext cc{ctx.caller(), ctx.session_id(), rid, method, "", key};
  cc.notes.unresolved = why;
  cc.can_defer = true;
  filters.run_error(out.error(), cc);
  co_await finish_deferred(filters, cc);
  co_return out;
}
}  // namespace

// The Mcp-Param-* headers of a Modern tools/call over Streamable HTTP must
// agree with its arguments before anything runs or is relayed (spec
// streamable-http §Server Behavior for Custom Headers), or a proxy that
// routed on a header would have acted on a value the tool never saw. The
// refusal, or nullopt.
std::optional<RpcError> Engine::header_mismatch(const Route& r, const std::string& method,
                                                const json::object& params,
                                                const RequestContext& ctx) const {
  if (method != "tools/call" || !ctx.param_headers()) return std::nullopt;
  std::optional<std::string> why = protocol::check_param_headers(
      r.backend->param_headers(r), *ctx.param_headers(), params.if_contains("arguments"));
  if (!why) return std::nullopt;
  return protocol::header_mismatch(std::move(*why));
}

namespace {

asio::awaitable<Outcome> answered(Outcome out) { co_return out; }

}  // namespace

// A call is route() (resolve, and the rare prepare_route() for a route that
// is unknown, hidden, refused or not settled), then call(): the backend's
// call, through filtered_call() when filters apply. Split so that each
// coroutine frame stays under the 1,020 bytes Asio recycles: GCC keeps every
// local and every co_await's result of a coroutine in its frame, and a
// larger frame is a malloc and free per call.
asio::awaitable<Outcome> Engine::route(Kind kind, std::string key, const std::string& method,
                                       json::object params, RequestContext& ctx) {
  // Resolved once; the same record goes to the scope check, the filters and
  // the backend. No structured bindings or if-initialisers across co_await
  // here: GCC 12 mis-places them in the coroutine frame.
  std::optional<Route> r = resolve(kind, key);
  const bool seen = r && visible(ctx.caller(), r->server, kind, r->name);
  if (!seen || r->refusal || !r->settled) {
    std::optional<Outcome> stop = co_await prepare_route(kind, key, method, r, seen, ctx);
    if (stop) co_return std::move(*stop);
  }
  // A Legacy call that may be answered input_required is called again with
  // its params as sent (the filters run on them again): kept only when the
  // backend says this route may ask, so the echo's call copies nothing.
  if (ctx.wants_pre_filter_params() && r->backend->may_ask_input(*r, ctx))
    ctx.keep_pre_filter_params(params);
  co_return co_await call(*r, method, std::move(params), ctx);
}

asio::awaitable<std::optional<Outcome>> Engine::prepare_route(Kind kind, const std::string& key,
                                                              const std::string& method,
                                                              std::optional<Route>& r, bool seen,
                                                              RequestContext& ctx) {
  if (!seen) {
    // Unsubscribing from something unknown is harmless.
    if (method == "resources/unsubscribe") co_return json::object{};
    co_return co_await unresolved(filters_, kind, key, method, ctx, r ? "denied" : "unknown");
  }
  if (r->refusal) co_return std::move(*r->refusal);
  // The owner is known (and the caller may use it); starting it, or
  // picking the session's instance, is left until now.
  Backend* backend = r->backend;
  const std::string before = r->name;
  Settled s = co_await backend->settle(std::move(*r), ctx);
  if (!s.ok()) co_return s.error();
  r = std::move(s.value());
  r->backend = backend;
  if (r->name != before && !visible(ctx.caller(), r->server, kind, r->name))
    co_return co_await unresolved(filters_, kind, key, method, ctx, "denied");
  co_return std::nullopt;
}

// Not a coroutine: it hands back the awaitable of the one that does the
// call, so that route() has a single co_await (and result) for all three.
asio::awaitable<Outcome> Engine::call(const Route& r, const std::string& method,
                                      json::object params, RequestContext& ctx) {
  if (!filters_.empty() && filtered_method(method))
    return filtered_call(r, method, std::move(params), ctx);
  std::optional<RpcError> mismatch = header_mismatch(r, method, params, ctx);
  if (mismatch) return answered(std::move(*mismatch));
  return r.backend->call(r, method, std::move(params), ctx);
}

// The filters' verdict before the call: the headers' mismatch or a request
// filter's error (the backend is not called), or an empty result to go on.
Outcome Engine::admit_call(const Route& r, const std::string& method, json::object& params,
                           const RequestContext& ctx, CallContext& cc) const {
  std::optional<RpcError> mismatch = header_mismatch(r, method, params, ctx);
  if (mismatch) return std::move(*mismatch);
  Verdict in = filters_.run_request(params, cc);
  if (!in.ok()) return std::move(*in.error);
  return json::object{};
}

namespace {

// Each of a client's answers to input requests (inputResponses: key ->
// result object) through the filters on its way to `server`, as a Legacy
// client's answer to a server-to-client request goes (run_client_answer).
// The first refusal, or nothing.
std::optional<RpcError> filter_answers(const FilterChain& filters, json::object& answers,
                                       std::string_view session_id, std::string_view prefix,
                                       std::string_view server, std::string_view target) {
  for (auto& kv : answers) {
    // The shape run_client_answer takes: the JSON-RPC response's result.
    json::object answer{{"result", std::move(kv.value())}};
    const std::string what =
        fmt::format("{}inputResponses[\"{}\"]", prefix, protocol::printable(kv.key(), 64));
    const MessageContext mc{session_id, what, server, target};
    Verdict v = filters.run_client_answer(answer, mc);
    if (!v.ok()) return std::move(*v.error);
    if (auto* res = answer.if_contains("result")) kv.value() = std::move(*res);
  }
  return std::nullopt;
}

}  // namespace

Outcome Engine::admit_answers(const Route& r, RequestContext& ctx) const {
  json::object* answers = ctx.input_responses_to_filter();
  if (!answers) return json::object{};
  if (auto refused = filter_answers(filters_, *answers, ctx.session_id(), "", r.server, r.name))
    return std::move(*refused);
  return json::object{};
}

asio::awaitable<Outcome> Engine::filtered_call(const Route& r, const std::string& method,
                                               json::object params, RequestContext& ctx) {
  const std::string rid = json::serialize(ctx.request_id());
  ctx.set_call_target(r.server, r.name);
  CallContext cc{ctx.caller(), ctx.session_id(), rid, method, r.server, r.name, &r};
  cc.can_defer = true;  // answered below only after finish_deferred()
  // A refused call is audited like any other (on_error).
  Outcome out = admit_call(r, method, params, ctx, cc);
  if (out.ok()) out = admit_answers(r, ctx);
  if (out.ok()) out = co_await r.backend->call(r, method, std::move(params), ctx);
  if (out.ok()) out = filter_response(filters_, std::move(out), cc);
  if (!out.ok()) filters_.run_error(out.error(), cc);
  // What the filters deferred (the audit record) is done before the answer;
  // its error replaces a result (an error stays as it was).
  std::optional<RpcError> withheld = co_await finish_deferred(filters_, cc);
  if (withheld && out.ok()) co_return std::move(*withheld);
  co_return out;
}

namespace {

// A CreateTaskResult only answers a tools/call of a client that declared the
// tasks extension on that very request (SEP-2663: "MUST NOT return
// CreateTaskResult to a client that did not include the extension
// capability"), and must carry a task id. Whatever a backend (an upstream
// behind the gateway) says, anything else never reaches the client.
void check_task_result(const RequestContext& ctx, const std::string& method, Outcome& out) {
  if (!out.ok() || protocol::result_type(std::as_const(out).result()) != "task") return;
  const bool asked = ctx.modern() && method == "tools/call" && declares_tasks(ctx.client_capabilities());
  auto* id = std::as_const(out).result().if_contains("taskId");
  if (!asked) {
    spdlog::info("a task was returned for {} to a client that did not ask for tasks: refused",
                 method);
    out = protocol::internal_error("The server answered " + method +
                                   " with a task, which this client did not ask for");
  } else if (!id || !id->is_string() || id->get_string().empty()) {
    out = protocol::internal_error("The server answered " + method + " with a task without id");
  }
}

}  // namespace

asio::awaitable<Outcome> Engine::dispatch(Session& s, RequestContext& ctx,
                                          const std::string& method, json::object params) {
  if (ctx.modern()) co_return co_await dispatch_modern(s, ctx, method, std::move(params));
  // A Legacy client has no multi round-trip requests: a requestState or
  // inputResponses of its own would reach a Modern server unsealed and
  // unbound (only the engine and the era bridge set them).
  params.erase("requestState");
  params.erase("inputResponses");
  if (!protocol::allows_input_required(method)) {
    Outcome out = co_await dispatch_common(s, ctx, method, std::move(params));
    check_task_result(ctx, method, out);
    co_return out;
  }
  // route() keeps the params as sent once it knows the backend may ask.
  ctx.want_pre_filter_params();
  Outcome out = co_await dispatch_common(s, ctx, method, std::move(params));
  if (out.ok() && protocol::result_type(std::as_const(out).result()) == "input_required")
    out = co_await fulfil_for_legacy(s, ctx, method, std::move(out));
  check_task_result(ctx, method, out);
  co_return out;
}

namespace {

// What a sealed requestState is bound to: the caller, the request and its
// arguments (spec MRTR, server requirements 5).
protocol::StateBinding binding_for(const RequestContext& ctx, const std::string& method,
                                   const json::object& params) {
  protocol::StateBinding b;
  b.principal = ctx.caller().client_id + "\n" + ctx.caller().subject;
  b.method = method;
  if (auto* t = params.if_contains(protocol::mcp_name_field(method)); t && t->is_string())
    b.target = std::string(t->get_string());
  if (auto* a = params.if_contains("arguments"); a && !a->is_null())
    b.arguments = protocol::canonical_json(*a);
  return b;
}

// The input requests of an InputRequiredResult, checked against what the
// client declared: a request for an undeclared capability is never sent
// (spec MRTR server requirements 7). Empty when they are all fine.
std::optional<RpcError> check_input_requests(const json::object& result,
                                             const json::object& client_caps) {
  const json::value* reqs = result.if_contains("inputRequests");
  if (!reqs && !result.contains("requestState"))
    return protocol::internal_error("input_required result without inputRequests or requestState");
  if (!reqs) return std::nullopt;
  if (!reqs->is_object()) return protocol::internal_error("inputRequests must be an object");
  json::object missing;
  for (const auto& [key, r] : reqs->get_object()) {
    const json::string* m = r.is_object() ? r.get_object().if_contains("method")
                                                ? r.get_object().at("method").if_string()
                                                : nullptr
                                          : nullptr;
    std::string_view cap = m ? protocol::capability_for_input_request(*m) : std::string_view();
    if (cap.empty())
      return protocol::internal_error(
          "inputRequests may only hold sampling, elicitation and roots");
    if (!client_caps.contains(cap)) missing[cap] = json::object{};
  }
  if (!missing.empty()) return protocol::missing_client_capability(std::move(missing));
  return std::nullopt;
}

}  // namespace

asio::awaitable<Outcome> Engine::dispatch_modern(Session& s, RequestContext& ctx,
                                                 const std::string& method, json::object params) {
  Outcome out = RpcError{};
  if (method == "server/discover")
    out = discover();
  else if (method == "subscriptions/listen")
    out = co_await listen(ctx, params);
  else if (is_task_method(method))
    out = co_await task_request(ctx, method, std::move(params));
  else if (protocol::allows_input_required(method))
    out = co_await round_trip(s, ctx, method, std::move(params));
  else
    out = co_await dispatch_common(s, ctx, method, std::move(params));
  check_task_result(ctx, method, out);
  if (out.ok() && protocol::result_type(out.result()) == "input_required" &&
      !protocol::allows_input_required(method))
    out = protocol::internal_error(method + " cannot answer input_required");
  if (!out.ok()) {
    // 2026-07-28 retired -32002: an unknown resource is Invalid params.
    if (out.error().code == protocol::kResourceNotFound)
      out.error().code = protocol::kInvalidParams;
    co_return out;
  }
  protocol::ResultDecoration d;
  d.server_info = json::object{{"name", opts_.server_name}, {"version", opts_.server_version}};
  d.ttl_ms = opts_.cache_ttl_ms;
  // Lists and reads are filtered by the caller's scopes once auth is on.
  d.private_scope = ctx.caller().authenticated;
  protocol::decorate_modern_result(method, out.result(), d);
  co_return out;
}

asio::awaitable<Outcome> Engine::round_trip(Session& s, RequestContext& ctx,
                                            const std::string& method, json::object params) {
  std::optional<json::object> responses;
  if (auto it = params.find("inputResponses"); it != params.end()) {
    if (!it->value().is_object())
      co_return protocol::invalid_params("Invalid params: inputResponses must be an object");
    for (const auto& [k, v] : it->value().get_object())
      if (!v.is_object())
        co_return protocol::invalid_params("Invalid params: inputResponses[\"" + std::string(k) +
                                           "\"] must be a result object");
    responses = std::move(it->value().get_object());
    params.erase(it);
  }
  const protocol::StateBinding binding = binding_for(ctx, method, params);
  json::value state;
  if (auto it = params.find("requestState"); it != params.end()) {
    if (!it->value().is_string())
      co_return protocol::invalid_params("Invalid params: requestState must be a string");
    auto opened = sealer_->open(it->value().get_string(), binding);
    if (!opened) {
      spdlog::info("refused a requestState on {}: {}", method, opened.error().reason);
      co_return protocol::invalid_params(
          "Invalid params: requestState is not valid for this request (tampered, foreign or "
          "expired)");
    }
    state = std::move(opened.value());
    params.erase(it);
  }
  ctx.set_round_trip(std::move(responses), std::move(state));
  Outcome out = co_await dispatch_common(s, ctx, method, std::move(params));
  if (!out.ok() || protocol::result_type(out.result()) != "input_required") co_return out;
  json::object& r = out.result();
  if (auto bad = check_input_requests(r, ctx.client_capabilities())) co_return std::move(*bad);
  if (auto* st = r.if_contains("requestState")) *st = sealer_->seal(*st, binding);
  // Interim results are not cacheable (spec caching).
  r.erase("ttlMs");
  r.erase("cacheScope");
  co_return out;
}

asio::awaitable<Outcome> Engine::fulfil_for_legacy(Session& s, RequestContext& ctx,
                                                   const std::string& method, Outcome out) {
  // Lives in ctx until the request ends; route() keeps it only once.
  const json::object* params = ctx.pre_filter_params();
  if (!params) {
    // The backend said this route never asks (Backend::may_ask_input), so
    // nothing was kept to call again with: the answer is refused, and the
    // client is asked nothing.
    spdlog::warn("{} was answered input_required by a backend that said it never asks: refused",
                 method);
    co_return protocol::internal_error("The server answered " + method +
                                       " with input_required, which it said it never asks for");
  }
  for (std::size_t round = 0; round < opts_.max_input_rounds; ++round) {
    if (!out.ok() || protocol::result_type(out.result()) != "input_required") co_return out;
    json::object& r = out.result();
    if (auto bad = check_input_requests(r, ctx.client_capabilities())) {
      // A Legacy client has no -32021: it sees an ordinary refusal.
      if (bad->code == protocol::kMissingRequiredClientCapability)
        bad->code = protocol::kInvalidRequest;
      co_return std::move(*bad);
    }
    // Copied out first: no structured bindings or references across
    // co_await (GCC 12 mis-places them in the coroutine frame).
    std::vector<std::tuple<std::string, std::string, json::object>> asks;
    const json::value* reqs = r.if_contains("inputRequests");
    if (reqs)
      for (auto it = reqs->get_object().begin(); it != reqs->get_object().end(); ++it) {
        const json::object& qo = it->value().get_object();
        json::object qp;
        const json::value* p = qo.if_contains("params");
        if (p && p->is_object()) qp = p->get_object();
        asks.emplace_back(std::string(it->key()), std::string(qo.at("method").get_string()),
                          std::move(qp));
      }
    // A round's questions go out at once, as a server may send them: the
    // client answers each on its own, and a gateway in front of this server
    // sees them pending together and can hand them to a Modern client as one
    // InputRequiredResult (gateway/era_bridge.hpp). The round ends when all
    // are answered, or at the first error (the session withdraws the rest
    // when the request ends).
    auto ex = co_await asio::this_coro::executor;
    auto pending = std::make_shared<Round>();
    pending->answers.resize(asks.size());
    auto done = std::make_shared<Mailbox>(ex, asks.size() + 1);
    for (std::size_t i = 0; i < asks.size(); ++i)
      asio::co_spawn(ex,
                     ask_one(ctx.shared_from_this(), i, std::get<1>(asks[i]), std::get<2>(asks[i]),
                             pending, done),
                     asio::detached);
    json::object answers;
    for (std::size_t n = 0; n < asks.size(); ++n) {
      std::optional<json::object> m = co_await done->pop();
      if (!m) co_return RpcError{protocol::kRequestCancelled, "request cancelled"};
      const std::size_t i = static_cast<std::size_t>(m->at("i").to_number<std::uint64_t>());
      Outcome a = std::move(*pending->answers[i]);
      if (!a.ok()) co_return a;
      answers[std::get<0>(asks[i])] = std::move(a.result());
    }
    json::value state = r.contains("requestState") ? r.at("requestState") : json::value();
    // Each answer passed the filters in client_request.
    ctx.set_round_trip(std::move(answers), std::move(state), /*filtered=*/true);
    out = co_await dispatch_common(s, ctx, method, *params);
  }
  if (out.ok() && protocol::result_type(out.result()) == "input_required")
    co_return protocol::internal_error("the request still needs input after " +
                                       std::to_string(opts_.max_input_rounds) + " rounds");
  co_return out;
}

asio::awaitable<Outcome> Engine::task_request(RequestContext& ctx, const std::string& method,
                                              json::object params) {
  // SEP-2663 error handling: a client that did not declare the extension on
  // this request gets -32021, whether or not the task exists.
  if (!declares_tasks(ctx.client_capabilities())) co_return tasks_extension_required();
  auto* id = params.if_contains("taskId");
  if (!id || !id->is_string() || id->get_string().empty())
    co_return protocol::invalid_params("Invalid params: taskId must be a non-empty string");
  if (id->get_string().size() > 4096) co_return task_not_found();
  if (method == "tasks/update") {
    auto* r = params.if_contains("inputResponses");
    if (!r || !r->is_object())
      co_return protocol::invalid_params("Invalid params: inputResponses must be an object");
    // The answers go to the task's server like a call's answers do; which
    // server that is only its backend knows, so the policy applied is the
    // one for no particular server (the default and per-type rules).
    if (!filters_.empty())
      if (auto refused = filter_answers(filters_, r->get_object(), ctx.session_id(),
                                        "tasks/update ", "", ""))
        co_return std::move(*refused);
  }
  // Local backends first, as for every other request. No structured
  // bindings across co_await (GCC 12).
  for (std::size_t i = 0; i < backends_.size(); ++i) {
    std::optional<TaskReply> reply = co_await backends_[i]->task_request(method, params, ctx);
    if (!reply) continue;
    if (!reply->out.ok()) co_return std::move(reply->out);
    json::object& r = reply->out.result();
    if (method != "tasks/get") co_return json::object{};  // an acknowledgment, nothing else
    // A finished task's result is the call's result: the response filters
    // (PII, audit) see it as they saw the call's own.
    auto* inner = r.if_contains("result");
    if (inner && inner->is_object() && !filters_.empty()) {
      const std::string rid = json::serialize(ctx.request_id());
      CallContext cc{ctx.caller(), ctx.session_id(), rid, method, reply->server, reply->tool};
      cc.can_defer = true;
      Verdict back = filters_.run_response(inner->get_object(), cc);
      if (!back.ok()) {
        filters_.run_error(*back.error, cc);
        co_await finish_deferred(filters_, cc);
        co_return std::move(*back.error);
      }
      std::optional<RpcError> withheld = co_await finish_deferred(filters_, cc);
      if (withheld) co_return std::move(*withheld);
    }
    // What else a task shows the client (its server's input requests, its
    // status message, the error it failed with) passes the filters as any
    // message from that server to the client does; a refusal answers the
    // tasks/get with the error.
    if (!filters_.empty()) {
      json::object shown;
      for (std::string_view k : {"inputRequests", "statusMessage", "error"})
        if (auto it = r.find(k); it != r.end()) shown[k] = std::move(it->value());
      if (!shown.empty()) {
        json::object message{{"method", method}, {"params", std::move(shown)}};
        const MessageContext mc{ctx.session_id(), method, reply->server, reply->tool};
        Verdict v = filters_.run_outbound(message, mc);
        if (!v.ok()) co_return std::move(*v.error);
        for (auto& kv : message["params"].as_object()) r[kv.key()] = std::move(kv.value());
      }
    }
    r.erase("resultType");  // the engine's decoration says "complete"
    co_return std::move(reply->out);
  }
  co_return task_not_found();
}

asio::awaitable<Outcome> Engine::listen(RequestContext& ctx, const json::object& params) {
  auto parsed = parse_listen_filter(params, subscriptions_.limits().max_uris);
  if (!parsed) co_return parsed.error();
  // The acknowledgment lists what the server will honour: kinds it can
  // announce, and URIs the caller may read.
  ListenFilter agreed = std::move(parsed.value());
  json::object caps = capabilities();
  auto has = [&](std::string_view kind, std::string_view flag) {
    auto* k = caps.if_contains(kind);
    if (!k || !k->is_object()) return false;
    auto* f = k->get_object().if_contains(flag);
    return f && f->is_bool() && f->get_bool();
  };
  agreed.tools &= has("tools", "listChanged");
  agreed.prompts &= has("prompts", "listChanged");
  agreed.resources &= has("resources", "listChanged");
  if (!has("resources", "subscribe")) agreed.uris.clear();
  std::map<Backend*, std::vector<Route>> watched;  // what each backend must ask its source for
  std::erase_if(agreed.uris, [&](const std::string& uri) {
    std::optional<Route> r = resolve(Kind::kResource, uri);
    if (!r || !visible(ctx.caller(), r->server, Kind::kResource, r->name)) return true;
    if (r->backend) watched[r->backend].push_back(*r);
    return false;
  });
  // The place is taken before anything is sent, so a refusal is a plain
  // error answer; notifications wait for the acknowledgment (spec: it is
  // the first message of the subscription).
  const json::value sub_id = ctx.request_id();
  auto ended = std::make_shared<std::atomic<bool>>(false);
  auto acknowledged = std::make_shared<std::atomic<bool>>(false);
  json::object ack_filter = agreed.to_json();
  Subscriptions::Listener l;
  l.ctx = ctx.weak_from_this();
  l.caller = ctx.caller().client_id;
  l.id = sub_id;
  l.filter = std::move(agreed);
  l.ended = ended;
  l.acknowledged = acknowledged;
  std::optional<std::uint64_t> handle = subscriptions_.add(std::move(l));
  if (!handle)
    co_return RpcError{protocol::kResourceExhausted,
                       "Too many open subscriptions: close one before opening another"};
  const std::string watch_key = std::to_string(*handle);
  for (auto& [b, routes] : watched) b->on_listen(watch_key, routes);
  ctx.notify(protocol::make_notification(
      "notifications/subscriptions/acknowledged",
      json::object{{"_meta", json::object{{protocol::meta_key::kSubscriptionId, sub_id}}},
                   {"notifications", std::move(ack_filter)}}));
  acknowledged->store(true);
  // Open until the client goes away (cancellation) or the server ends it.
  asio::steady_timer t(co_await asio::this_coro::executor);
  while (!ended->load() && !ctx.cancelled()) {
    t.expires_after(std::chrono::seconds(1));
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  subscriptions_.remove(*handle);
  for (auto& [b, routes] : watched) b->on_listen_closed(watch_key);
  co_return json::object{{"_meta", json::object{{protocol::meta_key::kSubscriptionId, sub_id}}}};
}

namespace {

// What dispatch_common does with a request, decided without I/O (so that
// none of it sits in the coroutine's frame): the answer itself, or a list
// of `list`, or a route to `key` of `kind`.
struct CommonPlan {
  std::optional<Outcome> answer;
  std::optional<Kind> list;
  Kind kind = Kind::kTool;
  std::string key;
};

CommonPlan plan_common(Session& s, const std::string& method, const json::object& params) {
  CommonPlan p;
  if (method == "initialize") {
    if (s.initialized())
      p.answer = RpcError{protocol::kInvalidRequest, "Session already initialized"};
    else
      p.answer = s.initialize(params);
    return p;
  }
  if (method == "ping") {
    p.answer = json::object{};
    return p;
  }
  if (method == "logging/setLevel") {
    auto* lvl = string_param(params, "level");
    auto parsed = lvl ? parse_log_level(*lvl) : std::nullopt;
    if (!parsed) {
      p.answer = protocol::invalid_params("logging/setLevel: unknown level");
      return p;
    }
    s.set_log_level(*parsed);
    p.answer = json::object{};
    return p;
  }
  if (method == "tools/list") p.list = Kind::kTool;
  if (method == "resources/list") p.list = Kind::kResource;
  if (method == "resources/templates/list") p.list = Kind::kResourceTemplate;
  if (method == "prompts/list") p.list = Kind::kPrompt;
  if (p.list) return p;

  if (method == "tools/call" || method == "prompts/get") {
    auto* name = string_param(params, "name");
    if (!name) {
      p.answer = protocol::invalid_params(method + ": name must be a string");
    } else if (auto* a = params.if_contains("arguments"); a && !a->is_object() && !a->is_null()) {
      p.answer = protocol::invalid_params(method + ": arguments must be an object");
    } else {
      p.kind = method == "tools/call" ? Kind::kTool : Kind::kPrompt;
      p.key = *name;
    }
    return p;
  }
  if (method == "resources/read" || method == "resources/subscribe" ||
      method == "resources/unsubscribe") {
    auto* uri = string_param(params, "uri");
    if (!uri) {
      p.answer = protocol::invalid_params(method + ": uri must be a string");
      return p;
    }
    p.kind = Kind::kResource;
    p.key = *uri;
    if (method == "resources/unsubscribe") s.unsubscribe(p.key);
    return p;
  }
  if (method == "completion/complete") {
    auto* ref = params.if_contains("ref");
    auto* arg = params.if_contains("argument");
    if (!ref || !ref->is_object() || !arg || !arg->is_object()) {
      p.answer = protocol::invalid_params("completion/complete: ref and argument are required");
      return p;
    }
    auto* type = string_param(ref->get_object(), "type");
    if (type && *type == "ref/prompt") {
      auto* name = string_param(ref->get_object(), "name");
      if (!name) {
        p.answer = protocol::invalid_params("completion/complete: ref.name required");
      } else {
        p.kind = Kind::kPrompt;
        p.key = *name;
      }
      return p;
    }
    if (type && *type == "ref/resource") {
      auto* uri = string_param(ref->get_object(), "uri");
      if (!uri) {
        p.answer = protocol::invalid_params("completion/complete: ref.uri required");
      } else {
        p.kind = Kind::kResource;
        p.key = *uri;
      }
      return p;
    }
    p.answer = protocol::invalid_params("completion/complete: unknown ref type");
    return p;
  }
  p.answer = protocol::method_not_found(method);
  return p;
}

}  // namespace

// Not a coroutine (as call()): it hands back the awaitable of the one that
// does the work, so a call costs no coroutine of its own here.
asio::awaitable<Outcome> Engine::dispatch_common(Session& s, RequestContext& ctx,
                                                 const std::string& method, json::object params) {
  CommonPlan plan = plan_common(s, method, params);
  if (plan.answer) return answered(std::move(*plan.answer));
  if (plan.list) return list(*plan.list, ctx, std::move(params));
  if (method != "resources/subscribe")
    return route(plan.kind, std::move(plan.key), method, std::move(params), ctx);
  return subscribe(s, plan.kind, std::move(plan.key), method, std::move(params), ctx);
}

asio::awaitable<Outcome> Engine::subscribe(Session& s, Kind kind, std::string uri,
                                           const std::string& method, json::object params,
                                           RequestContext& ctx) {
  Outcome out = co_await route(kind, uri, method, std::move(params), ctx);
  if (out.ok()) s.subscribe(uri);
  co_return out;
}

void Engine::on_client_notification(Session& s, const std::string& method,
                                    const json::object& msg) {
  for (auto& b : backends_) b->on_client_notification(s.id(), msg);
  (void)method;
}

void Engine::list_changed(Kind kind) {
  subscriptions_.list_changed(kind);
  const char* method = kind == Kind::kTool     ? "notifications/tools/list_changed"
                       : kind == Kind::kPrompt ? "notifications/prompts/list_changed"
                                               : "notifications/resources/list_changed";
  for (auto& s : snapshot_sessions()) s->notify(protocol::make_notification(method, {}));
}

void Engine::list_changed(Kind kind, const Audience& to) {
  if (to.session.empty())
    subscriptions_.list_changed(kind, [&](const protocol::Principal& p) {
      return !server_authorizer_ || server_authorizer_(p, to.server);
    });
  const char* method = kind == Kind::kTool     ? "notifications/tools/list_changed"
                       : kind == Kind::kPrompt ? "notifications/prompts/list_changed"
                                               : "notifications/resources/list_changed";
  for (auto& s : audience(to)) s->notify(protocol::make_notification(method, {}));
}

std::vector<std::shared_ptr<Session>> Engine::audience(const Audience& to) const {
  std::vector<std::shared_ptr<Session>> out;
  if (!to.session.empty()) {
    std::shared_lock lk(mu_);
    if (auto it = sessions_.find(to.session); it != sessions_.end()) out.push_back(it->second);
  } else {
    out = snapshot_sessions();
  }
  if (server_authorizer_)
    std::erase_if(out, [&](const std::shared_ptr<Session>& s) {
      return !server_authorizer_(*s->caller(), to.server);
    });
  return out;
}

void Engine::resource_updated(const Audience& to, std::string_view uri) {
  // Modern listens belong to no session: they hear updates meant for every
  // session allowed to use the server.
  if (to.session.empty())
    subscriptions_.resource_updated(uri, [&](const protocol::Principal& p) {
      return !server_authorizer_ || server_authorizer_(p, to.server);
    });
  for (auto& s : audience(to))
    if (s->subscribed(uri))
      s->notify(protocol::make_notification("notifications/resources/updated",
                                            json::object{{"uri", uri}}));
}

void Engine::notify(const Audience& to, json::object notification) {
  std::optional<LogLevel> level;
  if (auto* m = notification.if_contains("method");
      m && m->is_string() && m->get_string() == "notifications/message")
    if (auto* p = notification.if_contains("params"); p && p->is_object())
      if (auto* l = p->get_object().if_contains("level"); l && l->is_string())
        level = parse_log_level(l->get_string());
  for (auto& s : audience(to))
    if (!level || *level >= s->log_level()) s->notify(notification, to.server);
}

}  // namespace bastion::server
