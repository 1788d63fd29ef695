#include "app/commands.h"

namespace dschat {

int cmd_tokenize(const Args&) { return report_error("tokenize", "not implemented yet"); }

}  // namespace dschat
