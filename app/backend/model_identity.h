// What a model is called on screen (status line, transcript labels, saved conversations) and the
// one line a user should read about it before chatting (docs/chat.md "Which model is this").
#pragma once

#include <filesystem>
#include <string>

namespace dschat {

struct ModelIdentity {
  std::string display_name;  // never "" nor "." : at worst the resolved directory or file name
  std::string notice;        // "" = nothing to say (only a dschat.json says something)
};

// The display name of the model at `path` (the --model argument as given; a relative path such as
// "." is resolved against the working directory first), in this order:
//   a directory's dschat.json "name" (the bundled model's: assets/model/dschat.json);
//   the name the file carries, `embedded_name` (GGUF general.name), when not empty;
//   config.json "_name_or_path" (as transformers saves it), its last path component;
//   the directory name, or the file name without its extension.
// dschat.json "notice" becomes `notice`. Control characters are dropped and the name is cut to 64
// bytes (at a character boundary): a hostile file cannot put escapes on the terminal.
// Throws ModelError for a dschat.json that is not a JSON object of strings.
ModelIdentity model_identity(const std::filesystem::path& path, const std::string& embedded_name = "");

}  // namespace dschat
