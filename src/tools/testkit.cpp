// The testkit's tools: the conformance suite's Legacy tool fixtures (content
// of every kind, progress, logging, cancellation, sampling, elicitation,
// schemas) and `echo`. make_testkit() composes them with the resources and
// prompts (testkit_resources.cpp), the 2026-07-28 fixtures (testkit_modern.cpp)
// and the tasks extension's (testkit_tasks.cpp).
#include "tools/testkit.hpp"

#include <fmt/format.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>

#include "tools/fixture_json.hpp"

namespace bastion::tools {

namespace asio = boost::asio;
namespace json = boost::json;
using fixture::pause;
using fixture::str_arg;
using fixture::text;
using protocol::Outcome;
using server::RequestContext;

// 1x1 red PNG and a short silent 8 kHz mono WAV.
const char* const kTestPngBase64 =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";
const char* const kTestWavBase64 =
    "UklGRjQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YRAAAAAAAAAAAAAAAAAAAAAAAAAA";

namespace {

json::object content_result(json::array content) { return {{"content", std::move(content)}}; }

json::object tool_def(std::string_view name, std::string_view description,
                      json::object schema = {{"type", "object"}, {"properties", json::object{}}}) {
  return {{"name", name}, {"description", description}, {"inputSchema", std::move(schema)}};
}

// Tools that need a client round-trip answer with a tool error when the
// client does not have the capability or the request fails.
json::object error_text(std::string t) {
  json::object r = content_result(json::array{text(t)});
  r["isError"] = true;
  return r;
}

std::atomic<std::uint64_t> g_cancelled{0};

// Request parameters are built outside the coroutines: GCC 12 rejects
// braced initializers with string literals inside coroutine bodies.
json::object elicitation_basic(std::string message) {
  json::object schema{
      {"type", "object"},
      {"properties",
       json::object{
           {"username", json::object{{"type", "string"}, {"description", "User's response"}}},
           {"email", json::object{{"type", "string"}, {"description", "User's email address"}}}}},
      {"required", json::array{"username", "email"}}};
  return {{"message", std::move(message)}, {"requestedSchema", std::move(schema)}};
}

json::object elicitation_defaults() {
  json::object props{
      {"name",
       json::object{{"type", "string"}, {"description", "User name"}, {"default", "John Doe"}}},
      {"age", json::object{{"type", "integer"}, {"description", "User age"}, {"default", 30}}},
      {"score", json::object{{"type", "number"}, {"description", "User score"}, {"default", 95.5}}},
      {"status", json::object{{"type", "string"},
                              {"description", "User status"},
                              {"enum", json::array{"active", "inactive", "pending"}},
                              {"default", "active"}}},
      {"verified",
       json::object{
           {"type", "boolean"}, {"description", "Verification status"}, {"default", true}}}};
  return {{"message", "Please review and update the form fields with defaults"},
          {"requestedSchema", json::object{{"type", "object"}, {"properties", std::move(props)}}}};
}

json::array titled(std::initializer_list<std::pair<const char*, const char*>> opts) {
  json::array a;
  for (auto& [c, t] : opts) a.push_back(json::object{{"const", c}, {"title", t}});
  return a;
}

json::object elicitation_enums() {
  json::object props{
      {"untitledSingle", json::object{{"type", "string"},
                                      {"description", "Select one option"},
                                      {"enum", json::array{"option1", "option2", "option3"}}}},
      {"titledSingle", json::object{{"type", "string"},
                                    {"description", "Select one option with titles"},
                                    {"oneOf", titled({{"value1", "First Option"},
                                                      {"value2", "Second Option"},
                                                      {"value3", "Third Option"}})}}},
      {"legacyEnum",
       json::object{{"type", "string"},
                    {"description", "Select one option (legacy)"},
                    {"enum", json::array{"opt1", "opt2", "opt3"}},
                    {"enumNames", json::array{"Option One", "Option Two", "Option Three"}}}},
      {"untitledMulti",
       json::object{
           {"type", "array"},
           {"description", "Select multiple options"},
           {"minItems", 1},
           {"maxItems", 3},
           {"items", json::object{{"type", "string"},
                                  {"enum", json::array{"option1", "option2", "option3"}}}}}},
      {"titledMulti",
       json::object{{"type", "array"},
                    {"description", "Select multiple options with titles"},
                    {"minItems", 1},
                    {"maxItems", 3},
                    {"items", json::object{{"anyOf", titled({{"value1", "First Choice"},
                                                             {"value2", "Second Choice"},
                                                             {"value3", "Third Choice"}})}}}}}};
  return {{"message", "Please select options from the enum fields"},
          {"requestedSchema", json::object{{"type", "object"}, {"properties", std::move(props)}}}};
}

json::object sampling_params(std::string prompt) {
  return {{"messages", json::array{json::object{{"role", "user"}, {"content", text(prompt)}}}},
          {"maxTokens", 100}};
}

// What a Legacy fixture asks of its client, in either era: a Legacy request
// gets a server-to-client request; a Modern one cannot carry it (spec MRTR),
// so the fixture answers input_required with the same request under `key`
// and the client's retry brings the answer in inputResponses. Through the
// gateway a Legacy client still gets the real request (the gateway turns
// input_required into one), so one fixture serves both eras.
struct Ask {
  std::string key;     // the input request's key (Modern)
  std::string method;  // sampling/createMessage, elicitation/create
  json::object params;
};

// The client's answer (a result or an error), unless the fixture is to
// return `now` instead: a Modern first round's input_required.
struct Asked {
  Outcome reply;
  std::optional<Outcome> now;
};

json::object input_required_for(const Ask& a) {
  json::object req{{"method", a.method}, {"params", a.params}};
  json::object requests;
  requests[a.key] = std::move(req);
  return {{"resultType", "input_required"}, {"inputRequests", std::move(requests)}};
}

// The Modern half of ask(): no coroutine needed.
std::optional<Asked> ask_modern(const RequestContext& ctx, const Ask& a) {
  if (!ctx.modern()) return std::nullopt;
  if (const json::object* r = ctx.input_responses())
    if (auto* v = r->if_contains(a.key); v && v->is_object())
      return Asked{Outcome(v->get_object()), std::nullopt};
  // The engine answers MissingRequiredClientCapabilityError instead when the
  // request did not declare what the question needs.
  return Asked{json::object{}, Outcome(input_required_for(a))};
}

// Named locals around each co_await: GCC 12 destroys temporaries of a
// full-expression holding a co_await twice (a double free once it suspends).
asio::awaitable<Asked> ask(RequestContext& ctx, Ask a) {
  std::optional<Asked> modern = ask_modern(ctx, a);
  if (modern) co_return std::move(*modern);
  Outcome reply = co_await ctx.client_request(a.method, std::move(a.params));
  co_return Asked{std::move(reply), std::nullopt};
}

Ask sampling_ask(std::string prompt) {
  return {"sampling", "sampling/createMessage", sampling_params(std::move(prompt))};
}
Ask elicitation_ask(json::object params) {
  return {"elicitation", "elicitation/create", std::move(params)};
}

std::string content_of(const json::object& result) {
  return result.contains("content") ? json::serialize(result.at("content")) : "{}";
}

// The SEP-1034 / SEP-1330 fixtures: elicit with `params()`, report the answer.
// `params` is read before the first suspension, so the closure need not outlive it.
auto elicit_and_report(json::object (*params)()) {
  return [params](json::object, RequestContext& ctx) -> asio::awaitable<Outcome> {
    Ask q = elicitation_ask(params());
    Asked asked = co_await ask(ctx, std::move(q));
    if (asked.now) co_return std::move(*asked.now);
    Outcome& r = asked.reply;
    if (!r.ok()) co_return error_text("Elicitation failed: " + r.error().message);
    co_return content_result(
        json::array{text(fmt::format("Elicitation completed: action={}, content={}",
                                     str_arg(r.result(), "action"), content_of(r.result())))});
  };
}

// SEP-2106: composition ($defs, $anchor, $ref, allOf/anyOf) and conditional
// (if/then/else) keywords, which must reach clients as written.
json::object json_schema_2020_12() {
  json::object address{{"$anchor", "addressDef"},
                       {"type", "object"},
                       {"properties", json::object{{"street", json::object{{"type", "string"}}},
                                                   {"city", json::object{{"type", "string"}}}}}};
  json::object props{
      {"name", json::object{{"type", "string"}}},
      {"address", json::object{{"$ref", "#/$defs/address"}}},
      {"contactMethod", json::object{{"type", "string"}, {"enum", json::array{"phone", "email"}}}},
      {"phone", json::object{{"type", "string"}}},
      {"email", json::object{{"type", "string"}}}};
  json::array one_of_contacts{json::object{{"required", json::array{"phone"}}},
                              json::object{{"required", json::array{"email"}}}};
  return {{"$schema", "https://json-schema.org/draft/2020-12/schema"},
          {"type", "object"},
          {"$defs", json::object{{"address", std::move(address)}}},
          {"properties", std::move(props)},
          {"allOf", json::array{json::object{{"anyOf", std::move(one_of_contacts)}}}},
          {"if", json::object{{"properties",
                               json::object{{"contactMethod", json::object{{"const", "phone"}}}}},
                              {"required", json::array{"contactMethod"}}}},
          {"then", json::object{{"required", json::array{"phone"}}}},
          {"else", json::object{{"required", json::array{"email"}}}},
          {"additionalProperties", false}};
}

// 2026-07-28 x-mcp-header: parameters a Streamable HTTP client mirrors into
// Mcp-Param-* headers (a string, an integer, a boolean and a nested string)
// next to one it must not. The conformance suite's custom-header scenario
// calls the first annotated string parameter.
json::object param_headers_schema() {
  auto annotated = [](std::string_view type, std::string_view header) {
    return json::object{{"type", type}, {"x-mcp-header", header}};
  };
  json::object target{{"type", "object"},
                      {"properties", json::object{{"zone", annotated("string", "Zone")}}}};
  return {{"type", "object"},
          {"properties", json::object{{"region", annotated("string", "Region")},
                                      {"priority", annotated("integer", "Priority")},
                                      {"verbose", annotated("boolean", "Verbose")},
                                      {"target", std::move(target)},
                                      {"query", json::object{{"type", "string"}}}}},
          {"required", json::array{"region"}}};
}

// The tools that answer at once: a Legacy client's call of one keeps no
// copy of its params for a retry (BuiltinBackend::Asks).
constexpr auto kNeverAsks = server::BuiltinBackend::Asks::kNever;

void add_tools(server::BuiltinBackend& b) {
  b.add_tool(
      tool_def("test_simple_text", "Tests simple text content response"),
      [](json::object, RequestContext&) -> asio::awaitable<Outcome> {
        co_return content_result(json::array{text("This is a simple text response for testing.")});
      },
      kNeverAsks);
  b.add_tool(
      tool_def("test_image_content", "Tests image content response"),
      [](json::object, RequestContext&) -> asio::awaitable<Outcome> {
        co_return content_result(json::array{
            json::object{{"type", "image"}, {"data", kTestPngBase64}, {"mimeType", "image/png"}}});
      },
      kNeverAsks);
  b.add_tool(
      tool_def("test_audio_content", "Tests audio content response"),
      [](json::object, RequestContext&) -> asio::awaitable<Outcome> {
        co_return content_result(json::array{
            json::object{{"type", "audio"}, {"data", kTestWavBase64}, {"mimeType", "audio/wav"}}});
      },
      kNeverAsks);
  b.add_tool(
      tool_def("test_embedded_resource", "Tests embedded resource content response"),
      [](json::object, RequestContext&) -> asio::awaitable<Outcome> {
        json::object res{{"uri", "test://embedded-resource"},
                         {"mimeType", "text/plain"},
                         {"text", "This is an embedded resource content."}};
        co_return content_result(
            json::array{json::object{{"type", "resource"}, {"resource", std::move(res)}}});
      },
      kNeverAsks);
  b.add_tool(
      tool_def("test_multiple_content_types",
               "Tests response with multiple content types (text, image, resource)"),
      [](json::object, RequestContext&) -> asio::awaitable<Outcome> {
        json::object res{{"uri", "test://mixed-content-resource"},
                         {"mimeType", "application/json"},
                         {"text", R"({"test":"data","value":123})"}};
        co_return content_result(json::array{
            text("Multiple content types test:"),
            json::object{{"type", "image"}, {"data", kTestPngBase64}, {"mimeType", "image/png"}},
            json::object{{"type", "resource"}, {"resource", std::move(res)}}});
      },
      kNeverAsks);
  b.add_tool(
      tool_def("test_tool_with_logging", "Tests tool that emits log messages during execution"),
      [](json::object, RequestContext& ctx) -> asio::awaitable<Outcome> {
        ctx.log(server::LogLevel::kInfo, "testkit", "Tool execution started");
        co_await pause(std::chrono::milliseconds(50));
        ctx.log(server::LogLevel::kInfo, "testkit", "Tool processing data");
        co_await pause(std::chrono::milliseconds(50));
        ctx.log(server::LogLevel::kInfo, "testkit", "Tool execution completed");
        co_return content_result(json::array{text("Tool with logging executed successfully")});
      },
      kNeverAsks);
  b.add_tool(
      tool_def("test_tool_with_progress", "Tests tool that reports progress notifications"),
      [](json::object, RequestContext& ctx) -> asio::awaitable<Outcome> {
        for (int p : {0, 50, 100}) {
          ctx.progress(p, 100, fmt::format("Completed step {} of 3", p / 50 + 1));
          if (p < 100) co_await pause(std::chrono::milliseconds(50));
        }
        co_return content_result(json::array{text("Tool with progress executed successfully")});
      },
      kNeverAsks);
  b.add_tool(
      tool_def("test_error_handling", "Tests error response handling"),
      [](json::object, RequestContext&) -> asio::awaitable<Outcome> {
        co_return error_text("This tool intentionally returns an error for testing");
      },
      kNeverAsks);
  b.add_tool(
      tool_def("test_sampling", "Tests server-initiated sampling (LLM completion request)",
               json::object{
                   {"type", "object"},
                   {"properties",
                    json::object{{"prompt",
                                  json::object{{"type", "string"},
                                               {"description", "The prompt to send to the LLM"}}}}},
                   {"required", json::array{"prompt"}}}),
      [](json::object args, RequestContext& ctx) -> asio::awaitable<Outcome> {
        Ask q = sampling_ask(str_arg(args, "prompt"));
        Asked asked = co_await ask(ctx, std::move(q));
        if (asked.now) co_return std::move(*asked.now);
        Outcome& r = asked.reply;
        if (!r.ok()) co_return error_text("Sampling failed: " + r.error().message);
        std::string reply;
        if (auto* c = r.result().if_contains("content"); c && c->is_object())
          reply = str_arg(c->get_object(), "text");
        co_return content_result(json::array{text("LLM response: " + reply)});
      });
  b.add_tool(
      tool_def("test_elicitation", "Tests server-initiated elicitation (user input request)",
               json::object{
                   {"type", "object"},
                   {"properties",
                    json::object{{"message",
                                  json::object{{"type", "string"},
                                               {"description", "The message to show the user"}}}}},
                   {"required", json::array{"message"}}}),
      [](json::object args, RequestContext& ctx) -> asio::awaitable<Outcome> {
        Ask q = elicitation_ask(elicitation_basic(str_arg(args, "message")));
        Asked asked = co_await ask(ctx, std::move(q));
        if (asked.now) co_return std::move(*asked.now);
        Outcome& r = asked.reply;
        if (!r.ok()) co_return error_text("Elicitation failed: " + r.error().message);
        std::string action = str_arg(r.result(), "action");
        json::value content =
            r.result().contains("content") ? r.result().at("content") : json::value();
        co_return content_result(json::array{text(fmt::format(
            "User response: action={}, content={}", action, json::serialize(content)))});
      });
  b.add_tool(tool_def("test_elicitation_sep1034_defaults",
                      "Tests elicitation with default values per SEP-1034"),
             elicit_and_report(elicitation_defaults));
  b.add_tool(tool_def("test_elicitation_sep1330_enums",
                      "Tests elicitation with enum schema improvements per SEP-1330"),
             elicit_and_report(elicitation_enums));
  b.add_tool(
      tool_def("json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features",
               json_schema_2020_12()),
      [](json::object args, RequestContext&) -> asio::awaitable<Outcome> {
        co_return content_result(
            json::array{text("JSON Schema 2020-12 tool called with: " + json::serialize(args))});
      },
      kNeverAsks);
  b.add_tool(
      tool_def("test_reconnection",
               "Tests SSE stream disconnection and client reconnection (SEP-1699)"),
      [](json::object, RequestContext&) -> asio::awaitable<Outcome> {
        co_await pause(std::chrono::milliseconds(100));
        co_return content_result(json::array{text("Reconnection test completed successfully")});
      },
      kNeverAsks);

  b.add_tool(
      tool_def("test_param_headers",
               "Mirrors region, priority, verbose and target.zone into Mcp-Param-* "
               "headers (x-mcp-header); returns the arguments it was called with",
               param_headers_schema()),
      [](json::object args, RequestContext&) -> asio::awaitable<Outcome> {
        json::object r = content_result(json::array{text(json::serialize(args))});
        r["structuredContent"] = std::move(args);
        co_return r;
      },
      kNeverAsks);

  // Bastion's own fixtures: benchmarks and cancellation tests.
  b.add_tool(
      tool_def(
          "echo", "Returns its `text` argument",
          json::object{{"type", "object"},
                       {"properties", json::object{{"text", json::object{{"type", "string"}}}}}}),
      [](json::object args, RequestContext&) -> asio::awaitable<Outcome> {
        co_return content_result(json::array{text(str_arg(args, "text"))});
      },
      kNeverAsks);
  b.add_tool(
      tool_def(
          "sleep", "Waits `ms` milliseconds (cancellable)",
          json::object{{"type", "object"},
                       {"properties", json::object{{"ms", json::object{{"type", "integer"}}}}}}),
      [](json::object args, RequestContext& ctx) -> asio::awaitable<Outcome> {
        std::int64_t ms = 1000;
        if (auto* v = args.if_contains("ms"); v && v->is_int64()) ms = v->get_int64();
        ms = std::clamp<std::int64_t>(ms, 0, 600000);
        // Progress every 100 ms lets clients watch a long call.
        for (std::int64_t done = 0; done < ms; done += 100) {
          ctx.progress(static_cast<double>(done), static_cast<double>(ms));
          if (ctx.cancelled() ||
              !co_await pause(std::chrono::milliseconds(std::min<std::int64_t>(100, ms - done)))) {
            ++g_cancelled;
            co_return error_text("cancelled");
          }
        }
        co_return content_result(json::array{text(fmt::format("slept {} ms", ms))});
      },
      kNeverAsks);
  b.add_tool(
      tool_def("cancelled_count", "How many `sleep` calls were cancelled so far"),
      [](json::object, RequestContext&) -> asio::awaitable<Outcome> {
        json::object r = content_result(json::array{text(std::to_string(g_cancelled.load()))});
        r["structuredContent"] = json::object{{"cancelled", g_cancelled.load()}};
        co_return r;
      },
      kNeverAsks);
}

}  // namespace

std::shared_ptr<server::BuiltinBackend> make_testkit() {
  auto b = std::make_shared<server::BuiltinBackend>("testkit");
  add_tools(*b);
  add_resource_fixtures(*b);
  add_prompt_fixtures(*b);
  add_modern_fixtures(*b);
  add_task_fixtures(*b);
  return b;
}

}  // namespace bastion::tools
