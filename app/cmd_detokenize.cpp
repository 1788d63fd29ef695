#include "app/commands.h"

namespace dschat {

int cmd_detokenize(const Args&) { return report_error("detokenize", "not implemented yet"); }

}  // namespace dschat
