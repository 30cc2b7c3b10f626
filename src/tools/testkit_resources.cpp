// The testkit's resources, resource template and prompts: the fixtures the
// conformance suite's resources-* and prompts-* scenarios read by name
// (static text and binary, a subscribable resource, a template with
// completion, prompts with arguments, an embedded resource and an image).
#include <fmt/format.h>

#include "tools/fixture_json.hpp"
#include "tools/testkit.hpp"

namespace bastion::tools {

namespace json = boost::json;
using fixture::str_arg;
using fixture::text;
using protocol::Outcome;

namespace {

json::object prompt_msg(json::object content) {
  return {{"role", "user"}, {"content", std::move(content)}};
}

}  // namespace

void add_resource_fixtures(server::BuiltinBackend& b) {
  b.set_subscribable(true);
  b.add_resource(
      json::object{{"uri", "test://static-text"},
                   {"name", "Static Text Resource"},
                   {"description", "A static text resource for testing"},
                   {"mimeType", "text/plain"}},
      [](std::string_view uri, const auto&) -> Outcome {
        return json::object{
            {"contents", json::array{json::object{
                             {"uri", uri},
                             {"mimeType", "text/plain"},
                             {"text", "This is the content of the static text resource."}}}}};
      });
  b.add_resource(
      json::object{{"uri", "test://static-binary"},
                   {"name", "Static Binary Resource"},
                   {"description", "A static binary resource (image) for testing"},
                   {"mimeType", "image/png"}},
      [](std::string_view uri, const auto&) -> Outcome {
        return json::object{
            {"contents", json::array{json::object{
                             {"uri", uri}, {"mimeType", "image/png"}, {"blob", kTestPngBase64}}}}};
      });
  b.add_resource(
      json::object{{"uri", "test://watched-resource"},
                   {"name", "Watched Resource"},
                   {"description", "A resource that can be subscribed to for updates"},
                   {"mimeType", "text/plain"}},
      [](std::string_view uri, const auto&) -> Outcome {
        return json::object{
            {"contents",
             json::array{json::object{
                 {"uri", uri}, {"mimeType", "text/plain"}, {"text", "Watched resource content"}}}}};
      });
  b.add_template(
      json::object{{"uriTemplate", "test://template/{id}/data"},
                   {"name", "Template Resource"},
                   {"description", "A resource template with parameter substitution"},
                   {"mimeType", "application/json"}},
      [](std::string_view uri, const std::map<std::string, std::string>& vars) -> Outcome {
        const std::string& id = vars.at("id");
        json::object data{{"id", id}, {"templateTest", true}, {"data", "Data for ID: " + id}};
        return json::object{
            {"contents", json::array{json::object{{"uri", uri},
                                                  {"mimeType", "application/json"},
                                                  {"text", json::serialize(data)}}}}};
      },
      [](std::string_view arg, std::string_view value) {
        std::vector<std::string> out;
        if (arg != "id") return out;
        for (const char* c : {"1", "2", "3", "123", "456"})
          if (std::string_view(c).starts_with(value)) out.emplace_back(c);
        return out;
      });
}

void add_prompt_fixtures(server::BuiltinBackend& b) {
  b.add_prompt(
      json::object{{"name", "test_simple_prompt"},
                   {"description", "A simple prompt without arguments"}},
      [](const json::object&) -> Outcome {
        return json::object{
            {"messages", json::array{prompt_msg(text("This is a simple prompt for testing."))}}};
      });
  b.add_prompt(
      json::object{{"name", "test_prompt_with_arguments"},
                   {"description", "A prompt with required arguments"},
                   {"arguments", json::array{json::object{{"name", "arg1"},
                                                          {"description", "First test argument"},
                                                          {"required", true}},
                                             json::object{{"name", "arg2"},
                                                          {"description", "Second test argument"},
                                                          {"required", true}}}}},
      [](const json::object& args) -> Outcome {
        return json::object{{"messages", json::array{prompt_msg(text(fmt::format(
                                             "Prompt with arguments: arg1='{}', arg2='{}'",
                                             str_arg(args, "arg1"), str_arg(args, "arg2"))))}}};
      },
      [](std::string_view arg, std::string_view value) {
        std::vector<std::string> out;
        std::vector<const char*> pool;
        if (arg == "arg1") pool = {"paris", "park", "party"};
        if (arg == "arg2") pool = {"red", "green", "blue"};
        for (const char* c : pool)
          if (std::string_view(c).starts_with(value)) out.emplace_back(c);
        return out;
      });
  b.add_prompt(
      json::object{
          {"name", "test_prompt_with_embedded_resource"},
          {"description", "A prompt that includes an embedded resource"},
          {"arguments", json::array{json::object{{"name", "resourceUri"},
                                                 {"description", "URI of the resource to embed"},
                                                 {"required", true}}}}},
      [](const json::object& args) -> Outcome {
        json::object res{{"uri", str_arg(args, "resourceUri")},
                         {"mimeType", "text/plain"},
                         {"text", "Embedded resource content for testing."}};
        return json::object{
            {"messages",
             json::array{
                 prompt_msg(json::object{{"type", "resource"}, {"resource", std::move(res)}}),
                 prompt_msg(text("Please process the embedded resource above."))}}};
      });
  b.add_prompt(
      json::object{{"name", "test_prompt_with_image"},
                   {"description", "A prompt that includes image content"}},
      [](const json::object&) -> Outcome {
        return json::object{
            {"messages", json::array{prompt_msg(json::object{{"type", "image"},
                                                             {"data", kTestPngBase64},
                                                             {"mimeType", "image/png"}}),
                                     prompt_msg(text("Please analyze the image above."))}}};
      });
}

}  // namespace bastion::tools
