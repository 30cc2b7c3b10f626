// The testkit's fixtures for MCP 2026-07-28 (the conformance suite's
// `--requirements 2026-07-28` server scenarios): multi round-trip tools and
// a prompt that answer input_required, a tool that needs a client
// capability, per-request logging, and triggers for list changes. The
// engine seals their requestState; these handlers see it opened.
#include <fmt/format.h>

#include "protocol/era.hpp"
#include "tools/fixture_json.hpp"
#include "tools/testkit.hpp"

namespace bastion::tools {

namespace asio = boost::asio;
namespace json = boost::json;
using fixture::elicit;
using fixture::elicited;
using fixture::input_required;
using fixture::text;
using fixture::text_result;
using fixture::tool;
using protocol::Outcome;
using server::RequestContext;

namespace {

json::object sample(std::string_view prompt, int max_tokens) {
  return {{"method", "sampling/createMessage"},
          {"params", json::object{{"messages", json::array{json::object{
                                                   {"role", "user"}, {"content", text(prompt)}}}},
                                  {"maxTokens", max_tokens}}}};
}

json::object list_roots() { return {{"method", "roots/list"}, {"params", json::object{}}}; }

// The answer under `key`, when the client gave one.
const json::object* answer(const RequestContext& ctx, std::string_view key) {
  const json::object* r = ctx.input_responses();
  if (!r) return nullptr;
  auto* a = r->if_contains(key);
  return a ? a->if_object() : nullptr;
}

std::string state_field(const RequestContext& ctx, std::string_view key) {
  const json::value& s = ctx.request_state();
  if (!s.is_object()) return "";
  auto* v = s.get_object().if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : (v ? json::serialize(*v) : "");
}

using Handler = std::function<Outcome(RequestContext&)>;

void add(server::BuiltinBackend& b, std::string_view name, std::string_view description,
         Handler h) {
  b.add_tool(
      tool(name, description),
      [h](json::object, RequestContext& ctx) -> asio::awaitable<Outcome> { co_return h(ctx); });
}

}  // namespace

void add_modern_fixtures(server::BuiltinBackend& b) {
  add(b, "test_missing_capability", "Needs the client's sampling capability",
      [](RequestContext& ctx) -> Outcome {
        if (!ctx.client_capabilities().contains("sampling"))
          return protocol::missing_client_capability(json::object{{"sampling", json::object{}}});
        return text_result("Success");
      });

  add(b, "test_input_required_result_elicitation", "MRTR: asks the user's name by elicitation",
      [](RequestContext& ctx) -> Outcome {
        if (auto* a = answer(ctx, "user_name"))
          return text_result(fmt::format("Hello, {}!", elicited(*a, "name")));
        return input_required(
            json::object{{"user_name", elicit("What is your name?", "name", "string")}});
      });

  add(b, "test_input_required_result_sampling", "MRTR: asks the client's LLM a question",
      [](RequestContext& ctx) -> Outcome {
        if (auto* a = answer(ctx, "capital_question")) {
          std::string reply;
          if (auto* c = a->if_contains("content"); c && c->is_object())
            if (auto* t = c->get_object().if_contains("text"); t && t->is_string())
              reply = t->get_string();
          return text_result("LLM response: " + reply);
        }
        return input_required(
            json::object{{"capital_question", sample("What is the capital of France?", 100)}});
      });

  add(b, "test_input_required_result_list_roots", "MRTR: asks the client's roots",
      [](RequestContext& ctx) -> Outcome {
        if (auto* a = answer(ctx, "client_roots")) {
          std::size_t n = 0;
          if (auto* r = a->if_contains("roots"); r && r->is_array()) n = r->get_array().size();
          return text_result(fmt::format("Client has {} root(s)", n));
        }
        return input_required(json::object{{"client_roots", list_roots()}});
      });

  add(b, "test_input_required_result_request_state",
      "MRTR: returns InputRequiredResult with requestState", [](RequestContext& ctx) -> Outcome {
        if (state_field(ctx, "kind") == "confirm" && answer(ctx, "confirm"))
          return text_result("state-ok: requestState validated");
        return input_required(json::object{{"confirm", elicit("Please confirm", "ok", "boolean")}},
                              json::object{{"kind", "confirm"}});
      });

  add(b, "test_input_required_result_multiple_inputs",
      "MRTR: elicitation, sampling and roots in one round", [](RequestContext& ctx) -> Outcome {
        if (state_field(ctx, "kind") == "multi" && answer(ctx, "user_name") &&
            answer(ctx, "greeting") && answer(ctx, "client_roots"))
          return text_result(
              fmt::format("multi-ok: {}", elicited(*answer(ctx, "user_name"), "name")));
        return input_required(
            json::object{{"user_name", elicit("What is your name?", "name", "string")},
                         {"greeting", sample("Generate a greeting", 50)},
                         {"client_roots", list_roots()}},
            json::object{{"kind", "multi"}});
      });

  add(b, "test_input_required_result_multi_round", "MRTR: two rounds with evolving requestState",
      [](RequestContext& ctx) -> Outcome {
        const std::string round = state_field(ctx, "round");
        if (round == "2") {
          if (auto* a = answer(ctx, "step2"))
            return text_result(
                fmt::format("{} likes {}", state_field(ctx, "name"), elicited(*a, "color")));
          return input_required(
              json::object{
                  {"step2", elicit("Step 2: What is your favorite color?", "color", "string")}},
              ctx.request_state());
        }
        if (round == "1")
          if (auto* a = answer(ctx, "step1"))
            return input_required(
                json::object{
                    {"step2", elicit("Step 2: What is your favorite color?", "color", "string")}},
                json::object{{"round", "2"}, {"name", elicited(*a, "name")}});
        return input_required(
            json::object{{"step1", elicit("Step 1: What is your name?", "name", "string")}},
            json::object{{"round", "1"}});
      });

  add(b, "test_input_required_result_tampered_state",
      "MRTR: the engine refuses a requestState that was changed",
      [](RequestContext& ctx) -> Outcome {
        if (state_field(ctx, "kind") == "tamper-test" && answer(ctx, "confirm"))
          return text_result("state-ok: integrity verified");
        return input_required(json::object{{"confirm", elicit("Please confirm", "ok", "boolean")}},
                              json::object{{"kind", "tamper-test"}});
      });

  add(b, "test_input_required_result_capabilities", "MRTR: asks only for what the client declared",
      [](RequestContext& ctx) -> Outcome {
        const json::object& caps = ctx.client_capabilities();
        json::object requests;
        if (caps.contains("elicitation"))
          requests["elicit_input"] = elicit("Elicitation input", "value", "string");
        if (caps.contains("sampling")) requests["sample_input"] = sample("Sample request", 50);
        if (const json::object* r = ctx.input_responses(); r && !r->empty())
          return text_result(fmt::format("capabilities-ok: received {} answer(s)", r->size()));
        if (requests.empty()) return text_result("No supported capabilities declared");
        return input_required(std::move(requests), json::object{{"kind", "capabilities-test"}});
      });

  add(b, "test_streaming_elicitation", "Answers on its own stream, never with a client request",
      [](RequestContext& ctx) -> Outcome {
        ctx.progress(50, 100);
        return text_result("Streaming complete");
      });

  add(b, "test_logging_tool", "Logs only when the request asked for a log level",
      [](RequestContext& ctx) -> Outcome {
        ctx.log(server::LogLevel::kInfo, "testkit", "Diagnostic trace logging activated");
        return text_result("Logging evaluated");
      });

  server::BuiltinBackend* self = &b;  // lives as long as its tools
  add(b, "test_trigger_tool_change", "Announces a tool list change",
      [self](RequestContext&) -> Outcome {
        self->announce_list_changed(server::Kind::kTool);
        return text_result("Mutation triggered");
      });
  add(b, "test_trigger_prompt_change", "Announces a prompt list change",
      [self](RequestContext&) -> Outcome {
        self->announce_list_changed(server::Kind::kPrompt);
        return text_result("Mutation triggered");
      });
  add(b, "test_trigger_resource_update",
      "Announces that test://watched-resource changed (to its subscribers)",
      [self](RequestContext&) -> Outcome {
        self->resource_changed("test://watched-resource");
        return text_result("Update triggered");
      });

  b.add_context_prompt(
      json::object{{"name", "test_input_required_result_prompt"},
                   {"description", "MRTR: a prompt that asks for context first"}},
      [](const json::object&, RequestContext& ctx) -> Outcome {
        if (auto* a = answer(ctx, "user_context"))
          return json::object{
              {"messages",
               json::array{json::object{
                   {"role", "user"}, {"content", text("Context: " + elicited(*a, "context"))}}}}};
        return input_required(json::object{
            {"user_context", elicit("What context should the prompt use?", "context", "string")}});
      });
}

}  // namespace bastion::tools
