// JSON the tools' fixtures build and read, written once for all of them
// (testkit, testkit_modern, testkit_resources, testkit_tasks, the audit
// report tools): text content and results, tool definitions and their
// properties, the input requests of a multi round-trip tool, and argument
// and answer fields read leniently (a missing or mistyped field is empty).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <string>
#include <string_view>

namespace bastion::tools::fixture {

// A text content block.
inline boost::json::object text(std::string_view t) { return {{"type", "text"}, {"text", t}}; }

// A tool result of one text block; isError when `is_error`.
inline boost::json::object text_result(std::string_view t, bool is_error = false) {
  boost::json::object r{{"content", boost::json::array{text(t)}}};
  if (is_error) r["isError"] = true;
  return r;
}

// A tool definition whose input is an object of `properties`.
inline boost::json::object tool(std::string_view name, std::string_view description,
                                boost::json::object properties = {},
                                boost::json::array required = {}) {
  boost::json::object schema{{"type", "object"}, {"properties", std::move(properties)}};
  if (!required.empty()) schema["required"] = std::move(required);
  return {{"name", name}, {"description", description}, {"inputSchema", std::move(schema)}};
}

// One property of an input schema.
inline boost::json::object prop(std::string_view type, std::string_view description) {
  return {{"type", type}, {"description", description}};
}

// An elicitation/create request for one required field of `type`; `mode`
// ("form") is written only when given.
inline boost::json::object elicit(std::string_view message, std::string_view field,
                                  std::string_view type, std::string_view mode = {}) {
  boost::json::object props;
  props[field] = boost::json::object{{"type", type}};
  boost::json::object schema{{"type", "object"}, {"properties", std::move(props)}};
  schema["required"] = boost::json::array{boost::json::string(field)};
  boost::json::object params;
  if (!mode.empty()) params["mode"] = mode;
  params["message"] = message;
  params["requestedSchema"] = std::move(schema);
  return {{"method", "elicitation/create"}, {"params", std::move(params)}};
}

// An input_required result (2026-07-28 multi round-trip requests).
inline boost::json::object input_required(boost::json::object requests,
                                          boost::json::value state = nullptr) {
  boost::json::object r{{"resultType", "input_required"}, {"inputRequests", std::move(requests)}};
  if (!state.is_null()) r["requestState"] = std::move(state);
  return r;
}

// content.<field> of an elicitation answer, as text ("" when absent).
inline std::string elicited(const boost::json::object& a, std::string_view field) {
  auto* c = a.if_contains("content");
  if (!c || !c->is_object()) return "";
  auto* v = c->get_object().if_contains(field);
  if (!v) return "";
  return v->is_string() ? std::string(v->get_string()) : boost::json::serialize(*v);
}

// The string argument `k`, or `def`.
inline std::string str_arg(const boost::json::object& args, std::string_view k,
                           std::string def = {}) {
  if (auto* v = args.if_contains(k); v && v->is_string()) return std::string(v->get_string());
  return def;
}

// Sleeps unless the calling coroutine is cancelled; false when cancelled
// (also when the cancellation arrived between two waits).
inline boost::asio::awaitable<bool> pause(std::chrono::milliseconds d) {
  namespace asio = boost::asio;
  auto cs = co_await asio::this_coro::cancellation_state;
  if (cs.cancelled() != asio::cancellation_type::none) co_return false;
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return !ec;
}

}  // namespace bastion::tools::fixture
