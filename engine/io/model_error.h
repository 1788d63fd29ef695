// The errors of loading a model: what every layer that reads model files throws.
#pragma once

#include <stdexcept>

namespace dschat {

// Anything wrong with a model directory or file. The message names the file, and the tensor
// or config key, and says what is wrong.
struct ModelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Thrown by Model::load when the progress callback asked to stop.
struct LoadCancelled : std::runtime_error {
  LoadCancelled() : std::runtime_error("loading cancelled") {}
};

}  // namespace dschat
